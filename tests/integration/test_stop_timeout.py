"""`stop`/`restart` without `-t` wait the container's own stop timeout, however long, without the client
read timeout calling the engine unreachable (the real engine; the port built with a 1 s client timeout so
that a stop timeout longer than "client timeout + the SDK's 10 s" stays short).

The container traps SIGTERM and takes GRACE seconds to shut down cleanly, printing "graceful" on its way
out; its ``--stop-timeout`` is longer than that. Killed early (the SDK's 10 s default), it never prints.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import docker
import pytest

from dockbolt.core.args import StopArgs
from dockbolt.core.contract import JobRequest, new_job_id
from workers.docker_engine import connect
from workers.docker_port import DockerPort
from workers.handlers import HANDLERS
from workers.handlers.base import HandlerContext

CLIENT_TIMEOUT = 1
GRACE = CLIENT_TIMEOUT + 10 + 1  # past the read timeout docker-py gives a stop without `t`
STOP_TIMEOUT = GRACE + 3
SCRIPT = f"trap 'sleep {GRACE}; echo graceful; exit 0' TERM; echo up; while true; do sleep 1000 & wait; done"


@pytest.fixture
def slow_port(docker_host: str, docker_cleanup: None) -> Iterator[DockerPort]:
    port = connect(docker_host, timeout=CLIENT_TIMEOUT)
    yield port
    port.close()


def _slow_stopper(
    client: docker.DockerClient, image: str, labels: dict[str, str], stop_timeout: int = STOP_TIMEOUT
) -> str:
    """A running container made like `docker run --stop-timeout STOP_TIMEOUT` (the SDK's run() has no
    such option), whose SIGTERM trap is set."""
    cid = str(client.api.create_container(image, ["sh", "-c", SCRIPT], labels=labels,
                                          stop_timeout=stop_timeout)["Id"])
    client.api.start(cid)
    assert client.api.inspect_container(cid)["Config"]["StopTimeout"] == stop_timeout
    for _ in range(600):  # the trap is set once "up" is printed
        if b"up" in client.api.logs(cid):
            break
        time.sleep(0.05)
    return cid


def _ctx(port: DockerPort, verb: str) -> HandlerContext:
    job = JobRequest(job_id=new_job_id(), verb=verb, args={}, user_id="U1", channel_id="C1",
                     command_text=verb)
    return HandlerContext(job=job, docker=port, progress=lambda _: None)


def test_stop_without_t_waits_the_containers_own_stop_timeout(
    slow_port: DockerPort, docker_client: docker.DockerClient, test_image: str, run_labels: dict[str, str]
) -> None:
    cid = _slow_stopper(docker_client, test_image, run_labels)
    reply = HANDLERS["stop"].run(_ctx(slow_port, "stop"), StopArgs(names=(cid[:12],)))
    assert reply.ok, reply.text
    c = docker_client.containers.get(cid)
    assert c.status == "exited"
    assert c.attrs["State"]["ExitCode"] == 0  # it shut down by itself, not killed
    assert b"graceful" in c.logs()


def test_restart_without_t_waits_the_containers_own_stop_timeout(
    slow_port: DockerPort, docker_client: docker.DockerClient, test_image: str, run_labels: dict[str, str]
) -> None:
    cid = _slow_stopper(docker_client, test_image, run_labels)
    reply = HANDLERS["restart"].run(_ctx(slow_port, "restart"), StopArgs(names=(cid[:12],)))
    assert reply.ok, reply.text
    c = docker_client.containers.get(cid)
    assert c.attrs["State"]["Running"]
    assert b"graceful" in c.logs()  # the first run finished its shutdown before the restart


def test_an_explicit_t_still_wins(
    slow_port: DockerPort, docker_client: docker.DockerClient, test_image: str, run_labels: dict[str, str]
) -> None:
    cid = _slow_stopper(docker_client, test_image, run_labels)
    slow_port.stop(cid, timeout=0)
    c = docker_client.containers.get(cid)
    assert c.attrs["State"]["ExitCode"] == 137  # killed at once, as `-t 0` asks
    assert b"graceful" not in c.logs()


def test_a_container_that_may_take_forever_is_waited_for(
    slow_port: DockerPort, docker_client: docker.DockerClient, test_image: str, run_labels: dict[str, str]
) -> None:
    """`--stop-timeout -1`: the engine waits as long as the container takes; so does the port (the SDK
    would read with its client timeout minus one second, here 0 s)."""
    cid = _slow_stopper(docker_client, test_image, run_labels, stop_timeout=-1)
    reply = HANDLERS["stop"].run(_ctx(slow_port, "stop"), StopArgs(names=(cid[:12],)))
    assert reply.ok, reply.text
    c = docker_client.containers.get(cid)
    assert c.attrs["State"]["ExitCode"] == 0 and b"graceful" in c.logs()
