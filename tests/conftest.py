"""Fixtures shared by every layer: a real private redis-server, and the skip-or-fail rule.

Missing Redis or Docker: skip locally with a loud reason, FAIL when ``CI`` is set — a skipped
integration test in CI is a failure that hides itself.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator

import pytest
from redis import Redis

from dockbolt.cli.local_redis import LocalRedis, LocalRedisError


def unavailable(reason: str) -> None:
    """Skip (locally) or fail (under CI) because a real dependency is missing."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} — CI is set, so this is a failure, not a skip", pytrace=False)
    pytest.skip(f"!!! {reason} — integration/scenario tests SKIPPED (they fail under CI)")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A private redis-server for the whole test session; yields its URL."""
    local = LocalRedis()
    try:
        url = local.start()
    except LocalRedisError as exc:
        unavailable(f"no Redis: {exc}")
    yield url
    local.stop()


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session Redis, emptied before each test."""
    Redis.from_url(redis_server).flushall()
    return redis_server


@pytest.fixture
def root_log() -> Iterator[io.StringIO]:
    """A handler on the root logger, as `logging.basicConfig` sets one up; filters restored after."""
    root, stream = logging.getLogger(), io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    level, before = root.level, {h: list(h.filters) for h in root.handlers}
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for h, filters in before.items():
            h.filters = filters
