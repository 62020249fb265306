"""Fault fixtures: a redis-server of the test's own that it may kill and start again, on the same port.

The session Redis (``tests.conftest``) is shared by every test and is never killed; each fault test gets
its own server here. The Docker fixtures are the integration layer's (same labels, same clean-up).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError

from tests.conftest import unavailable
from tests.integration.conftest import (  # noqa: F401  (fixtures, re-exported for this layer)
    docker_cleanup,
    docker_client,
    docker_host,
    pipelines,
    run_labels,
    test_image,
    test_run_id,
)

START_GUARD = 15.0  # only so that a server that never answers fails the test instead of hanging it


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class KillableRedis:
    """A redis-server on 127.0.0.1:``port``, data in ``workdir``; ``persistent`` keeps an fsynced AOF."""

    def __init__(self, workdir: Path, *, persistent: bool) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            unavailable("no redis-server on PATH")
        self.exe, self.workdir, self.persistent = str(exe), workdir, persistent
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        aof = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly",
                                                                                          "no"]
        argv = [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *aof,
                "--dir", str(self.workdir), "--logfile", str(self.workdir / "redis.log")]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_GUARD
        while time.monotonic() < deadline:
            try:
                if Redis.from_url(self.url, socket_timeout=1).ping():
                    return
            except RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start; see {self.workdir}/redis.log")

    def kill(self) -> None:
        """SIGKILL: no shutdown save, clients see their connections drop."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[KillableRedis]:
    """A private, killable Redis without persistence."""
    server = KillableRedis(tmp_path, persistent=False)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def own_persistent_redis(tmp_path: Path) -> Iterator[KillableRedis]:
    """A private, killable Redis that writes every command to its AOF before answering."""
    server = KillableRedis(tmp_path, persistent=True)
    server.start()
    yield server
    server.kill()
