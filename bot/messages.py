"""Every user-facing string the bot sends (acks, errors, fallbacks), as small pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dockbolt.core.contract import JobRequest
from dockbolt.core.errors import UsageError

# The accepted ack's block carries the job id in its block_id, for programs (the console, tests): the
# human text is free to change.
ACCEPTED_BLOCK = "dockbolt-accepted"


@dataclass(frozen=True)
class Answer:
    """A private answer to a slash command: its text, and Block Kit blocks when it has any."""

    text: str
    blocks: list[dict[str, Any]] | None = None


def usage_error(err: UsageError, command: str) -> str:
    """A private answer to a malformed command: what is wrong, then the verb's usage line."""
    text = f":warning: {err}"
    if err.usage:
        text += f"\nUsage: `{command} {err.usage}`"
    return text


def accepted(job: JobRequest) -> Answer:
    """The private ack for a queued command; its block_id names the job (see ``accepted_job_id``)."""
    text = (f":inbox_tray: `{job.command} {job.command_text}` accepted as job `{job.job_id}` — follow it "
            "in the thread.")
    block = {"type": "section", "block_id": f"{ACCEPTED_BLOCK}:{job.job_id}",
             "text": {"type": "mrkdwn", "text": text}}
    return Answer(text, [block])


def accepted_job_id(ack: Mapping[str, Any] | None) -> str | None:
    """The job id an ack names when it accepted a job (None for any other answer)."""
    for block in (ack or {}).get("blocks") or ():
        prefix, _, job_id = str(block.get("block_id", "")).partition(":")
        if prefix == ACCEPTED_BLOCK and job_id:
            return job_id
    return None


def not_in_channel(command: str) -> str:
    """Told (via response_url) when the bot may not post its job card in this channel."""
    return (f":information_source: I can't post in this channel, so `{command}` results will arrive here "
            "instead of a thread. Invite me (`/invite @dockbolt`) to get job cards and files.")


def queue_unavailable(job_id: str) -> str:
    """Told when the job could not be queued (Redis down)."""
    return f":x: Job `{job_id}` could not be queued: the job queue (Redis) is unreachable. Nothing was run."


def worker_lost(job_id: str, silent_for: float) -> str:
    """Told in a job's thread when its worker stopped beating (the reaper found it)."""
    return (f":skull: The worker running job `{job_id}` stopped responding (no heartbeat for "
            f"{silent_for:.0f} s): it probably died. The job did not finish; check what it left behind "
            "(e.g. `ps -a`) before running it again.")


def internal_error() -> str:
    """The ack when the bot itself failed while handling a command."""
    return ":x: Something went wrong in dockbolt while handling that command; nothing was run. It is logged."
