"""The stand-in's recorded world and its thread-safe query API (what tests and the console read).

One re-entrant lock guards everything; every change notifies a Condition (for ``wait_for``) and is
delivered to subscribers while the lock is still held, so events arrive in the order changes happened
and a waiter that sees a change knows every subscriber has already seen it. Consequently a subscriber
must be quick and must never call the stand-in over HTTP (that would deadlock); reading it directly is fine.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from dockbolt.console.standin.models import (
    Call,
    Ephemeral,
    EventKind,
    HomeView,
    Message,
    ResponsePost,
    StandInEvent,
    UploadedFile,
)

T = TypeVar("T")
Subscriber = Callable[[StandInEvent], None]
log = logging.getLogger(__name__)


class StandInState:
    """Recorded calls, messages, files and response posts, with queries, waiting and subscriptions."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self._calls: list[Call] = []
        self._messages: dict[tuple[str, str], Message] = {}
        self._ephemerals: list[Ephemeral] = []
        self._files: list[UploadedFile] = []
        self._response_posts: list[ResponsePost] = []
        self._home_views: dict[str, HomeView] = {}
        self._subscribers: list[Subscriber] = []
        self._last_ts_us = 0

    # -- queries ---------------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every Web API call received so far, in order."""
        with self.lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The recorded calls of one Web API method."""
        return [c for c in self.calls if c.method == method]

    def messages(self, channel: str | None = None) -> list[Message]:
        """Messages (top level and replies) in posting order, optionally of one channel."""
        with self.lock:
            return [m for m in self._messages.values() if channel is None or m.channel == channel]

    def message(self, channel: str, ts: str) -> Message | None:
        """The message with this channel and ts, if any."""
        with self.lock:
            return self._messages.get((channel, ts))

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The replies in the thread under ``ts`` (parent excluded), in order."""
        return [m for m in self.messages(channel) if m.thread_ts == ts and m.ts != ts]

    def find_card(self, job_id: str) -> Message | None:
        """The job card whose metadata names this job id (the first one posted; a job started by a click
        has its card inside the clicked message's thread)."""
        return next((m for m in self.messages() if m.job_id == job_id), None)

    @property
    def files(self) -> list[UploadedFile]:
        """Files whose upload was completed, in order."""
        with self.lock:
            return list(self._files)

    @property
    def ephemerals(self) -> list[Ephemeral]:
        """chat.postEphemeral messages, in order."""
        with self.lock:
            return list(self._ephemerals)

    @property
    def response_posts(self) -> list[ResponsePost]:
        """POSTs to response URLs (refused ones carry ``error``), in order."""
        with self.lock:
            return list(self._response_posts)

    def home_view(self, user_id: str) -> HomeView | None:
        """The Home tab view last published for this user (views.publish), if any."""
        with self.lock:
            return self._home_views.get(user_id)

    def describe(self, limit: int = 20) -> str:
        """A readable summary of the most recent calls, messages and response posts (for failures)."""
        with self.lock:
            lines = [f"{len(self._calls)} calls:"]
            lines += [f"  {c.method} {'ok' if c.error is None else c.error}" for c in self._calls[-limit:]]
            lines.append(f"{len(self._messages)} messages:")
            for m in list(self._messages.values())[-limit:]:
                where = f"{m.channel} {m.ts}" + (f" (thread {m.thread_ts})" if m.is_reply else "")
                card = f" [job {m.job_id} {m.status}]" if m.job_id else ""
                files = f" files={[f.name for f in m.files]}" if m.files else ""
                lines.append(f"  {where}{card}{files} {m.text[:80]!r}")
            lines.append(f"{len(self._response_posts)} response posts:")
            lines += [f"  {p.response_type} {p.text[:80]!r}" for p in self._response_posts[-limit:]]
            lines.append(f"Home views of {sorted(self._home_views)}")
            return "\n".join(lines)

    # -- waiting and subscribing -----------------------------------------------------------------

    def wait_for(self, predicate: Callable[[], T | None], timeout: float = 30) -> T:
        """Return the predicate's first non-None (and non-False) value, re-checked on every change."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = predicate()
                if value is not None and value is not False:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = self.describe()
                    raise TimeoutError(f"stand-in: condition not met within {timeout} s; seen:\n{seen}")
                self._changed.wait(remaining)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback`` with every future change; returns a function that unsubscribes."""
        with self.lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self.lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    # -- changes (used by the Web API implementation) --------------------------------------------

    def next_ts(self) -> str:
        """A unique, increasing Slack-style ts ("1764170000.000100")."""
        with self.lock:
            self._last_ts_us = max(self._last_ts_us + 1, int(time.time() * 1_000_000))
            seconds, micros = divmod(self._last_ts_us, 1_000_000)
            return f"{seconds}.{micros:06d}"

    def record_call(self, call: Call) -> None:
        """Record one Web API call."""
        with self.lock:
            self._calls.append(call)
            self._changed.notify_all()

    def put_message(self, message: Message, previous: Message | None = None) -> None:
        """Store a new message, or a new version of one (``previous`` given), and announce it."""
        with self.lock:
            self._messages[(message.channel, message.ts)] = message
            self._files.extend(message.files)
            kind: EventKind = "update" if previous else ("file" if message.files else "message")
            first = message.files[0] if message.files else None
            self._emit(StandInEvent(kind, time.time(), message=message, previous=previous, file=first))

    def put_unshared_file(self, file: UploadedFile) -> None:
        """Store a completed upload that was shared to no channel."""
        with self.lock:
            self._files.append(file)
            self._emit(StandInEvent("file", time.time(), file=file))

    def put_ephemeral(self, ephemeral: Ephemeral) -> None:
        """Store an ephemeral message and announce it."""
        with self.lock:
            self._ephemerals.append(ephemeral)
            self._emit(StandInEvent("ephemeral", time.time(), ephemeral=ephemeral))

    def put_response_post(self, post: ResponsePost) -> None:
        """Store a response_url post and announce it."""
        with self.lock:
            self._response_posts.append(post)
            self._emit(StandInEvent("response_post", time.time(), response_post=post))

    def put_home_view(self, view: HomeView) -> None:
        """Store the Home view now published for its user and announce it."""
        with self.lock:
            self._home_views[view.user_id] = view
            self._emit(StandInEvent("home", time.time(), home=view))

    def _emit(self, event: StandInEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                # A broken subscriber must not turn a Slack API call into an error for the caller.
                log.exception("stand-in subscriber %r failed on %s", callback, event.kind)
        self._changed.notify_all()
