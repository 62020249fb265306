"""The DockerPort contract, against the real engine: what ``DockerEngine`` asks of Docker and what it gets.

Handler tests (tests/unit/test_handlers.py) only see canned answers; every claim about what the engine
does — states, filters, tails, ids, its error wording — is checked here, on a real engine.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import docker
import pytest

from dockbolt.core.args import MountSpec, PortSpec, RestartSpec, RunArgs, VolumeSpec
from dockbolt.core.errors import DockerError, DockerUnavailable, TargetNotFound
from tests.integration.conftest import TEST_IMAGE
from workers.docker_engine import DockerEngine, connect
from workers.docker_port import DockerPort
from workers.formatting import inspect_json, stats_row

pytestmark = pytest.mark.integration

# Exits at once on SIGTERM (a bare `sleep` as PID 1 ignores it, so every stop would wait 10 s).
LONG_RUNNING = ("sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait")
MiB = 1024 * 1024


@dataclass
class Harness:
    """The port under test, this run's labels and network, and an SDK client independent of the port."""

    port: DockerPort
    run_id: str
    labels: dict[str, str]
    network: str
    client: docker.DockerClient

    def name(self, what: str) -> str:
        """A container name unique to this test run."""
        return f"dh-{self.run_id}-{what}"

    def run(self, what: str, command: tuple[str, ...] = LONG_RUNNING, **spec: Any) -> str:
        """Run a labelled container named after ``what``; returns its name."""
        name = self.name(what)
        self.port.run(RunArgs(image=TEST_IMAGE, command=command, name=name, **spec), self.labels)
        return name

    def run_with_output(self, what: str, lines: list[str]) -> str:
        """A running container whose log holds ``lines`` (stdout and stderr alternating)."""
        script = "".join(f"echo {line}{' >&2' if i % 2 else ''}; " for i, line in enumerate(lines))
        name = self.run(what, ("sh", "-c", f"{script}trap 'exit 0' TERM; sleep 300 & wait"))
        deadline = time.monotonic() + 30  # a wait for the engine to flush, not a timing assertion
        while (
            self.port.logs(name, max_bytes=1 << 20).count(b"\n") < len(lines) and time.monotonic() < deadline
        ):
            time.sleep(0.05)
        return name


@pytest.fixture
def harness(
    engine: DockerPort,
    docker_client: docker.DockerClient,
    test_image: str,
    run_labels: dict[str, str],
    test_run_id: str,
) -> Harness:
    """The real engine's port, with this run's network (labelled, so that teardown removes it)."""
    network = f"dh-{test_run_id}-net"
    if not docker_client.networks.list(names=[network]):
        docker_client.networks.create(network, labels=run_labels)
    return Harness(engine, test_run_id, run_labels, network, docker_client)


def test_ping(harness: Harness) -> None:
    harness.port.ping()


def test_run_then_list(harness: Harness) -> None:
    name = harness.run("web", labels={"team": "a"}, ports=(PortSpec("80", "", "127.0.0.1"),))
    [row] = harness.port.list_containers(filters={"name": [f"^/{name}$"]})
    assert row.name == name and row.image == TEST_IMAGE and row.state == "running"
    assert row.status.startswith("Up ")
    assert (
        row.labels["team"] == "a" and row.labels["dockbolt.test-run"] == harness.labels["dockbolt.test-run"]
    )
    assert row.command == "sh -c 'trap 'exit 0' TERM; sleep 300 & wait'"  # the engine's (odd) quoting
    [port] = row.ports
    assert (port.private_port, port.type, port.ip) == (80, "tcp", "127.0.0.1") and port.public_port > 0


def test_run_applies_every_option(harness: Harness) -> None:
    spec: dict[str, Any] = {
        "ports": (PortSpec("80", "", "", "tcp"), PortSpec("81", "", "127.0.0.1", "udp")),
        "env": ("K=V", "EMPTY="),
        "labels": {"team": "a"},
        "volumes": (VolumeSpec(f"dh-{harness.run_id}-vol", "/data", read_only=True),),
        "network": harness.network,
        "restart": RestartSpec("on-failure", 3),
        "memory": 64 * MiB,
        "nano_cpus": 500_000_000,
        "user": "1000:1000",
        "workdir": "/tmp",
    }
    # Created up front so that it carries the run label and gets removed.
    harness.client.volumes.create(f"dh-{harness.run_id}-vol", labels=harness.labels)
    info = harness.port.inspect(harness.run("full", **spec))
    host, config = info["HostConfig"], info["Config"]
    assert host["Memory"] == 64 * MiB and host["NanoCpus"] == 500_000_000
    assert host["PortBindings"] == {
        "80/tcp": [{"HostIp": "", "HostPort": ""}],
        "81/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
    }
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert host["Binds"] == [f"dh-{harness.run_id}-vol:/data:ro"]
    assert host["NetworkMode"] == harness.network
    assert config["Env"][:2] == ["K=V", "EMPTY="]
    assert config["Labels"] == {"team": "a", **harness.labels}
    assert (config["User"], config["WorkingDir"]) == ("1000:1000", "/tmp")
    assert config["Cmd"] == list(LONG_RUNNING)
    assert config["ExposedPorts"] == {"80/tcp": {}, "81/udp": {}}


def test_run_applies_the_guardrail_options(harness: Harness, tmp_path: Any) -> None:
    volume = f"dh-{harness.run_id}-gvol"
    harness.client.volumes.create(volume, labels=harness.labels)
    (tmp_path / "hello").write_text("from the host\n")
    spec: dict[str, Any] = {
        "cap_add": ("CAP_NET_ADMIN",),
        "cap_drop": ("CAP_CHOWN",),
        "devices": ("/dev/zero:/dev/z:r",),
        "pid_mode": "host",
        "ipc_mode": "shareable",
        "userns_mode": "host",
        "security_opt": ("no-new-privileges:true",),
        "pids_limit": 64,
        "read_only": True,
        "mounts": (
            MountSpec("bind", "/host", str(tmp_path), read_only=True),
            MountSpec("volume", "/v", volume),
            MountSpec("tmpfs", "/scratch"),
        ),
    }
    name = harness.run("guard", **spec)
    host = harness.port.inspect(name)["HostConfig"]
    assert (host["CapAdd"], host["CapDrop"]) == (["CAP_NET_ADMIN"], ["CAP_CHOWN"])
    assert host["Devices"] == [
        {"PathOnHost": "/dev/zero", "PathInContainer": "/dev/z", "CgroupPermissions": "r"}
    ]
    assert (host["PidMode"], host["IpcMode"], host["UsernsMode"]) == ("host", "shareable", "host")
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert (host["PidsLimit"], host["ReadonlyRootfs"], host["Privileged"]) == (64, True, False)
    assert host["Mounts"] == [
        {"Type": "bind", "Source": str(tmp_path), "Target": "/host", "ReadOnly": True},
        {"Type": "volume", "Source": volume, "Target": "/v"},
        {"Type": "tmpfs", "Target": "/scratch"},
    ]
    # What the container sees: the bind mount's file, a read-only root, its pids limit.
    script = (
        "cat /host/hello; touch /oops 2>/dev/null || echo read-only; "
        "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max"  # cgroup v1 or v2
    )
    check = harness.client.containers.get(name).exec_run(["sh", "-c", script])
    assert check.output.decode().split("\n")[:3] == ["from the host", "read-only", "64"]


def test_run_privileged_reaches_the_engine(harness: Harness) -> None:
    try:
        name = harness.run("priv", privileged=True)
    except DockerError as exc:
        # A dockerd that itself runs in a container (this machine, CI) lacks the capabilities to start one:
        # the request reached it as privileged (an unprivileged container starts fine here: the other
        # tests), the engine's own words come back, and the never-started container is removed.
        assert "operation not permitted" in str(exc) or "caps" in str(exc), exc
        assert harness.port.list_containers(show_all=True, filters={"name": [harness.name("priv")]}) == []
        return
    assert harness.port.inspect(name)["HostConfig"]["Privileged"] is True


def test_run_refuses_unresolved_secrets(harness: Harness) -> None:
    # The handler resolves bare `-e NAME` first; the port never sends a bare name (docker would copy ours).
    with pytest.raises(ValueError, match="secret_env"):
        harness.run("secret", secret_env=("TOKEN",))
    assert harness.port.list_containers(show_all=True, filters={"name": [harness.name("secret")]}) == []


def test_run_defaults_restart_policy_like_the_cli(harness: Harness) -> None:
    host = harness.port.inspect(harness.run("plain"))["HostConfig"]
    assert host["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    assert host["NetworkMode"] == "default"
    assert (host["Memory"], host["NanoCpus"]) == (0, 0)
    assert (host["Privileged"], host["ReadonlyRootfs"]) == (False, False)
    assert (host["CapAdd"], host["SecurityOpt"]) == (None, None) and host["PidsLimit"] in (None, 0)
    assert not host.get("Mounts")


def test_run_missing_image(harness: Harness) -> None:
    with pytest.raises(DockerError, match=r"^No such image: dockbolt-test/nope:latest$"):
        harness.port.run(RunArgs(image="dockbolt-test/nope", command=("true",)), harness.labels)


def test_run_name_conflict(harness: Harness) -> None:
    name = harness.run("dup")
    cid = harness.port.inspect(name)["Id"]
    with pytest.raises(DockerError) as err:
        harness.run("dup")
    assert str(err.value) == (
        f'Conflict. The container name "/{name}" is already in use by container "{cid}". '
        "You have to remove (or rename) that container to be able to reuse that name."
    )


def test_run_invalid_name(harness: Harness) -> None:
    with pytest.raises(DockerError) as err:
        harness.port.run(RunArgs(image=TEST_IMAGE, command=("true",), name="bad name!"), harness.labels)
    assert str(err.value) == "Invalid container name (bad name!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"


def test_run_unknown_network_leaves_nothing_behind(harness: Harness) -> None:
    with pytest.raises(DockerError, match=r"^network dh-no-such-net not found$"):
        harness.run("nonet", network="dh-no-such-net")
    assert harness.port.list_containers(show_all=True, filters={"name": [harness.name("nonet")]}) == []


@pytest.mark.parametrize("verb", ["stop", "start", "restart", "remove", "logs", "stats"])
def test_missing_container(harness: Harness, verb: str) -> None:
    calls = {
        "stop": lambda n: harness.port.stop(n, timeout=1),
        "start": harness.port.start,
        "restart": lambda n: harness.port.restart(n, timeout=1),
        "remove": lambda n: harness.port.remove(n, force=True),
        "logs": lambda n: harness.port.logs(n, max_bytes=100),
        "stats": harness.port.stats,
    }
    with pytest.raises(TargetNotFound) as err:
        calls[verb]("dh-ghost")
    assert str(err.value) == "No such container: dh-ghost"


def test_lifecycle(harness: Harness) -> None:
    name = harness.run("life")
    only = {"name": [f"^/{name}$"]}
    harness.port.stop(name, timeout=5)
    harness.port.stop(name, timeout=5)  # stopping a stopped container is not an error
    [row] = harness.port.list_containers(show_all=True, filters=only)
    assert row.state == "exited" and row.status.startswith("Exited (")
    assert harness.port.list_containers(filters=only) == []
    harness.port.start(name)
    harness.port.start(name)  # nor is starting a running one
    assert harness.port.list_containers(filters=only)[0].state == "running"
    harness.port.restart(name, timeout=5)
    assert harness.port.list_containers(filters=only)[0].state == "running"
    harness.port.remove(name, force=True)
    assert harness.port.list_containers(show_all=True, filters=only) == []


def test_remove_running_needs_force(harness: Harness) -> None:
    name = harness.run("busy")
    cid = harness.port.inspect(name)["Id"]
    with pytest.raises(DockerError) as err:
        harness.port.remove(name)
    assert str(err.value) == (
        f"You cannot remove a running container {cid}. "
        "Stop the container before attempting removal or force remove"
    )
    assert harness.port.inspect(name)["State"]["Running"] is True  # refused, and left running


def test_inspect_by_id_prefix_image_and_missing(harness: Harness) -> None:
    name = harness.run("insp", env=("SECRET=x",))
    info = harness.port.inspect(name)
    assert info["Name"] == f"/{name}" and info["State"]["Running"] is True
    shown = inspect_json(info)  # what `inspect` posts: the engine's document, environment values masked
    assert "SECRET=***" in shown and "SECRET=x" not in shown
    assert harness.port.inspect(info["Id"][:12])["Id"] == info["Id"]
    assert TEST_IMAGE in harness.port.inspect(TEST_IMAGE)["RepoTags"]
    with pytest.raises(TargetNotFound, match=r"^No such object: dh-ghost$"):
        harness.port.inspect("dh-ghost")


def test_list_filters(harness: Harness) -> None:
    web = harness.run("fweb", labels={"tier": "front"})
    db = harness.run("fdb", labels={"tier": "back"})
    harness.port.stop(db, timeout=5)
    mine = f"dockbolt.test-run={harness.labels['dockbolt.test-run']}"

    def names(show_all: bool = True, **filters: list[str]) -> set[str]:
        rows = harness.port.list_containers(show_all=show_all, filters={"label": [mine], **filters})
        return {r.name for r in rows}

    assert names() == {web, db}
    assert names(show_all=False) == {web}
    assert names(label=[mine, "tier=back"]) == {db}
    assert names(label=[mine, "tier"]) == {web, db}
    assert names(name=["fweb$"]) == {web}
    assert names(status=["exited"]) == {db}
    assert names(status=["exited", "running"]) == {web, db}
    with pytest.raises(DockerError, match=r"^Invalid filter 'bogus'$"):
        harness.port.list_containers(filters={"bogus": ["x"]})
    with pytest.raises(DockerError, match=r"^Invalid filter 'status=bogus'$"):
        harness.port.list_containers(filters={"status": ["bogus"]})


def test_list_images(harness: Harness) -> None:
    [image] = [i for i in harness.port.list_images() if TEST_IMAGE in i.repo_tags]
    assert image.id.startswith("sha256:") and image.size > 0 and image.created > 0


def test_logs(harness: Harness) -> None:
    name = harness.run_with_output("logs", ["one", "two", "three", "four"])
    port = harness.port
    assert sorted(port.logs(name, max_bytes=1000).splitlines()) == [b"four", b"one", b"three", b"two"]
    assert port.logs(name, tail=1, max_bytes=1000) in (b"three\n", b"four\n")  # stdout/stderr race
    assert port.logs(name, tail=0, max_bytes=1000) == b""
    newest = port.logs(name, max_bytes=5)
    assert len(newest) == 5 and port.logs(name, max_bytes=1000).endswith(newest)
    stamped = port.logs(name, timestamps=True, max_bytes=1000).decode().splitlines()
    assert len(stamped) == 4
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z \w+$", line) for line in stamped)
    assert port.logs(name, since_unix=int(time.time()) + 3600, max_bytes=1000) == b""
    assert len(port.logs(name, since_unix=int(time.time()) - 3600, max_bytes=1000).splitlines()) == 4


def test_stats(harness: Harness) -> None:
    name = harness.run("stats", memory=64 * MiB)
    sample = harness.port.stats(name)
    assert sample["name"] == f"/{name}" and sample["id"] == harness.port.inspect(name)["Id"]
    assert {"cpu_stats", "precpu_stats", "memory_stats", "pids_stats"} <= set(sample)
    row = stats_row(sample)
    assert row.mem_usage.endswith(" / 64MiB") and int(row.pids) >= 1
    harness.port.stop(name, timeout=5)
    stopped = stats_row(harness.port.stats(name))
    assert (stopped.mem_usage, stopped.pids, stopped.cpu) == ("0B / 0B", "0", "0.00%")


def test_unreachable_engine(tmp_path: Any) -> None:
    with pytest.raises(DockerUnavailable) as err:
        connect(f"unix://{tmp_path}/no-such.sock")
    message = str(err.value)
    assert "\n" not in message and f"{tmp_path}/no-such.sock" in message
    assert message.endswith("No such file or directory")


def _closed_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Every port method, called about a container that does not matter: the engine is gone.
EVERY_CALL: dict[str, Callable[[DockerPort], object]] = {
    "ping": lambda port: port.ping(),
    "list_containers": lambda port: port.list_containers(),
    "list_images": lambda port: port.list_images(),
    "inspect": lambda port: port.inspect("web"),
    "run": lambda port: port.run(RunArgs(image=TEST_IMAGE, command=("true",)), {}),
    "stop": lambda port: port.stop("web"),
    "start": lambda port: port.start("web"),
    "restart": lambda port: port.restart("web"),
    "remove": lambda port: port.remove("web"),
    "logs": lambda port: port.logs("web", max_bytes=100),
    "stats": lambda port: port.stats("web"),
}


@pytest.mark.parametrize("method", EVERY_CALL)
def test_an_engine_gone_after_connect_is_unavailable_not_a_docker_error(method: str) -> None:
    # A fixed API version skips the handshake, so this port stands for an engine that went away mid-job:
    # handlers let DockerUnavailable through to the runner instead of reporting it per container.
    host = f"tcp://127.0.0.1:{_closed_tcp_port()}"
    port = DockerEngine(docker.DockerClient(base_url=host, version="1.41", timeout=5), host)
    try:
        with pytest.raises(DockerUnavailable) as err:
            EVERY_CALL[method](port)
    finally:
        port.close()
    assert str(err.value) == f"Cannot reach the Docker engine at {host}: Connection refused"
