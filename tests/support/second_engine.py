"""A second, real Docker engine on this machine, for tests that need two hosts.

``dockerd`` runs in network and UTS namespaces of its own (``unshare --net --uts``): it has its own
``docker0``, iptables and loopback inside its namespace, so it never touches the host's bridge, and its
own hostname, so ``docker info`` reports another ``Name`` than the first engine. Its data, exec root,
pid file and unix socket live in a fresh directory under ``/tmp`` (short: unix socket paths are limited
to 108 bytes); the socket is reachable from the host, so tests drive it with ``DOCKER_HOST=unix://…``.

Use::

    with SecondEngine(name="engine-b") as b:          # started and answering
        b.load_images(["dockbolt-test/busybox:latest"], source="unix:///var/run/docker.sock")
        b.docker_host                                 # "unix:///tmp/dbe-…/docker.sock"
        b.client.containers.run(...)                  # a docker SDK client for it

Leaving the block (or ``stop()``) removes its containers, stops dockerd by its pid file and waits for it;
should it not exit, every process in its network namespace (dockerd, its containerd and shims) is
killed. Then whatever is still mounted under its directory is unmounted and the directory removed.
Nothing outside that directory and that namespace is touched.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Self

import docker
import docker.errors
import requests.exceptions

REQUIRED = ("unshare", "dockerd", "docker", "ip", "hostname", "umount")
# $1: hostname, $2: the state directory. Positional parameters: nothing is spliced into the script.
SCRIPT = ('ip link set lo up && hostname "$1" && exec dockerd --config-file "$2/daemon.json" '
          '--data-root "$2/data" --exec-root "$2/exec" -H "unix://$2/docker.sock" --pidfile "$2/docker.pid" '
          '--shutdown-timeout 2')


class SecondEngineError(RuntimeError):
    """The second engine did not start, or an image could not be given to it."""


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket, to ask ``/_ping`` without the docker SDK (which leaks failed sockets)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _dockerd_major() -> int:
    """dockerd's major version ("Docker version 20.10.24+dfsg1, build …" → 20); 0 when unknown."""
    out = subprocess.run(["dockerd", "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"version (\d+)\.", out)
    return int(match.group(1)) if match else 0


def _netns(pid: int) -> str | None:
    with contextlib.suppress(OSError):
        return os.readlink(f"/proc/{pid}/ns/net")
    return None


class SecondEngine:
    """A second ``dockerd`` in its own network and UTS namespaces (see the module docstring)."""

    def __init__(self, name: str = "engine-b", *, start_timeout: float = 60.0,
                 stop_timeout: float = 30.0) -> None:
        self.name = name
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.root: Path | None = None
        self.pid: int | None = None
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._netns: str | None = None
        self._client: docker.DockerClient | None = None

    @staticmethod
    def missing_prerequisites() -> list[str]:
        """What this machine lacks to run a second engine (empty when it can)."""
        missing = [f"{cmd} not on PATH" for cmd in REQUIRED if shutil.which(cmd) is None]
        if os.geteuid() != 0:
            missing.append("not root (dockerd and unshare --net need root)")
        return missing

    # --- where it is --------------------------------------------------------------------------------

    @property
    def socket_path(self) -> str:
        """The engine's unix socket."""
        if self.root is None:
            raise SecondEngineError("the second engine is not started")
        return str(self.root / "docker.sock")

    @property
    def docker_host(self) -> str:
        """``DOCKER_HOST`` for this engine: ``unix:///tmp/dbe-…/docker.sock``."""
        return f"unix://{self.socket_path}"

    @property
    def client(self) -> docker.DockerClient:
        """A docker SDK client of this engine (closed by ``stop()``)."""
        if self._client is None:
            self._client = docker.DockerClient(base_url=self.docker_host, version="auto", timeout=60)
        return self._client

    def env(self) -> dict[str, str]:
        """The process environment with ``DOCKER_HOST`` pointing here (for a docker CLI or a worker)."""
        return {**os.environ, "DOCKER_HOST": self.docker_host}

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of this dockerd's log, for failure messages."""
        if self.root is None:
            return ""
        try:
            text = (self.root / "dockerd.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # --- life -------------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start dockerd and return once it answers ``/_ping`` on its socket (stopped again on failure)."""
        if self._proc is not None:
            raise SecondEngineError("already started")
        missing = self.missing_prerequisites()
        if missing:
            raise SecondEngineError("cannot run a second engine: " + "; ".join(missing))
        self.root = Path(tempfile.mkdtemp(prefix="dbe-", dir="/tmp"))
        # Never the host's /etc/docker/daemon.json; and a key of its own: before Docker 23 the engine's ID
        # (``docker info`` ID) comes from /etc/docker/key.json, which it would otherwise share with the host.
        config = {"deprecated-key-path": str(self.root / "key.json")} if 0 < _dockerd_major() < 23 else {}
        (self.root / "daemon.json").write_text(json.dumps(config) + "\n")
        began = time.monotonic()
        try:
            with open(self.root / "dockerd.log", "wb") as log:
                # unshare and sh exec: the child's pid is dockerd's pid (and the pid file's).
                self._proc = subprocess.Popen(
                    ["unshare", "--net", "--uts", "sh", "-c", SCRIPT, "sh", self.name, str(self.root)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            self.pid = self._proc.pid
            self._wait_until_answering(began)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _wait_until_answering(self, began: float) -> None:
        assert self._proc is not None
        deadline = began + self.start_timeout
        while not self._ping():
            if self._proc.poll() is not None:
                raise SecondEngineError(f"dockerd exited with {self._proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise SecondEngineError(
                    f"dockerd did not answer on {self.socket_path} within {self.start_timeout:.0f} s:\n"
                    f"{self.log_tail()}")
            time.sleep(0.05)
        self._capture_netns()
        if self._netns is None:
            raise SecondEngineError("the second dockerd does not run in a network namespace of its own")

    def _capture_netns(self) -> None:
        """Remember dockerd's network namespace (to find its processes at the end), if not the host's."""
        if self._netns is None and self.pid is not None:
            ns = _netns(self.pid)
            if ns is not None and ns != _netns(os.getpid()):
                self._netns = ns

    def _ping(self) -> bool:
        conn = _UnixHTTPConnection(self.socket_path, timeout=5)
        try:
            conn.request("GET", "/_ping")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def info(self) -> dict[str, object]:
        """``docker info`` of this engine."""
        return dict(self.client.info())

    def load_images(self, images: Iterable[str], source: str) -> None:
        """Copy ``images`` from the engine at ``source`` (a ``DOCKER_HOST``):
        ``docker save IMG | DOCKER_HOST=<this> docker load``."""
        for image in images:
            save = subprocess.Popen(["docker", "save", image], env={**os.environ, "DOCKER_HOST": source},
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            assert save.stdout is not None
            try:
                load = subprocess.run(["docker", "load", "-q"], env=self.env(), stdin=save.stdout,
                                      capture_output=True, timeout=300, check=False)
            finally:
                save.stdout.close()
                _, save_err = save.communicate(timeout=300)
            if save.returncode != 0 or load.returncode != 0:
                raise SecondEngineError(f"could not copy {image} to {self.name}: "
                                        f"{save_err.decode(errors='replace')}{load.stderr.decode(errors='replace')}")

    def stop(self) -> None:
        """Remove its containers, stop dockerd (pid file), wait, clean up its mounts and directory.

        Idempotent; safe after a failed start."""
        try:
            try:
                self._remove_containers()
            finally:
                self._stop_daemon()
        finally:
            if self._client is not None:
                self._client.close()
                self._client = None
            try:
                self._unmount_leftovers()
            finally:
                if self.root is not None:
                    shutil.rmtree(self.root, ignore_errors=True)
                    self.root = None

    def _remove_containers(self) -> None:
        """Force-remove this engine's containers, so stopping it waits for none and leaves none running."""
        if self._proc is None or self._proc.poll() is not None or self.root is None or not self._ping():
            return
        try:
            for container in self.client.containers.list(all=True):
                with contextlib.suppress(docker.errors.NotFound):
                    container.remove(force=True, v=True)
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            pass  # stopping the daemon below still ends them

    def _daemon_pid(self) -> int | None:
        if self.root is not None:
            with contextlib.suppress(OSError, ValueError):
                return int((self.root / "docker.pid").read_text().strip())
        return self.pid

    def _stop_daemon(self) -> None:
        proc, pid = self._proc, self._daemon_pid()
        if proc is None:
            return
        self._capture_netns()
        if pid is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        try:
            proc.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self._kill_namespace()
        self._proc = None

    def _kill_namespace(self) -> None:
        """SIGKILL what is left of this engine: the processes in its network namespace (containerd, shims)
        and their descendants (the containers' processes) — nothing else."""
        if self._netns is None or self._netns == _netns(os.getpid()):
            return
        for _ in range(50):
            parents: dict[int, int] = {}
            for stat in Path("/proc").glob("[0-9]*/stat"):
                with contextlib.suppress(OSError, ValueError, IndexError):
                    parents[int(stat.parent.name)] = int(stat.read_text().rpartition(")")[2].split()[1])
            doomed = {pid for pid in parents if _netns(pid) == self._netns}
            grown = True
            while grown:
                more = {pid for pid, parent in parents.items() if parent in doomed} - doomed
                doomed |= more
                grown = bool(more)
            if not doomed:
                return
            for pid in doomed:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)

    def _unmount_leftovers(self) -> None:
        """Unmount anything still mounted under this engine's directory, deepest first."""
        if self.root is None:
            return
        prefix = str(self.root) + "/"
        mounts: list[str] = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                point = line.split()[4].encode().decode("unicode_escape")  # \040 for a space
                if point.startswith(prefix):
                    mounts.append(point)
        for point in sorted(set(mounts), key=len, reverse=True):
            if subprocess.run(["umount", point], capture_output=True, check=False).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True, check=False)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

