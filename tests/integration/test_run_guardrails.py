"""The worker's side of `run`'s guardrails, on the real engine: the run handler with a real Docker port.

What the bot checks (``run_policy.check_run``) is the unit tests' business; here: the [policy] defaults
the worker applies (as the engine records them), host bind sources re-checked as this host resolves
them (a symlink to the Docker socket, to another socket or out of the allowed paths creates nothing),
and bare `-e NAME` filled from the worker's DOCKBOLT_SECRET_NAME.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from bot.parsing import parse
from dockbolt.core.args import RunArgs
from dockbolt.core.contract import JobRequest, new_job_id
from dockbolt.core.guardrails import MIB, Guardrails
from dockbolt.core.run_policy import check_run
from workers.docker_port import DockerPort
from workers.handlers import HANDLERS
from workers.handlers.base import HandlerContext
from workers.reply import Reply
from workers.run_guard import RunRefused, engine_socket

pytestmark = pytest.mark.integration

SLEEP = "sh -c 'trap \"exit 0\" TERM; sleep 300 & wait'"


class Runner:
    """Runs `run` command text through the parser and the worker's run handler, on the real engine."""

    def __init__(self, port: DockerPort, client: docker.DockerClient, image: str, run_id: str) -> None:
        self.port, self.client, self.image, self.run_id = port, client, image, run_id
        self.progress: list[str] = []

    def name(self, what: str) -> str:
        return f"dh-{self.run_id}-g{what}"

    def args(self, flags: str) -> RunArgs:
        """Parse `run FLAGS IMAGE sleep…` as the bot does (labelled so that teardown finds it)."""
        args = parse(f"run -l dhtest.run={self.run_id} {flags} {self.image} {SLEEP}").args
        assert isinstance(args, RunArgs)
        return args

    def __call__(self, args: RunArgs, guardrails: Guardrails) -> Reply:
        job = JobRequest(job_id=new_job_id(), verb="run", args=args.to_dict(), user_id="UOPERATOR",
                         channel_id="C1", command_text="run …")
        ctx = HandlerContext(job=job, docker=self.port, progress=self.progress.append, guardrails=guardrails,
                             docker_host=os.environ.get("DOCKER_HOST"))
        handler = HANDLERS["run"]
        return handler.run(ctx, handler.args.from_dict(job.args))

    def exists(self, name: str) -> bool:
        return bool(self.client.containers.list(all=True, filters={"name": f"^/{name}$"}))


@pytest.fixture
def runner(engine: DockerPort, docker_client: docker.DockerClient, test_image: str,
           test_run_id: str) -> Iterator[Runner]:
    yield Runner(engine, docker_client, test_image, test_run_id)
    for c in docker_client.containers.list(all=True, filters={"label": f"dhtest.run={test_run_id}"}):
        with contextlib.suppress(docker.errors.NotFound):
            c.remove(force=True)


@pytest.fixture
def local_engine() -> str:
    """The local engine's socket; the host-path checks only apply when the engine shares this host."""
    sock = engine_socket(os.environ.get("DOCKER_HOST"))
    if sock is None:
        pytest.skip("DOCKER_HOST is a remote engine: this host's paths are not the ones it would mount")
    return sock


def test_the_policy_defaults_are_what_the_engine_records(runner: Runner) -> None:
    name = runner.name("defaults")
    reply = runner(runner.args(f"--name {name} -p 80 -p 127.0.0.1::81"), Guardrails())
    assert reply.ok, reply.text
    host = runner.client.api.inspect_container(name)["HostConfig"]
    assert host["Memory"] == 512 * MIB and host["PidsLimit"] == 512
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert host["PortBindings"] == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
        "81/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
    }
    ports = runner.client.api.inspect_container(name)["NetworkSettings"]["Ports"]
    assert {b["HostIp"] for b in ports["80/tcp"]} == {"127.0.0.1"}  # not 0.0.0.0: nothing public


def test_what_run_says_wins_over_the_defaults(runner: Runner) -> None:
    name = runner.name("explicit")
    policy = Guardrails(publish_address="127.0.0.1", memory=256 * MIB, pids_limit=100)
    assert runner(runner.args(f"--name {name} -m 64m --pids-limit 20 -p 127.0.0.3::80 "
                              "--security-opt no-new-privileges=false"), policy).ok
    host = runner.client.api.inspect_container(name)["HostConfig"]
    assert (host["Memory"], host["PidsLimit"]) == (64 * MIB, 20)
    assert host["SecurityOpt"] == ["no-new-privileges:false"]
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.3", "HostPort": ""}]}


# --- host paths as this host resolves them ---------------------------------------------------------------


def _refused(runner: Runner, flags: str, policy: Guardrails, what: str) -> str:
    """Run and expect the worker-side refusal; nothing may exist afterwards. Returns the message."""
    name = runner.name(what)
    args = runner.args(f"--name {name} {flags}")
    with pytest.raises(RunRefused) as refused:
        runner(args, policy)
    assert not runner.exists(name)
    assert runner.progress == []  # refused before "starting a container…"
    return str(refused.value)


@pytest.fixture
def allowed(tmp_path: Path) -> Path:
    (tmp_path / "allowed" / "inside").mkdir(parents=True)
    (tmp_path / "allowed" / "inside" / "note").write_text("ok\n")
    return tmp_path / "allowed"


@pytest.mark.parametrize("spelling", ["-v {}:/s", "--mount type=bind,source={},target=/s"])
def test_a_symlink_to_the_docker_socket_is_refused(
    runner: Runner, local_engine: str, allowed: Path, spelling: str
) -> None:
    (allowed / "sock").symlink_to(local_engine)
    flag = spelling.format(allowed / "sock")
    policy = Guardrails(allowed_host_paths=(str(allowed),))
    # What the bot sees asks only for host-mounts: the spelling is an ordinary path under an allowed one.
    assert [n.grant for n in check_run(runner.args(flag), policy)] == ["host-mounts"]
    message = _refused(runner, flag, policy, "sock")
    real = os.path.realpath(local_engine)
    assert message.startswith(f"Refused `{flag}`: on this host the path leads to `{real}`, and ")
    assert "Docker socket" in message and "Nothing was created" in message


def test_a_symlink_to_a_directory_holding_the_socket_is_refused(
    runner: Runner, local_engine: str, allowed: Path
) -> None:
    (allowed / "run").symlink_to(os.path.dirname(os.path.realpath(local_engine)))
    policy = Guardrails(allowed_host_paths=(str(allowed),))
    message = _refused(runner, f"-v {allowed}/run:/r:ro", policy, "dir")
    assert "Docker socket" in message


def test_a_symlink_out_of_the_allowed_paths_is_refused(runner: Runner, allowed: Path) -> None:
    (allowed / "etc").symlink_to("/etc")
    policy = Guardrails(allowed_host_paths=(str(allowed),))
    message = _refused(runner, f"-v {allowed}/etc:/e:ro", policy, "etc")
    assert f"/etc is not under [policy] allowed_host_paths ({allowed})" in message


def test_a_unix_socket_under_an_allowed_path_counts_as_the_docker_socket(
    runner: Runner, allowed: Path
) -> None:
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(allowed / "app.sock"))
        message = _refused(runner, f"-v {allowed}/app.sock:/app.sock",
                           Guardrails(allowed_host_paths=(str(allowed),)), "appsock")
    assert "is a unix socket, treated as the Docker socket" in message


def test_a_path_this_workers_policy_does_not_allow_is_refused(runner: Runner, allowed: Path) -> None:
    # The bot and the worker read the same [policy]; should they differ, the worker's holds.
    message = _refused(runner, f"-v {allowed}:/data", Guardrails(), "policy")
    assert message == (f"Refused `-v {allowed}:/data`: on this host, {allowed} is not under [policy] "
                       "allowed_host_paths (none). Nothing was created.")


def test_a_symlink_that_stays_inside_the_allowed_paths_is_mounted(runner: Runner, allowed: Path) -> None:
    (allowed / "link").symlink_to(allowed / "inside")
    name = runner.name("inside")
    reply = runner(runner.args(f"--name {name} -v {allowed}/link:/data:ro"),
                   Guardrails(allowed_host_paths=(str(allowed),)))
    assert reply.ok, reply.text
    out = runner.client.containers.get(name).exec_run(["cat", "/data/note"]).output
    assert out == b"ok\n"
    # The engine was given the path that was checked, not the symlink (which could be re-pointed).
    binds = runner.client.api.inspect_container(name)["HostConfig"]["Binds"]
    assert binds == [f"{os.path.realpath(allowed / 'inside')}:/data:ro"]


def test_a_bind_mount_through_a_symlink_is_given_its_real_path(runner: Runner, allowed: Path) -> None:
    (allowed / "alias").symlink_to(allowed / "inside")
    name = runner.name("mountreal")
    policy = Guardrails(allowed_host_paths=(str(allowed),))
    assert runner(runner.args(f"--name {name} --mount type=bind,src={allowed}/alias/.,dst=/d,ro"), policy).ok
    [mount] = runner.client.api.inspect_container(name)["HostConfig"]["Mounts"]
    assert mount["Source"] == os.path.realpath(allowed / "inside")


# --- bare -e NAME: a secret from the worker's environment -------------------------------------------------


def test_a_bare_env_name_takes_the_workers_secret(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKBOLT_SECRET_DB_PASSWORD", "s3cret value")
    name = runner.name("secret")
    args = runner.args(f"--name {name} -e DB_PASSWORD -e PLAIN=1")
    assert "s3cret" not in str(args.to_dict())  # the queue carries the name only
    reply = runner(args, Guardrails())
    assert reply.ok and "s3cret" not in reply.text
    env = runner.client.api.inspect_container(name)["Config"]["Env"]
    assert "DB_PASSWORD=s3cret value" in env and "PLAIN=1" in env
    assert runner.client.containers.get(name).exec_run(["sh", "-c", "echo $DB_PASSWORD"]).output == (
        b"s3cret value\n"
    )


def test_a_missing_secret_names_the_variable_to_set(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKBOLT_SECRET_API_TOKEN", raising=False)
    message = _refused(runner, "-e API_TOKEN", Guardrails(), "nosecret")
    assert "`DOCKBOLT_SECRET_API_TOKEN`" in message and "Nothing was created" in message
