"""Periodic: keeps calling after a call fails, and stops when asked."""

from __future__ import annotations

import threading

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
