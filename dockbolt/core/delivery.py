"""Delivers the Slack outbox (``dockbolt.core.outbox``): in order per job, retried, for a bounded time.

A ``Deliverer`` runs in the bot and in every worker process: a few daemon threads that take a due job's
delivery lock and send its entries one by one. Workers' deliverers ``listen``: they wake as soon as an
entry is written anywhere; the bot's look every second (for retries, and for reports when no worker is
up) and otherwise leave the CPU to the acks — it sends each new card right after its ack itself. One
lock per job means one sender per thread at a time, so a job's card and replies arrive in the order they
were written, whichever process sends them. An entry Slack does not take now waits and is tried again —
after ``Retry-After`` on a 429, with backoff on a 5xx or a connection error — and the entries behind it
wait too. A 429 holds every deliverer (all processes share the pause in Redis) for its Retry-After:
Slack's limits are per workspace and method, so other jobs' entries would only be refused too. An entry
still undelivered ``ttl`` seconds after it was written (default 1 h) is logged and counted as
undeliverable, and so is one Slack refuses for good (``msg_too_long``, ``invalid_auth``…).

Delivery is at least once: a process killed after Slack took a message but before Redis heard so leaves
that entry for the next deliverer, which sends it again (a second card, in the worst case).

Nothing here sleeps inside a Slack call: the client has no retry handlers (they would wait out a
``Retry-After`` in the sending thread), and a job never waits for its reports.
"""

from __future__ import annotations

import logging
import random
import threading
import urllib.error
from collections.abc import Callable
from dataclasses import replace

from redis import Redis
from redis.exceptions import RedisError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from dockbolt.core.buttons import Button
from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.jobstore import JobStore, redis_time
from dockbolt.core.jobthread import (
    ResponseUrlError,
    announce,
    post_card,
    post_ephemeral,
    post_in_thread,
    respond,
    send_to_dm,
    update_card,
    upload,
)
from dockbolt.core.metrics import count_slack_failure
from dockbolt.core.outbox import Entry, Outbox
from dockbolt.core.slack_client import redactor_of

log = logging.getLogger(__name__)

DEFAULT_TTL = 3600.0
POLL_EVERY = 1.0  # seconds between looks at the due set when nothing wakes a deliverer
BUSY_WAIT = 0.25  # …when every due job is being sent by another deliverer
MAX_BACKOFF = 10.0  # seconds: after Slack comes back, a backlog is flowing again within this
# Errors Slack answers with HTTP 200 that mean "not now" rather than "never".
TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                       "request_timeout", "team_added_to_org"})


def retry_delay(exc: Exception, tries: int) -> float | None:
    """Seconds to wait before trying again after ``exc``, or None when trying again cannot help."""
    backoff = min(MAX_BACKOFF, 0.5 * 2.0 ** tries) * random.uniform(0.8, 1.2)
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        if status == 429:
            headers = {k.lower(): v for k, v in (exc.response.headers or {}).items()}
            after = headers.get("retry-after")
            return float(str(after[0] if isinstance(after, list) else after)) if after else backoff
        transient = status >= 500 or exc.response.get("error") in TRANSIENT
        return backoff if transient else None
    if isinstance(exc, ResponseUrlError):
        if exc.status == 429:
            return exc.retry_after or backoff
        return backoff if exc.status >= 500 else None
    if isinstance(exc, OSError | urllib.error.URLError | SlackClientError | TimeoutError):
        return backoff  # refused, reset, timed out, or an upload step that failed
    return None


class Deliverer:
    """Sends pending outbox entries from ``threads`` daemon threads (see the module docstring)."""

    def __init__(self, redis: Redis, client: WebClient, *, ttl: float = DEFAULT_TTL, threads: int = 4,
                 name: str = "dockbolt-delivery", listen: bool = True) -> None:
        self.outbox, self.store, self.client = Outbox(redis), JobStore(redis), client
        self.ttl, self.name, self.listen = ttl, name, listen
        self.redactor = redactor_of(client)
        self._stop = threading.Event()
        self._outage, self._outage_lock = False, threading.Lock()
        self._threads = [threading.Thread(target=self._loop, name=f"{name}-{i}", daemon=True)
                         for i in range(threads)]

    def start(self) -> Deliverer:
        """Start delivering in the background."""
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the entries being sent now (pending ones stay in Redis for the next deliverer)."""
        self._stop.set()
        for t in self._threads:
            if t.is_alive():
                t.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if (left := self.outbox.paused()) > 0:
                    self._stop.wait(min(left, 1.0))
                    continue
                due = self.outbox.due()
                self._redis_back()
                random.shuffle(due)  # threads and processes spread over the backlog instead of queueing
                sent = 0
                for job_id in due:
                    if self._stop.is_set():
                        return
                    sent += self.deliver(job_id)
                if sent:
                    continue
                # Nothing to send, or every due job is another deliverer's right now: wait for news.
                if self.listen:
                    self.outbox.wait(BUSY_WAIT if due else POLL_EVERY)
                else:
                    self._stop.wait(POLL_EVERY)
            except RedisError as exc:
                self._redis_down(exc)
                self._stop.wait(1.0)
            except Exception:
                log.exception("%s: delivery failed; going on", self.name)
                self._stop.wait(1.0)

    def _redis_down(self, exc: RedisError) -> None:
        """Say an outage once for all threads (they all retry every second)."""
        with self._outage_lock:
            first, self._outage = not self._outage, True
        if first:
            log.warning("%s: Redis unreachable (%s); trying again every second", self.name, exc)

    def _redis_back(self) -> None:
        if self._outage:  # read without the lock: the common case, no outage, costs one attribute read
            with self._outage_lock:
                was, self._outage = self._outage, False
            if was:
                log.info("%s: Redis is back; delivering again", self.name)

    def deliver(self, job_id: str) -> int:
        """Send the job's pending entries now, in order, unless another deliverer is at it; how many were
        sent. Stops at the first entry Slack does not take (it is scheduled for a retry)."""
        sent = 0
        while not self.outbox.paused():
            with self.outbox.locked(job_id) as token:
                if token is None:
                    return sent
                n, blocked = self._drain(job_id, token)
                sent += n
            if blocked or self.outbox.settled(job_id):
                return sent
        return sent

    def _drain(self, job_id: str, token: str) -> tuple[int, bool]:
        sent = 0
        while (entry := self.outbox.head(job_id)) is not None:
            rec = self.store.get(job_id)
            if rec is None:
                dropped = self.outbox.drop(job_id)
                log.warning("outbox of job %s: no job record; %d entries dropped", job_id, dropped)
                self.outbox.given_up(dropped)
                return sent, True
            try:
                self._send(entry, rec.request)
            except Exception as exc:  # sorted below: every failure is either retried or given up, logged
                if self._retry_or_give_up(job_id, entry, exc):
                    return sent, True
            else:
                sent += 1
                self.outbox.done_with_head(job_id)
            if not self.outbox.still_locked(job_id, token):
                return sent, True
        return sent, False

    def _retry_or_give_up(self, job_id: str, entry: Entry, exc: Exception) -> bool:
        """Schedule the entry again (True: the job waits) or drop it as undeliverable (False: go on)."""
        count_slack_failure(exc)
        delay = retry_delay(exc, entry.tries)
        age = redis_time(self.outbox.redis) - entry.at
        if delay is not None and age + delay <= self.ttl:
            if _rate_limited(exc):  # Slack's limits are per workspace: every deliverer waits it out
                self.outbox.pause(delay)
            log.info("job %s: Slack did not take a %s (%s); trying again in %.1f s", job_id, entry.op,
                     _reason(exc), delay)
            self.outbox.retry_head(job_id, Entry(**{**entry.__dict__, "tries": entry.tries + 1}), delay)
            return True
        why = "refused for good" if delay is None else f"not delivered within {self.ttl:g} s"
        log.warning("job %s: a %s is undeliverable (%s: %s)", job_id, entry.op, why, _reason(exc))
        self.outbox.done_with_head(job_id)
        self.outbox.given_up()
        if entry.op == "card" and self.store.thread_of(job_id) is None:
            self.store.set_thread(job_id, "")  # no card will come: later replies go to the response_url
        return False

    def _send(self, entry: Entry, job: JobRequest) -> None:
        if job.private:
            self._private(entry, job)
            return
        sends: dict[str, Callable[[Entry, JobRequest], None]] = {
            "card": self._card, "post": self._post, "file": self._file, "announce": self._announce}
        send = sends.get(entry.op)
        if send is None:
            raise ValueError(f"unknown outbox entry {entry.op!r}")
        send(entry, job)

    def _private(self, entry: Entry, job: JobRequest) -> None:
        """A private job's reports reach its caller alone: texts (results, Docker's errors, a timeout, a
        lost worker) as ephemeral messages, files in a DM. Its card states are not shown (a verb that
        only reads makes no announcement)."""
        if entry.op == "post":
            post_ephemeral(self.client, job, entry.text)
        elif entry.op == "file":
            send_to_dm(self.client, job, content=entry.upload_content(), filename=entry.filename,
                       comment=entry.comment, fallback=entry.text)

    def _card(self, entry: Entry, job: JobRequest) -> None:
        if job.announce_in and job.announce_in == job.channel_id:
            return  # the announcement is this job's card
        status = JobStatus(entry.status)
        thread = self.store.thread_of(job.job_id)
        buttons = [Button.from_dict(b) for b in entry.buttons or ()]
        if thread is None:  # the first card entry posts the card
            ts = post_card(self.client, job, status, elapsed=entry.elapsed, detail=entry.detail,
                           buttons=buttons)
            self.store.set_thread(job.job_id, ts or "")
            if ts is None and entry.text:
                respond(job, entry.text, self.redactor)
        elif thread:
            update_card(self.client, job, status, elapsed=entry.elapsed, detail=entry.detail, buttons=buttons)

    def _announce(self, entry: Entry, job: JobRequest) -> None:
        ts = self.store.announce_of(job.job_id)
        buttons = None if entry.buttons is None else [Button.from_dict(b) for b in entry.buttons]
        if ts is not None:
            announce(self.client, entry.channel, entry.text, ts, buttons)
            return
        ts = announce(self.client, entry.channel, entry.text, buttons=buttons)
        self.store.set_announce(job.job_id, ts)
        if entry.channel == job.channel_id and self.store.thread_of(job.job_id) is None:
            self.store.set_thread(job.job_id, ts)  # no card: the job's thread is the announcement's

    def _in_announcement(self, job: JobRequest) -> JobRequest | None:
        """The job as seen from its announcement's thread (None: not posted, the entry is dropped)."""
        ts = self.store.announce_of(job.job_id)
        return replace(job, channel_id=job.announce_in, thread_ts=ts, response_url=None) if ts else None

    def _post(self, entry: Entry, job: JobRequest) -> None:
        target = self._in_announcement(job) if entry.to == "announce" else job
        if target is not None:
            post_in_thread(self.client, target, entry.text)

    def _file(self, entry: Entry, job: JobRequest) -> None:
        if entry.to == "announce":
            target = self._in_announcement(job)
            if target is not None:
                upload(self.client, target, content=entry.upload_content(), filename=entry.filename,
                       comment=entry.comment)
            return
        if job.thread_ts is None:
            respond(job, entry.text, self.redactor)
        else:
            upload(self.client, job, content=entry.upload_content(), filename=entry.filename,
                   comment=entry.comment)


def _rate_limited(exc: Exception) -> bool:
    """A Web API 429 (a response_url's own limit is its own: 5 posts per URL)."""
    return isinstance(exc, SlackApiError) and exc.response.status_code == 429


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return f"HTTP {exc.response.status_code} {exc.response.get('error')}"
    return f"{type(exc).__name__}: {exc}"
