"""The worker's command-channel thread (RQ's pubsub thread) stops promptly, on a real Redis.

RQ unsubscribes, then stops that thread; redis-py 8's ``PubSubWorkerThread.stop()`` joins it without a
bound. A thread that has already read the UNSUBSCRIBE's reply waits for a subscription for its whole
``sleep_time`` — RQ's 60 s — so a SIGTERMed worker sat in its teardown (seen in CI). The test puts the
thread in exactly that wait, then stops it; the guard is far above the worker's 1-s wait
(``PUBSUB_WAIT``), far below 60. It failed before the fix (still running after the guard).
"""

from __future__ import annotations

import threading
import time

from redis import Redis
from rq import Queue

from tests.support.pipeline import poll_until
from workers.main import DockboltWorker

GUARD = 15.0


def test_the_command_channel_thread_stops_soon_after_the_worker_unsubscribes(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    worker = DockboltWorker([Queue("dockbolt-host-pubsub-test", connection=redis)], connection=redis)
    worker.subscribe()
    thread = worker.pubsub_thread
    assert thread is not None
    poll_until(lambda: worker.pubsub.subscribed, what="the worker subscribed")
    worker.pubsub.unsubscribe()
    poll_until(lambda: not worker.pubsub.subscribed, what="the UNSUBSCRIBE's reply read by the thread")
    time.sleep(0.3)  # the thread loops on and waits for a subscription (the case that hung)

    stopper = threading.Thread(target=thread.stop, daemon=True)
    started = time.monotonic()
    stopper.start()
    stopper.join(GUARD)
    assert not stopper.is_alive(), f"the pubsub thread still runs {GUARD:g} s after stop()"
    assert time.monotonic() - started < GUARD
    assert not thread.is_alive()
    worker.pubsub.close()
