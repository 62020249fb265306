"""Slack's side of a job's reports: post or edit its card, post into its thread, upload a file.

Only the outbox's deliverer (``dockbolt.core.delivery``) calls these, one entry at a time, in order; errors
are raised for it to sort into "try again later" and "give up". When the job has no thread (the card
could not be posted: the bot is not in the channel) or a thread post is refused for that reason, the
message goes to the command's ``response_url`` instead, visible in channel.

A private job (``JobRequest.private``) has no card and no thread: its texts go to its caller alone as
ephemeral messages (``post_ephemeral``; by response_url, ephemeral too, when the bot may not post in the
channel) and its files into a DM with the caller (``send_to_dm``), with a short ephemeral note.

Texts are masked (``Redactor.redact_command``) before they are cut to Slack's limits, so a cut never
leaves the head of a secret behind; response_url posts do not go through the Web API client, so they are
masked here too.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from dockbolt.core.buttons import Button, actions_block
from dockbolt.core.card import build_card
from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.mrkdwn import escape
from dockbolt.core.redact import Redactor
from dockbolt.core.slack_client import redactor_of

log = logging.getLogger(__name__)

FALLBACK_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
# conversations.open refusals that no retry mends: the file's preview is said ephemerally instead.
NO_DM_ERRORS = frozenset({"missing_scope", "user_not_found", "user_disabled", "cannot_dm_bot",
                          "not_allowed_token_type", "restricted_action"})
TEXT_MAX = 39_000  # Slack truncates `text` at 40,000 characters


class ResponseUrlError(Exception):
    """A response_url post Slack did not take (``status``: its HTTP status, ``retry_after`` if given)."""

    def __init__(self, status: int, body: str, retry_after: float | None = None) -> None:
        super().__init__(f"response_url answered {status}: {body[:200]}")
        self.status, self.retry_after = status, retry_after


def post_card(client: WebClient, job: JobRequest, status: JobStatus, *, elapsed: float | None = None,
              detail: str = "", buttons: Sequence[Button] = ()) -> str | None:
    """Post the job's card (into the thread it was started from, for a click); its ts, or None when the
    channel is closed to the bot (the caller then reports by response_url). Other Slack errors are raised."""
    redactor = redactor_of(client)
    c = build_card(job_id=job.job_id, user_id=job.user_id, command=job.command,
                   command_text=redactor.redact_command(job.command_text), status=status, elapsed=elapsed,
                   detail=redactor.redact_command(detail), host=job.host, buttons=buttons)
    try:
        resp = client.chat_postMessage(channel=job.channel_id, text=c.text, blocks=c.blocks,
                                       metadata=c.metadata, unfurl_links=False,
                                       thread_ts=job.in_thread or None)
    except SlackApiError as exc:
        if exc.response.get("error") not in FALLBACK_ERRORS:
            raise
        log.info("card for job %s not posted (%s); reporting by response_url", job.job_id,
                 exc.response.get("error"))
        return None
    ts = resp.get("ts")
    return str(ts) if ts else None


def update_card(client: WebClient, job: JobRequest, status: JobStatus, *, elapsed: float | None = None,
                detail: str = "", buttons: Sequence[Button] = ()) -> None:
    """Edit the job card in place (nothing to edit without a card)."""
    if job.thread_ts is None:
        return
    redactor = redactor_of(client)
    c = build_card(job_id=job.job_id, user_id=job.user_id, command=job.command,
                   command_text=redactor.redact_command(job.command_text), status=status, elapsed=elapsed,
                   detail=redactor.redact_command(detail), host=job.host, buttons=buttons)
    client.chat_update(channel=job.channel_id, ts=job.thread_ts, text=c.text, blocks=c.blocks,
                       metadata=c.metadata)


def announce(client: WebClient, channel: str, text: str, ts: str | None = None,
             buttons: Sequence[Button] | None = None) -> str:
    """Post an announcement in ``channel`` (or edit the one at ``ts``); its ts. With ``buttons`` (even
    none) it is a Block Kit message: its text in a section, the buttons under it."""
    text = redactor_of(client).redact_command(text)[:TEXT_MAX]
    blocks: dict[str, Any] = {}
    if buttons is not None:
        section = {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}
        blocks = {"blocks": [section, actions_block(buttons)] if buttons else [section]}
    if ts is not None:
        client.chat_update(channel=channel, ts=ts, text=text, **blocks)
        return ts
    resp = client.chat_postMessage(channel=channel, text=text, unfurl_links=False, unfurl_media=False,
                                   **blocks)
    return str(resp.get("ts") or "")


def post_in_thread(client: WebClient, job: JobRequest, text: str) -> None:
    """Post into the job's thread, falling back to response_url when the channel is closed to us."""
    redactor = redactor_of(client)
    text = redactor.redact_command(text)
    if job.thread_ts is None:
        respond(job, text, redactor)
        return
    try:
        client.chat_postMessage(channel=job.channel_id, thread_ts=job.in_thread or job.thread_ts,
                                text=text[:TEXT_MAX],
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
    client.files_upload_v2(channel=job.channel_id, thread_ts=job.in_thread or job.thread_ts,
                           filename=filename, title=filename,
                           initial_comment=comment[:3_900], **data)


def post_ephemeral(client: WebClient, job: JobRequest, text: str) -> None:
    """Show ``text`` to the job's caller alone, in the job's channel (by the command's response_url,
    ephemeral too, when the channel is closed to the bot)."""
    redactor = redactor_of(client)
    text = redactor.redact_command(text)
    try:
        client.chat_postEphemeral(channel=job.channel_id, user=job.user_id, text=text[:TEXT_MAX],
                                  thread_ts=job.in_thread or None)
    except SlackApiError as exc:
        if exc.response.get("error") in FALLBACK_ERRORS | {"user_not_in_channel"} and job.response_url:
            respond(job, text, redactor, ephemeral=True)
        else:
            raise


def dm_note(job: JobRequest, filename: str) -> str:
    """The ephemeral line that tells a private job's caller where its file went."""
    shown = escape(f"{job.command} {job.command_text}")
    return (f":envelope_with_arrow: The output of `{shown}` (job `{job.job_id}`) is long: it is in our DM "
            f"as `{escape(filename)}`.")


def send_to_dm(client: WebClient, job: JobRequest, *, content: str | bytes, filename: str, comment: str,
               fallback: str) -> None:
    """Upload a private job's file into a DM with its caller (``conversations.open``), then say so
    ephemerally in the channel; when no DM can be opened, say ``fallback`` (the preview) instead."""
    try:
        opened = client.conversations_open(users=job.user_id)
    except SlackApiError as exc:
        if exc.response.get("error") not in NO_DM_ERRORS:
            raise
        log.info("job %s: no DM with %s (%s); its preview is shown instead", job.job_id, job.user_id,
                 exc.response.get("error"))
        post_ephemeral(client, job, fallback)
        return
    dm = str((opened.get("channel") or {}).get("id") or "")
    data = {"file": content} if isinstance(content, bytes) else {"content": content}
    client.files_upload_v2(channel=dm, filename=filename, title=filename, initial_comment=comment[:3_900],
                           **data)
    post_ephemeral(client, job, dm_note(job, filename))


def respond(job: JobRequest, text: str, redactor: Redactor | None = None, *, ephemeral: bool = False) -> None:
    """Post to the command's response_url (in channel, or to the caller alone when ``ephemeral``),
    masked; logs when there is none. A refusal is raised as ``ResponseUrlError`` (Slack allows 5 posts in
    30 minutes per response_url)."""
    text = (redactor or Redactor()).redact_command(text)
    if not job.response_url:
        log.warning("job %s has neither a thread nor a response_url; dropped: %s", job.job_id, text[:200])
        return
    shown_to = "ephemeral" if ephemeral else "in_channel"
    resp = WebhookClient(job.response_url, timeout=10).send(text=text[:TEXT_MAX], response_type=shown_to,
                                                            replace_original=False)
    if resp.status_code >= 300:
        after = {k.lower(): v for k, v in (resp.headers or {}).items()}.get("retry-after")
        raise ResponseUrlError(resp.status_code, str(resp.body),
                               float(after[0] if isinstance(after, list) else after) if after else None)
