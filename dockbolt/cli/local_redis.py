"""A private redis-server for the embedded default (`dockbolt up`) and the tests.

Listens only on a unix socket in a fresh temporary directory (no TCP port to collide with or expose),
keeps nothing on disk, and is stopped on exit.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError


class LocalRedisError(RuntimeError):
    """The private Redis could not be started."""


class LocalRedis:
    """Starts and stops a throwaway redis-server."""

    def __init__(self, binary: str = "redis-server") -> None:
        self.binary = binary
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The redis URL (unix socket) of the running server."""
        if self._dir is None:
            raise LocalRedisError("not started")
        return f"unix://{self._dir / 'redis.sock'}"

    def start(self, timeout: float = 10.0) -> str:
        """Start the server and wait until it answers PING; return its URL."""
        exe = shutil.which(self.binary)
        if exe is None:
            raise LocalRedisError(f"{self.binary} not found on PATH: install Redis (e.g. `apt-get install "
                                  "redis-server`) or set REDIS_URL to a running Redis")
        self._dir = Path(tempfile.mkdtemp(prefix="dockbolt-redis-"))
        sock = self._dir / "redis.sock"
        argv = [exe, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
                "--save", "", "--appendonly", "no", "--dir", str(self._dir), "--daemonize", "no",
                "--logfile", str(self._dir / "redis.log")]
        # Its own session: a Ctrl-C at the console (SIGINT to the terminal's process group) must not stop it.
        self._proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL,  # noqa: S603
                                      stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise LocalRedisError(f"redis-server exited with {self._proc.returncode}; see "
                                      f"{self._dir / 'redis.log'}")
            if sock.exists():
                try:
                    if Redis(unix_socket_path=str(sock)).ping():
                        return self.url
                except RedisError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise LocalRedisError(f"redis-server did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> LocalRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
