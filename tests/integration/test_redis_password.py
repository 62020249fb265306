"""Redis with a password works end to end: the bot, the worker and RQ all authenticate with the URL as
given (REDIS_URL=redis://:PASSWORD@host:port/db), and the password shows in no log line."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import AuthenticationError, ResponseError

from tests.conftest import unavailable
from tests.support.pipeline import Pipeline, start_pipeline

pytestmark = pytest.mark.integration
PASSWORD = "s3cret-redis-pass-7d1c"


@pytest.fixture
def protected_redis(tmp_path: Path) -> Iterator[str]:
    """A private redis-server that requires a password; yields its URL (with the password)."""
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is not on PATH")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--requirepass", PASSWORD, "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
    try:
        for _ in range(100):
            try:
                Redis.from_url(url).ping()
                break
            except Exception:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_password_protected_redis_serves_the_whole_pipeline(protected_redis: str, tmp_path: Path) -> None:
    anonymous = Redis.from_url(protected_redis.replace(f":{PASSWORD}@", ""))
    with pytest.raises((AuthenticationError, ResponseError)):
        anonymous.ping()  # the server really requires it
    p: Pipeline = start_pipeline(protected_redis, tmp_path)
    try:
        p.start_worker()
        job = p.job_of(p.send("ps", user_id="UOPERATOR"))
        assert job is not None
        card = p.standin.wait_for(lambda: (c := p.standin.find_card(job)) and c.status == "done" and c,
                                  timeout=60)
        assert card.status == "done"
        assert PASSWORD not in p.worker_log()
    finally:
        p.close()
