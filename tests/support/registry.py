"""A real image registry on loopback for the tests: Debian's ``docker-registry`` (distribution 2.8).

Started as ``docker-registry serve CONFIG.yml`` on a free 127.0.0.1 port with a filesystem root under a
temporary directory, optionally with htpasswd (bcrypt) users; the engine talks to it without TLS
(loopback registries are insecure by default). Stopped, and its root left to the temporary directory, at
the end.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import bcrypt

BINARY = "docker-registry"


def free_port() -> int:
    """A port nobody listens on right now (the registry binds it a moment later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Registry:
    """One registry process: ``address`` is ``127.0.0.1:PORT``; ``users`` (name → password) turn on
    htpasswd authentication."""

    def __init__(self, workdir: Path, users: Mapping[str, str] | None = None) -> None:
        self.workdir = workdir
        self.users = dict(users or {})
        self.address = f"127.0.0.1:{free_port()}"
        self.log = workdir / "registry.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def binary() -> str | None:
        """Where ``docker-registry`` is, if installed."""
        return shutil.which(BINARY)

    def _config(self) -> Path:
        root = self.workdir / "root"
        root.mkdir(parents=True, exist_ok=True)
        lines = ["version: 0.1", "log:", "  level: warn", "storage:", "  filesystem:",
                 f"    rootdirectory: {root}", "http:", f"  addr: {self.address}"]
        if self.users:
            htpasswd = self.workdir / "htpasswd"
            htpasswd.write_text("".join(
                f"{name}:{bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=5)).decode()}\n"
                for name, pw in self.users.items()))
            lines += ["auth:", "  htpasswd:", "    realm: dockbolt-test", f"    path: {htpasswd}"]
        config = self.workdir / "config.yml"
        config.write_text("\n".join(lines) + "\n")
        return config

    def start(self) -> Registry:
        """Start the registry and wait until its API answers (200, or 401 with authentication)."""
        binary = self.binary()
        assert binary is not None, f"{BINARY} is not installed"
        config = self._config()
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
        while True:
            try:
                with direct.open(f"http://{self.address}/v2/", timeout=2):
                    return self
            except urllib.error.HTTPError as exc:
                if exc.code == 401:
                    return self
                raise
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the registry did not start:\n{self.log.read_text()}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the registry process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
