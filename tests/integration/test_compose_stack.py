"""The packaged stack: the image from deploy/build-image.sh, run by deploy/compose.yaml with docker-compose.

Builds the image (once per session) the way `make image` does, writes a compose env file with random
secrets and a free loopback port for the bot, starts Redis, the bot, a worker and the watcher under a
temporary project name, waits until compose reports every container healthy, then talks to the bot as
Slack does (a signed slash command to its published port, the repo's signing client) — `whoami` answered
by the bot; `ps` queued, run by the worker container through the host's Docker socket, and reported on its
card; `stop` of the stack's own Redis refused because of its `dockbolt.protected=true` label — and takes the
stack down with its volumes.

Slack is the repo's Web API stand-in, on the host: containers reach it through a small TCP relay on the
Docker bridge's gateway address (what ``host-gateway`` resolves to; the stand-in itself listens on
127.0.0.1 only), named host.docker.internal by a compose override file written by the test — which also
shortens the health checks' interval so the wait is short. Nothing else differs from deploy/compose.yaml.

Needs docker, docker-compose, and python:3.11-slim or debootstrap (for the local base); without them it
skips locally and fails under CI. What it leaves: the dockbolt image, the cached local base image and, where
redis:7 cannot be pulled, local/redis:bookworm.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import docker.models.containers
import pytest

from dockbolt.console.slack_standin import Message, SlackStandIn
from dockbolt.console.slash_client import SlashClient, SlashResponse
from tests.conftest import unavailable

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
IMAGE = "dockbolt:latest"
LOCAL_BASE = "local/debian-python:bookworm"
LOCAL_REDIS = "local/redis:bookworm"
SOCKET = Path("/var/run/docker.sock")
TOKEN = "xoxb-compose-stack-test"
USER = "UCOMPOSEOPS"
CHANNEL = "CCOMPOSE"
SERVICES = ("redis", "bot", "worker", "watch")
HEALTH_WAIT = 240.0  # a give-up deadline for a hung stack, not a measure
JOB_WAIT = 90.0

CONFIG = f"""
[slack]
command = "/docker"
notify_channel = "CNOTIFY"

[rbac]
default_role = ""

# The stack's containers are not managed by dockbolt: acting on them needs `unmanaged`.
[rbac.roles.stackops]
inherits = ["operator"]
grants = ["unmanaged"]

[[rbac.bindings]]
role = "stackops"
users = ["{USER}"]

[policy]
read_unmanaged = true
"""


# -- the image ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def stack_images(docker_client: docker.DockerClient) -> tuple[str, str]:
    """(dockbolt image, Redis image), built by deploy/build-image.sh --redis once per session."""
    for tool in ("docker", "docker-compose"):
        if shutil.which(tool) is None:
            unavailable(f"no {tool} on PATH (apt-get install docker.io docker-compose)")
    if not _has_image(docker_client, "python:3.11-slim") and not _has_image(docker_client, LOCAL_BASE) \
            and shutil.which("debootstrap") is None:
        unavailable(f"neither python:3.11-slim nor {LOCAL_BASE} is here and there is no debootstrap to make "
                    "the local base (apt-get install debootstrap)")
    proc = subprocess.run([str(DEPLOY / "build-image.sh"), "--redis"], capture_output=True, text=True,
                          env={**os.environ, "IMAGE": IMAGE}, timeout=1800, check=False)
    assert proc.returncode == 0, f"build-image.sh failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    redis_image = "redis:7" if _has_image(docker_client, "redis:7") else LOCAL_REDIS
    assert _has_image(docker_client, IMAGE) and _has_image(docker_client, redis_image), proc.stderr[-2000:]
    return IMAGE, redis_image


def _has_image(client: docker.DockerClient, name: str) -> bool:
    try:
        client.images.get(name)
    except docker.errors.ImageNotFound:
        return False
    return True


# -- Slack on the host, reachable from the containers ------------------------------------------------------
class Relay:
    """Forwards TCP connections accepted on ``host``:(free port) to 127.0.0.1:``target``."""

    def __init__(self, host: str, target: int) -> None:
        self.target = target
        self.server = socket.create_server((host, 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.open: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, name="compose-test-relay", daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=30)
            except OSError:
                conn.close()
                continue
            for s in (conn, upstream):
                s.settimeout(None)
            with self.lock:
                self.open += [conn, upstream]
            for src, dst in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.server.close()
        with self.lock:
            for s in self.open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


def bridge_gateway(client: docker.DockerClient) -> str:
    """The default bridge's gateway address: what ``host-gateway`` stands for in a container."""
    config = client.networks.get("bridge").attrs["IPAM"]["Config"]
    gateway = next((c.get("Gateway") for c in config if c.get("Gateway")), None)
    assert gateway, f"the default bridge has no gateway: {config}"
    return str(gateway)


# -- the stack ---------------------------------------------------------------------------------------------
@dataclass
class Stack:
    project: str
    compose: list[str]
    standin: SlackStandIn
    slash: SlashClient
    api_origin: str  # the stand-in as the containers reach it
    client: docker.DockerClient

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*self.compose, *args], capture_output=True, text=True, timeout=600,
                              check=False)
        if check:
            assert proc.returncode == 0, f"{' '.join(args)}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def container(self, service: str) -> docker.models.containers.Container:
        ids = self.run("ps", "-q", service).stdout.split()
        assert len(ids) == 1, f"{service}: {ids}"
        return self.client.containers.get(ids[0])

    def logs(self) -> str:
        return self.run("logs", "--no-color", "--tail", "40", check=False).stdout

    def send(self, text: str) -> SlashResponse:
        # A response_url on the stand-in as the containers reach it (the worker accepts only Slack's host
        # or SLACK_API_URL's).
        url = self.standin.new_response_url().replace(self.standin.base_url.removesuffix("/api/"),
                                                       self.api_origin)
        return self.slash.send(text, user_id=USER, channel_id=CHANNEL, response_url=url)

    def job(self, text: str) -> str:
        """Send a command that is accepted; its job id. The ack is quiet: the new card names the job."""
        before = {m.job_id for m in self.standin.messages(CHANNEL) if m.job_id}
        resp = self.send(text)
        assert resp.status == 200 and not resp.body.strip(), resp.body
        card = self.standin.wait_for(lambda: next((m for m in self.standin.messages(CHANNEL)
                                                   if m.job_id and m.job_id not in before), None),
                                     timeout=JOB_WAIT)
        assert card.job_id is not None
        return card.job_id

    def finished(self, job_id: str) -> tuple[Message, str]:
        def done() -> Message | None:
            card = self.standin.find_card(job_id)
            final = card is not None and card.status in ("done", "failed", "timed_out", "lost")
            return card if final else None

        try:
            card = self.standin.wait_for(done, timeout=JOB_WAIT)
        except TimeoutError as exc:
            raise AssertionError(f"job {job_id} did not finish: {exc}\n{self.logs()}") from exc
        return card, "\n".join(m.text for m in self.standin.thread(CHANNEL, card.ts))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def stack(stack_images: tuple[str, str], docker_client: docker.DockerClient,
          tmp_path: Path) -> Iterator[Stack]:
    image, redis_image = stack_images
    project = f"dbcompose{secrets.token_hex(4)}"
    standin = SlackStandIn(token=TOKEN).start()
    relay = Relay(bridge_gateway(docker_client), standin.port)
    api_origin = f"http://host.docker.internal:{relay.port}"
    signing_secret = secrets.token_hex(32)
    port = free_port()
    (tmp_path / "dockbolt.toml").write_text(CONFIG)
    env = {
        "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": signing_secret, "SLACK_APP_TOKEN": "",
        "SLACK_API_URL": f"{api_origin}/api/", "DOCKBOLT_JOB_SECRET": secrets.token_hex(32),
        "REDIS_PASSWORD": secrets.token_hex(32), "DOCKER_GID": str(SOCKET.stat().st_gid),
        "DOCKBOLT_IMAGE": image, "DOCKBOLT_REDIS_IMAGE": redis_image,
        "DOCKBOLT_CONFIG_FILE": str(tmp_path / "dockbolt.toml"), "DOCKBOLT_BIND": "127.0.0.1",
        "DOCKBOLT_PORT": str(port),
    }
    env_file = tmp_path / "stack.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    # The only differences from deploy/compose.yaml: Slack's address, and health checks every 2 s.
    services: dict[str, dict[str, object]] = {s: {"healthcheck": {"interval": "2s"}} for s in SERVICES}
    for s in ("bot", "worker", "watch"):
        services[s]["extra_hosts"] = ["host.docker.internal:host-gateway"]
    (tmp_path / "override.yaml").write_text(json.dumps({"services": services}))  # JSON is YAML
    compose = ["docker-compose", "--project-name", project, "--env-file", str(env_file),
               "--file", str(DEPLOY / "compose.yaml"), "--file", str(tmp_path / "override.yaml")]
    slash = SlashClient(f"http://127.0.0.1:{port}/slack/events", signing_secret)
    st = Stack(project, compose, standin, slash, api_origin, docker_client)
    try:
        st.run("up", "-d")
        yield st
    finally:
        down = st.run("down", "--volumes", "--remove-orphans", "--timeout", "20", check=False)
        relay.close()
        standin.stop()
        selector = {"label": f"com.docker.compose.project={project}"}
        left = ([c.name for c in docker_client.containers.list(all=True, filters=selector)]
                + [n.name for n in docker_client.networks.list(filters=selector)]
                + [v.name for v in docker_client.volumes.list(filters=selector)])
        for c in docker_client.containers.list(all=True, filters=selector):
            c.remove(force=True, v=True)
        for n in docker_client.networks.list(filters=selector):
            n.remove()
        for v in docker_client.volumes.list(filters=selector):
            v.remove(force=True)
        assert down.returncode == 0 and not left, f"down left {left}: {down.stderr}"


def wait_healthy(st: Stack) -> dict[str, docker.models.containers.Container]:
    """Every service's container, once Docker says each is healthy (fails on one that stopped)."""
    deadline = time.monotonic() + HEALTH_WAIT
    containers = {s: st.container(s) for s in SERVICES}
    while True:
        for c in containers.values():
            c.reload()
        states = {s: c.attrs["State"] for s, c in containers.items()}
        stopped = [s for s, state in states.items() if not state["Running"]]
        assert not stopped, f"{stopped} stopped: {states}\n{st.logs()}"
        health = {s: state.get("Health", {}).get("Status") for s, state in states.items()}
        if all(h == "healthy" for h in health.values()):
            return containers
        if time.monotonic() > deadline:
            last = {s: (state.get("Health") or {}).get("Log", [])[-1:] for s, state in states.items()}
            raise AssertionError(f"not all healthy: {health}\n{last}\n{st.logs()}")
        time.sleep(1)


def test_the_compose_stack_answers_runs_jobs_and_guards_itself(stack: Stack) -> None:
    containers = wait_healthy(stack)

    # Non-root by default; only the worker and the watcher hold the Docker socket (through its group).
    gid = str(SOCKET.stat().st_gid)
    for service in ("bot", "worker", "watch"):
        code, out = containers[service].exec_run(["id", "-u"])
        assert (code, out.decode().strip()) == (0, "10001"), (service, out)
        mounts = {m["Destination"] for m in containers[service].attrs["Mounts"]}
        assert ("/var/run/docker.sock" in mounts) is (service != "bot"), (service, mounts)
        groups = containers[service].attrs["HostConfig"]["GroupAdd"] or []
        assert (gid in groups) is (service != "bot"), (service, groups)
    for service, c in containers.items():
        assert c.labels.get("dockbolt.protected") == "true", service

    # Redis wants its password and appends every write to its AOF.
    code, out = containers["redis"].exec_run(["sh", "-c", "env -u REDISCLI_AUTH redis-cli ping"])
    assert b"NOAUTH" in out, out
    code, out = containers["redis"].exec_run(["redis-cli", "config", "get", "appendonly"])
    assert out.split() == [b"appendonly", b"yes"], out

    # Answered by the bot itself: who I am, my role from the config mounted into the container.
    who = stack.send("whoami")
    assert who.status == 200, who.body
    assert USER in who.body and "stackops" in who.body, who.body

    # Queued, run by the worker container on the host's engine, reported on the card in the stand-in.
    job = stack.job(f"ps --format table --filter label=com.docker.compose.project={stack.project}")
    card, thread = stack.finished(job)
    assert card.status == "done", f"{thread}\n{stack.logs()}"
    assert all(c.name in thread for c in containers.values()), thread

    # Its own containers are protected: the worker refuses to stop Redis, which keeps running.
    job = stack.job(f"stop {containers['redis'].name}")
    card, thread = stack.finished(job)
    assert card.status == "failed" and "is protected (`dockbolt.protected=true`)" in thread, thread
    containers["redis"].reload()
    assert containers["redis"].status == "running"
