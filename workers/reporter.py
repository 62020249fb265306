"""Reports a job into Slack through the outbox: card states, thread replies, long output as files.

Nothing here waits on Slack: each report is written to the job's outbox in Redis (``dockbolt.core.outbox``)
and delivered, in order, by a deliverer (the worker process's own, or the bot's). Long output goes into
the thread as a file with a short preview (``dockbolt.core.output``).

Secrets are masked first, on the whole reply, before it is escaped, measured, cut into a preview or
written to Redis: a preview never starts inside a private key whose head was masked, and an escaped ``&``
never ends a masked value early.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Sequence

from redis.exceptions import RedisError

from dockbolt.core.buttons import Button
from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.fanout import Part
from dockbolt.core.jobstore import JobStore
from dockbolt.core.mrkdwn import escape
from dockbolt.core.outbox import Outbox
from dockbolt.core.output import write_output
from dockbolt.core.redact import Redactor
from dockbolt.core.tables import Table
from workers.reply import Reply

log = logging.getLogger(__name__)

PROGRESS_EVERY = 3.0  # seconds between card edits: chat.update is Tier 3 (≈ 50/min per workspace)
# The card says "running" only for a job still running this long after it started: a quick one goes from
# "queued" to its result in one edit (half the chat.update calls), and the edit costs it nothing meanwhile.
RUNNING_AFTER = 1.0


class ThreadReporter:
    """Writes one job's card states and output to its outbox (delivered to its thread or response_url)."""

    def __init__(self, outbox: Outbox, job: JobRequest, redactor: Redactor) -> None:
        self.outbox = outbox
        self.job = job
        self.redactor = redactor
        self._last_progress = 0.0
        self._lock = threading.Lock()
        self._edit = threading.RLock()  # a held-back "running" edit and any other card edit, one at a time
        self._running: threading.Timer | None = None

    def card(self, status: JobStatus, *, elapsed: float | None = None, detail: str = "",
             buttons: Sequence[Button] = ()) -> None:
        """Show ``status`` on the job card, with ``buttons`` under it (a held-back "running" is dropped)."""
        detail = self.redactor.redact_command(detail)
        with self._edit:
            self.no_running()
            self.outbox.card(self.job.job_id, status, elapsed=elapsed, detail=detail, buttons=buttons)

    def running_soon(self, after: float = RUNNING_AFTER) -> None:
        """Show "running" on the card in ``after`` seconds, unless a card edit or ``no_running`` comes
        first."""
        timer = threading.Timer(after, self._show_running)
        timer.daemon = True
        with self._edit:
            self._running = timer
        timer.start()

    def no_running(self) -> None:
        """Drop a held-back "running" edit; one being written has been written when this returns (so a
        later edit, the final one, always comes after it)."""
        with self._edit:
            if self._running is not None:
                self._running.cancel()
                self._running = None

    def _show_running(self) -> None:
        with self._edit:
            if self._running is None:  # dropped meanwhile
                return
            self._running = None
            try:
                self.card(JobStatus.RUNNING)
            except RedisError as exc:  # the job goes on; its final edit will say more
                log.warning("job %s: could not show it running (%s)", self.job.job_id, exc)

    def progress(self, text: str) -> None:
        """Show a progress line on the card, at most once every few seconds."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_progress < PROGRESS_EVERY:
                return
            self._last_progress = now
        try:
            self.card(JobStatus.RUNNING, detail=text)
        except RedisError as exc:  # a progress line is worth no failed job
            log.warning("job %s: progress not written (%s)", self.job.job_id, exc)

    def post(self, text: str, *, to: str = "") -> None:
        """Post a message into the job's thread (or to response_url when there is no thread); with
        ``to="announce"``, into the thread of the job's announcement."""
        self.outbox.post(self.job.job_id, self.redactor.redact_command(text), to=to)

    def announce(self, channel: str, text: str) -> None:
        """Post (then edit in place) the job's announcement in ``channel``."""
        self.outbox.announce(self.job.job_id, channel, self.redactor.redact_command(text))

    def reply(self, reply: Reply, *, to: str = "") -> None:
        """Deliver a handler's Reply: inline when it fits, otherwise as a file with a preview (into the
        announcement's thread with ``to="announce"``)."""
        body = self.redactor.redact_command(reply.body) if reply.body else reply.body
        # Handler text may quote Docker ("<none>", "a & b"): never let it become Slack markup or a mention.
        reply = dataclasses.replace(reply, text=escape(self.redactor.redact_command(reply.text)))
        if reply.attachment is not None:  # bytes the worker made itself (a chart): as they are
            self.outbox.file(self.job.job_id, data=reply.attachment, filename=reply.filename,
                             comment=reply.text[:3_900], fallback=reply.text, to=to)
            return
        write_output(self.outbox, self.job.job_id, reply.text, body, reply.filename, to=to, log=reply.log)


class PartReporter(ThreadReporter):
    """Reports of one host's part of a fan-out (``dockbolt.core.fanout``): nothing goes to Slack; what it
    would have said is kept, masked, and becomes the host's part of the merged reply."""

    def __init__(self, outbox: Outbox, job: JobRequest, redactor: Redactor) -> None:
        super().__init__(outbox, job, redactor)
        self.said: list[str] = []
        self.result: Reply | None = None

    def card(self, status: JobStatus, *, elapsed: float | None = None, detail: str = "",
             buttons: Sequence[Button] = ()) -> None:
        """The parent's card shows the fan-out as running once its first part runs (one card edit)."""
        if (status is JobStatus.RUNNING and not detail
                and JobStore(self.outbox.redis).first_time(self.job.parent, "fan-out running")):
            self.outbox.card(self.job.parent, JobStatus.RUNNING)

    def progress(self, text: str) -> None:
        """Not shown (several hosts would fight over one card)."""

    def post(self, text: str, *, to: str = "") -> None:
        """Kept for the part (an error in Docker's words)."""
        self.said.append(escape(self.redactor.redact_command(text)))

    def announce(self, channel: str, text: str) -> None:
        """Fan-outs announce nothing."""

    def reply(self, reply: Reply, *, to: str = "") -> None:
        """Kept for the part."""
        self.result = reply

    def part(self, host: str, status: JobStatus, detail: str) -> Part:
        """This host's part: its summary and table cells (masked), or what went wrong."""
        r, mask = self.result, self.redactor.redact_command
        if r is None or status is not JobStatus.DONE:
            why = " ".join(self.said) or escape(mask(detail)) or status.value
            return Part(host=host, ok=False, text=why)
        grid = None if r.table is None else Table.of(r.table.headers,
                                                     ([mask(c) for c in row] for row in r.table.rows))
        return Part(host=host, ok=r.ok, text=escape(mask(r.text)), table=grid)
