"""Reports a job into Slack: card updates, thread replies, long output as files.

Slack limits drive the shape: a section text holds 3,000 characters and a message ≈ 13k of blocks, so
anything longer goes into the thread as a file (``files_upload_v2``) with a short preview. When the card
could not be posted (bot not in the channel) the job has no thread: replies go to ``response_url``
instead (at most 5 posts in 30 minutes, so only the result is sent there).

Secrets are masked first, on the whole reply, before it is escaped, measured, cut into a preview or
uploaded: a preview never starts inside a private key whose head was masked, and an escaped ``&`` never
ends a masked value early.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.jobstore import JobStore
from dockbolt.core.jobthread import post_card, post_in_thread, respond, update_card
from dockbolt.core.mrkdwn import code_block, escape
from dockbolt.core.slack_client import redactor_of
from workers.reply import Reply

log = logging.getLogger(__name__)

INLINE_MAX_CHARS = 2_800  # below Slack's 3,000-character section limit, leaving room for the fences
INLINE_MAX_LINES = 40
PREVIEW_LINES = 8
PROGRESS_EVERY = 3.0  # seconds between card edits: chat.update is Tier 3 (≈ 50/min per workspace)


class ThreadReporter:
    """Posts one job's card updates and output into its thread (or its response_url)."""

    def __init__(self, client: WebClient, job: JobRequest) -> None:
        self.client = client
        self.job = job
        self.redactor = redactor_of(client)
        self._last_progress = 0.0
        self._lock = threading.Lock()

    @property
    def threaded(self) -> bool:
        """True when the job has a card (and so a thread) to report into."""
        return self.job.thread_ts is not None

    def card(self, status: JobStatus, *, elapsed: float | None = None, detail: str = "") -> None:
        """Edit the job card in place to show ``status``."""
        update_card(self.client, self.job, status, elapsed=elapsed, detail=detail)

    def progress(self, text: str) -> None:
        """Show a progress line on the card, at most once every few seconds."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_progress < PROGRESS_EVERY:
                return
            self._last_progress = now
        self.card(JobStatus.RUNNING, detail=text)

    def post(self, text: str) -> None:
        """Post a message into the job's thread (or to response_url when there is no thread)."""
        post_in_thread(self.client, self.job, text)

    def reply(self, reply: Reply) -> None:
        """Deliver a handler's Reply: inline when it fits, otherwise as a file with a preview."""
        body = self.redactor.redact_command(reply.body) if reply.body else reply.body
        # Handler text may quote Docker ("<none>", "a & b"): never let it become Slack markup or a mention.
        reply = dataclasses.replace(reply, text=escape(self.redactor.redact_command(reply.text)))
        if not body:
            self.post(reply.text)
            return
        lines = body.splitlines()
        fits = len(body) <= INLINE_MAX_CHARS and len(lines) <= INLINE_MAX_LINES
        if fits:
            self.post(f"{reply.text}\n{code_block(body)}")
            return
        if not self.threaded:
            head = "\n".join(lines[:PREVIEW_LINES])
            respond(self.job, f"{reply.text}\n{code_block(head)}\n_{len(lines)} lines; the full output "
                          "needs the bot in this channel (invite it to get files)._", self.redactor)
            return
        preview = "\n".join(lines[-PREVIEW_LINES:]) if lines else ""
        comment = (f"{reply.text}\n_{len(lines):,} lines, {len(body.encode()):,} bytes — full output in "
                   f"the file; last {min(PREVIEW_LINES, len(lines))} lines:_\n{code_block(preview)}")
        self.client.files_upload_v2(channel=self.job.channel_id, thread_ts=self.job.thread_ts,
                                    content=body, filename=reply.filename, title=reply.filename,
                                    initial_comment=comment[:3_900])


CARD_WAIT = 5.0  # seconds a worker waits for the card the bot is posting before it reports without one


def with_card(client: WebClient, store: JobStore, job: JobRequest, *, wait: float = CARD_WAIT) -> JobRequest:
    """The job with its thread: the card the bot posted, or the one this worker posts now if it got there
    first (``JobStore.claim_card``: one of them posts it), or none (reports go to the response_url).

    The job does not wait on Slack: a card that cannot be posted is logged and the job runs anyway.
    """
    if job.thread_ts is not None:
        return job
    if store.claim_card(job.job_id):
        try:
            ts = post_card(client, job, JobStatus.RUNNING)
        except (SlackApiError, OSError) as exc:
            log.warning("job %s: could not post its card (%s); reporting without one", job.job_id, exc)
            ts = None
        store.set_thread(job.job_id, ts or "")
        return dataclasses.replace(job, thread_ts=ts)
    deadline = time.monotonic() + wait
    while (ts := store.thread_of(job.job_id)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return dataclasses.replace(job, thread_ts=ts or None)
