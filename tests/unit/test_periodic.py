"""Periodic: keeps calling after a call fails, and stops when asked."""

from __future__ import annotations

import logging
import threading

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from dockbolt.core.periodic import Periodic


def test_a_failing_call_does_not_end_the_loop_and_stop_ends_it() -> None:
    calls: list[int] = []
    second = threading.Event()

    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("Redis blip")
        second.set()

    loop = Periodic(flaky, every=0.01, name="test-loop").start()
    assert second.wait(timeout=30), "the loop ended after the first failure"
    loop.stop()
    loop._thread.join(timeout=30)
    assert not loop._thread.is_alive()


def test_a_redis_outage_is_said_once_and_its_end_once_other_errors_each_time(
        caplog: pytest.LogCaptureFixture) -> None:
    """The bot's reaper runs every second: an outage used to log a traceback per call."""
    script = [RedisConnectionError("Error 111 connecting"), RedisTimeoutError("Timeout reading"),
              RedisConnectionError("Error 111 connecting"), None, ValueError("a bug"), ValueError("a bug"),
              None]
    done = threading.Event()

    def call() -> None:
        if not script:
            done.set()
            return
        step = script.pop(0)
        if step is not None:
            raise step

    with caplog.at_level(logging.INFO, logger="dockbolt.core.periodic"):
        loop = Periodic(call, every=0.01, name="test-loop").start()
        assert done.wait(timeout=30), "the loop stopped calling"
        loop.stop()
        loop._thread.join(timeout=30)
    said = [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert said == [
        ("WARNING", "test-loop: Redis unreachable (Error 111 connecting); trying again every 0.01 s", False),
        ("INFO", "test-loop: Redis answers again", False),
        ("WARNING", "test-loop failed; trying again in 0.01 s", True),
        ("WARNING", "test-loop failed; trying again in 0.01 s", True),
    ]
