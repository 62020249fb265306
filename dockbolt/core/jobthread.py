"""Slack's side of a job's reports: post or edit its card, post into its thread, upload a file.

Only the outbox's deliverer (``dockbolt.core.delivery``) calls these, one entry at a time, in order; errors
are raised for it to sort into "try again later" and "give up". When the job has no thread (the card
could not be posted: the bot is not in the channel) or a thread post is refused for that reason, the
message goes to the command's ``response_url`` instead, visible in channel.

Texts are masked (``Redactor.redact_command``) before they are cut to Slack's limits, so a cut never
leaves the head of a secret behind; response_url posts do not go through the Web API client, so they are
masked here too.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from dockbolt.core.card import build_card
from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.redact import Redactor
from dockbolt.core.slack_client import redactor_of

log = logging.getLogger(__name__)

FALLBACK_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
TEXT_MAX = 39_000  # Slack truncates `text` at 40,000 characters


class ResponseUrlError(Exception):
    """A response_url post Slack did not take (``status``: its HTTP status, ``retry_after`` if given)."""

    def __init__(self, status: int, body: str, retry_after: float | None = None) -> None:
        super().__init__(f"response_url answered {status}: {body[:200]}")
        self.status, self.retry_after = status, retry_after


def post_card(client: WebClient, job: JobRequest, status: JobStatus, *, elapsed: float | None = None,
              detail: str = "") -> str | None:
    """Post the job's card; its ts, or None when the channel is closed to the bot (the caller then reports
    by response_url). Other Slack errors are raised."""
    redactor = redactor_of(client)
    c = build_card(job_id=job.job_id, user_id=job.user_id, command=job.command,
                   command_text=redactor.redact_command(job.command_text), status=status, elapsed=elapsed,
                   detail=redactor.redact_command(detail), host=job.host)
    try:
        resp = client.chat_postMessage(channel=job.channel_id, text=c.text, blocks=c.blocks,
                                       metadata=c.metadata, unfurl_links=False)
    except SlackApiError as exc:
        if exc.response.get("error") not in FALLBACK_ERRORS:
            raise
        log.info("card for job %s not posted (%s); reporting by response_url", job.job_id,
                 exc.response.get("error"))
        return None
    ts = resp.get("ts")
    return str(ts) if ts else None


def update_card(client: WebClient, job: JobRequest, status: JobStatus, *, elapsed: float | None = None,
                detail: str = "") -> None:
    """Edit the job card in place (nothing to edit without a card)."""
    if job.thread_ts is None:
        return
    redactor = redactor_of(client)
    c = build_card(job_id=job.job_id, user_id=job.user_id, command=job.command,
                   command_text=redactor.redact_command(job.command_text), status=status, elapsed=elapsed,
                   detail=redactor.redact_command(detail), host=job.host)
    client.chat_update(channel=job.channel_id, ts=job.thread_ts, text=c.text, blocks=c.blocks,
                       metadata=c.metadata)


def announce(client: WebClient, channel: str, text: str, ts: str | None = None) -> str:
    """Post an announcement in ``channel`` (or edit the one at ``ts``); its ts."""
    text = redactor_of(client).redact_command(text)[:TEXT_MAX]
    if ts is not None:
        client.chat_update(channel=channel, ts=ts, text=text)
        return ts
    resp = client.chat_postMessage(channel=channel, text=text, unfurl_links=False, unfurl_media=False)
    return str(resp.get("ts") or "")


def post_in_thread(client: WebClient, job: JobRequest, text: str) -> None:
    """Post into the job's thread, falling back to response_url when the channel is closed to us."""
    redactor = redactor_of(client)
    text = redactor.redact_command(text)
    if job.thread_ts is None:
        respond(job, text, redactor)
        return
    try:
        client.chat_postMessage(channel=job.channel_id, thread_ts=job.thread_ts, text=text[:TEXT_MAX],
                                unfurl_links=False, unfurl_media=False)
    except SlackApiError as exc:
        if exc.response.get("error") in FALLBACK_ERRORS and job.response_url:
            respond(job, text, redactor)
        else:
            raise


def upload(client: WebClient, job: JobRequest, *, content: str | bytes, filename: str, comment: str) -> None:
    """Upload ``content`` (text, or bytes: a binary file) as a file into the job's thread, with ``comment``
    above it."""
    data = {"file": content} if isinstance(content, bytes) else {"content": content}
    client.files_upload_v2(channel=job.channel_id, thread_ts=job.thread_ts, filename=filename, title=filename,
                           initial_comment=comment[:3_900], **data)


def respond(job: JobRequest, text: str, redactor: Redactor | None = None) -> None:
    """Post to the command's response_url (in channel), masked; logs when there is none. A refusal is
    raised as ``ResponseUrlError`` (Slack allows 5 posts in 30 minutes per response_url)."""
    text = (redactor or Redactor()).redact_command(text)
    if not job.response_url:
        log.warning("job %s has neither a thread nor a response_url; dropped: %s", job.job_id, text[:200])
        return
    resp = WebhookClient(job.response_url, timeout=10).send(text=text[:TEXT_MAX], response_type="in_channel",
                                                            replace_original=False)
    if resp.status_code >= 300:
        after = {k.lower(): v for k, v in (resp.headers or {}).items()}.get("retry-after")
        raise ResponseUrlError(resp.status_code, str(resp.body),
                               float(after[0] if isinstance(after, list) else after) if after else None)
