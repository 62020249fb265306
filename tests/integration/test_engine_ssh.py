"""A worker reaches an engine over ``DOCKER_HOST=ssh://user@host:port``, as the docker CLI does.

A real OpenSSH server runs on 127.0.0.1 for this module (``sshd -D -f CONFIG``) with a host key and a user
key made for it, public-key authentication only, and ``SetEnv DOCKER_HOST=<engine B>``: the
``docker system dial-stdio`` that the client runs over ssh talks to the second engine
(``tests.support.second_engine``), so whatever the tests see of engine B (its Name, its containers) came
through ssh — the local socket would show engine A. The client's ssh files live in a temporary ``HOME``:
``~/.ssh/id_ed25519`` and a ``~/.ssh/known_hosts`` holding the server's key (written by the test, never
accepted on first sight).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest

from dockbolt.core.errors import DockerUnavailable
from tests.conftest import unavailable
from tests.integration.conftest import RUN_LABEL, StartPipeline
from tests.integration.test_pipeline import finished, job_of, thread_text
from tests.support.pipeline import children, gone, poll_until
from tests.support.second_engine import SecondEngine
from workers.docker_engine import connect
from workers.docker_monitor import connect_monitor

pytestmark = pytest.mark.integration

SSHD = "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def keygen(path: Path, comment: str) -> str:
    """A new ed25519 key pair at ``path`` (no passphrase); returns the public key line."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                   check=True, capture_output=True)
    return path.with_name(path.name + ".pub").read_text().strip()


def make_home(base: Path, known_hosts: str) -> Path:
    """A HOME whose ``~/.ssh`` has the authorized user key and ``known_hosts`` as given."""
    home = base / "home"
    (home / ".ssh").mkdir(parents=True)
    shutil.copy(base / "user_ed25519", home / ".ssh" / "id_ed25519")
    (home / ".ssh" / "id_ed25519").chmod(0o600)
    (home / ".ssh" / "known_hosts").write_text(known_hosts)
    return home


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        found += kids
        todo += kids
    return found


@dataclass
class Sshd:
    """A running sshd on 127.0.0.1 in front of engine B."""

    port: int
    user: str
    dir: Path
    home: Path  # HOME with the user's key and a known_hosts that has the server's key
    host_key_line: str  # the server's public key, as known_hosts wants it
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}"

    def log(self) -> str:
        return (self.dir / "sshd.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory, second_engine: SecondEngine) -> Iterator[Sshd]:
    if not (os.path.exists(SSHD) and shutil.which("ssh-keygen")):
        unavailable(f"no {SSHD} / ssh-keygen (apt-get install openssh-server)")
    d = tmp_path_factory.mktemp("sshd")
    host_pub = keygen(d / "host_ed25519", "dockbolt-test-host")
    (d / "authorized_keys").write_text(keygen(d / "user_ed25519", "dockbolt-test-user") + "\n")
    port, user = free_port(), getpass.getuser()
    host_key_line = f"[127.0.0.1]:{port} {' '.join(host_pub.split()[:2])}"
    home = make_home(d, host_key_line + "\n")
    (d / "sshd_config").write_text(f"""\
ListenAddress 127.0.0.1:{port}
HostKey {d / 'host_ed25519'}
PidFile {d / 'sshd.pid'}
AuthorizedKeysFile {d / 'authorized_keys'}
AllowUsers {user}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
# Not what the SDK (or the CLI) uses - they run `docker system dial-stdio` - but allowed as for `ssh -L`.
AllowStreamLocalForwarding yes
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
SetEnv DOCKER_HOST={second_engine.docker_host}
LogLevel VERBOSE
""")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    check = subprocess.run([SSHD, "-t", "-f", str(d / "sshd_config")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    with open(d / "sshd.log", "wb") as log:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = Sshd(port=port, user=user, dir=d, home=home, host_key_line=host_key_line, proc=proc)
    try:
        def listening() -> bool:
            assert proc.poll() is None, server.log()
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        poll_until(listening, timeout=15, what="sshd listening")
        yield server
    finally:
        # The listener and every session it forked (they have sessions of their own).
        for pid in [proc.pid, *descendants(proc.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture
def ssh_env(sshd: Sshd, monkeypatch: pytest.MonkeyPatch) -> Sshd:
    """This process's HOME is the test's (its ~/.ssh); no ssh agent."""
    monkeypatch.setenv("HOME", str(sshd.home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return sshd


@pytest.fixture
def on_b(second_engine: SecondEngine, docker_client: docker.DockerClient, docker_cleanup: None,
         test_image: str, run_labels: dict[str, str], test_run_id: str) -> Iterator[tuple[str, str]]:
    """A container on engine B and one on engine A (names), removed after the test."""
    b = second_engine.client.containers.run(test_image, ["sleep", "300"], name=f"dbssh-{test_run_id}-b",
                                            labels=run_labels, detach=True)
    docker_client.containers.run(test_image, ["sleep", "300"], name=f"dbssh-{test_run_id}-a",
                                 labels=run_labels, detach=True)
    yield f"dbssh-{test_run_id}-b", f"dbssh-{test_run_id}-a"
    with contextlib.suppress(docker.errors.NotFound):
        b.remove(force=True)


def test_ps_over_ssh_reaches_the_engine_behind_sshd(ssh_env: Sshd, on_b: tuple[str, str],
                                                    second_engine: SecondEngine, test_run_id: str) -> None:
    name_b, _ = on_b
    engine = connect(ssh_env.url)  # pings
    try:
        mine = engine.list_containers(show_all=True, filters={"label": [f"{RUN_LABEL}={test_run_id}"]})
        names = {n for c in mine for n in c.names}
    finally:
        engine.close()
    assert names == {name_b}  # engine B's container, not engine A's: it went through ssh
    # The watcher's side: docker info and the event stream, over ssh too.
    monitor = connect_monitor(ssh_env.url)
    try:
        assert monitor.info()["Name"] == second_engine.name
        started = [e for e in monitor.events(since=time.time() - 300, until=time.time())
                   if e.get("Action") == "start"]
        assert name_b in {e["Actor"]["Attributes"].get("name") for e in started}
    finally:
        monitor.close()


def test_an_unknown_or_changed_host_key_or_an_unknown_user_key_is_refused(
        sshd: Sshd, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    # Nobody listening: said in the OS's words, at once.
    with pytest.raises(DockerUnavailable, match=r"Unable to connect to port \d+ on 127.0.0.1"):
        connect(f"ssh://{sshd.user}@127.0.0.1:{free_port()}", timeout=10)
    # A server that is not in known_hosts is refused, not accepted on first sight.
    monkeypatch.setenv("HOME", str(make_home_for(sshd, tmp_path / "empty", "")))
    with pytest.raises(DockerUnavailable, match=r"not found in known_hosts.*~/.ssh/known_hosts"):
        connect(sshd.url, timeout=10)
    # A server whose key is not the one known_hosts has (a man in the middle, a reinstalled host).
    other = keygen(tmp_path / "other_host", "someone-else").split()
    monkeypatch.setenv("HOME", str(make_home_for(sshd, tmp_path / "changed",
                                                 f"[127.0.0.1]:{sshd.port} {other[0]} {other[1]}\n")))
    with pytest.raises(DockerUnavailable, match=r"does not match"):
        connect(sshd.url, timeout=10)
    # A known server, but a user key it does not authorize.
    home = make_home_for(sshd, tmp_path / "stranger", sshd.host_key_line + "\n")
    (home / ".ssh" / "id_ed25519").unlink()
    keygen(home / ".ssh" / "id_ed25519", "stranger")
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(DockerUnavailable, match=r"Authentication failed"):
        connect(sshd.url, timeout=10)


def make_home_for(sshd: Sshd, base: Path, known_hosts: str) -> Path:
    base.mkdir()
    shutil.copy(sshd.dir / "user_ed25519", base / "user_ed25519")
    return make_home(base, known_hosts)


def test_a_dropped_ssh_connection_is_made_again(ssh_env: Sshd, on_b: tuple[str, str]) -> None:
    engine = connect(ssh_env.url)
    try:
        engine.list_containers()
        sessions = descendants(ssh_env.proc.pid)
        assert sessions, "no ssh session on the server"
        for pid in sessions:  # the server side of the connection dies (sshd restarted, link cut)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        poll_until(lambda: all(gone(pid) for pid in sessions), timeout=10, what="the sessions gone")

        def answers() -> bool:
            try:
                engine.list_containers()
            except DockerUnavailable:
                return False  # the request that finds the connection dead may fail; the next reconnects
            return True

        poll_until(answers, timeout=20, what="the engine answering again over a new ssh connection")
        assert descendants(ssh_env.proc.pid), "no new ssh session"
    finally:
        engine.close()


def test_a_worker_with_an_ssh_docker_host_runs_commands_end_to_end(
        pipelines: StartPipeline, sshd: Sshd, second_engine: SecondEngine, docker_client: docker.DockerClient,
        test_image: str, test_run_id: str) -> None:
    name = f"dbssh-{test_run_id}-via-worker"
    p = pipelines(worker=False)
    p.start_worker({"DOCKER_HOST": sshd.url, "HOME": str(sshd.home)})
    try:
        card, replies = finished(p, job_of(p, f"run -d --name {name} -l dhtest.run={test_run_id} "
                                              f"{test_image} sleep 300"))
        assert card.status == "done", thread_text(replies) + p.worker_log()
        # Created on engine B (behind sshd), not on engine A (the local socket).
        assert second_engine.client.containers.get(name).status == "running"
        with pytest.raises(docker.errors.NotFound):
            docker_client.containers.get(name)
        card, replies = finished(p, job_of(p, "ps --format table"))
        assert card.status == "done", thread_text(replies) + p.worker_log()
        assert name in thread_text(replies)
    finally:
        mine: dict[str, str | list[str] | bool] = {"label": f"dhtest.run={test_run_id}"}
        for c in second_engine.client.containers.list(all=True, filters=mine):
            with contextlib.suppress(docker.errors.NotFound):
                c.remove(force=True)
