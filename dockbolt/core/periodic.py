"""A daemon thread that calls a function every few seconds until stopped (the reaper, job heartbeats).

A call that raises is logged and the next one still happens: a Redis or Slack blip must not end the loop.
Redis out of reach (a connection refused, dropped or timed out) is an outage, not a bug: it is said in
one line when it starts and one when Redis answers again, not with a traceback per call (the bot's
reaper runs every second). Anything else is logged with its traceback each time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

OUTAGE = (RedisConnectionError, RedisTimeoutError)


class Periodic:
    """Calls ``fn`` every ``every`` seconds (first call after one interval) until ``stop``."""

    def __init__(self, fn: Callable[[], object], every: float, name: str) -> None:
        self.fn, self.every, self.name = fn, every, name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Periodic:
        """Start calling in the background."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop calling (a call in progress finishes)."""
        self._stop.set()

    def _loop(self) -> None:
        outage = False
        while not self._stop.wait(self.every):
            try:
                self.fn()
            except OUTAGE as exc:
                if not outage:
                    log.warning("%s: Redis unreachable (%s); trying again every %g s", self.name, exc,
                                self.every)
                outage = True
                continue
            except Exception:
                log.warning("%s failed; trying again in %g s", self.name, self.every, exc_info=True)
                continue
            if outage:
                log.info("%s: Redis answers again", self.name)
                outage = False
