"""Reports a job into Slack through the outbox: card states, thread replies, long output as files.

Nothing here waits on Slack: each report is written to the job's outbox in Redis (``dockbolt.core.outbox``)
and delivered, in order, by a deliverer (the worker process's own, or the bot's). Slack limits drive the
shape: a section text holds 3,000 characters and a message ≈ 13k of blocks, so anything longer goes into
the thread as a file (``files_upload_v2``) with a short preview; a job without a thread (the bot is not
in the channel) gets only the preview, by response_url (at most 5 posts in 30 minutes).

Secrets are masked first, on the whole reply, before it is escaped, measured, cut into a preview or
written to Redis: a preview never starts inside a private key whose head was masked, and an escaped ``&``
never ends a masked value early.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

from redis.exceptions import RedisError

from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.mrkdwn import code_block, escape
from dockbolt.core.outbox import Outbox
from dockbolt.core.redact import Redactor
from workers.reply import Reply

log = logging.getLogger(__name__)

INLINE_MAX_CHARS = 2_800  # below Slack's 3,000-character section limit, leaving room for the fences
INLINE_MAX_LINES = 40
PREVIEW_LINES = 8
PROGRESS_EVERY = 3.0  # seconds between card edits: chat.update is Tier 3 (≈ 50/min per workspace)


class ThreadReporter:
    """Writes one job's card states and output to its outbox (delivered to its thread or response_url)."""

    def __init__(self, outbox: Outbox, job: JobRequest, redactor: Redactor) -> None:
        self.outbox = outbox
        self.job = job
        self.redactor = redactor
        self._last_progress = 0.0
        self._lock = threading.Lock()

    def card(self, status: JobStatus, *, elapsed: float | None = None, detail: str = "") -> None:
        """Show ``status`` on the job card."""
        detail = self.redactor.redact_command(detail)
        self.outbox.card(self.job.job_id, status, elapsed=elapsed, detail=detail)

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
        if not body:
            self.post(reply.text, to=to)
            return
        lines = body.splitlines()
        if len(body) <= INLINE_MAX_CHARS and len(lines) <= INLINE_MAX_LINES:
            self.post(f"{reply.text}\n{code_block(body)}", to=to)
            return
        head = "\n".join(lines[:PREVIEW_LINES])
        fallback = (f"{reply.text}\n{code_block(head)}\n_{len(lines)} lines; the full output needs the bot "
                    "in this channel (invite it to get files)._")
        preview = "\n".join(lines[-PREVIEW_LINES:]) if lines else ""
        comment = (f"{reply.text}\n_{len(lines):,} lines, {len(body.encode()):,} bytes — full output in "
                   f"the file; last {min(PREVIEW_LINES, len(lines))} lines:_\n{code_block(preview)}")
        self.outbox.file(self.job.job_id, content=body, filename=reply.filename, comment=comment[:3_900],
                         fallback=fallback, to=to)
