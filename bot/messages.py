"""Every user-facing string the bot sends (acks, errors, fallbacks), as small pure functions."""

from __future__ import annotations

from dockbolt.core.contract import JobRequest
from dockbolt.core.errors import UsageError


def usage_error(err: UsageError, command: str) -> str:
    """A private answer to a malformed command: what is wrong, then the verb's usage line."""
    text = f":warning: {err}"
    if err.usage:
        text += f"\nUsage: `{command} {err.usage}`"
    return text


def accepted(job: JobRequest) -> str:
    """The private ack for a queued command; the console finds the job id in it."""
    return (f":inbox_tray: `{job.command} {job.command_text}` accepted as job `{job.job_id}` — follow it "
            "in the thread.")


def not_in_channel(command: str) -> str:
    """Told (via response_url) when the bot may not post its job card in this channel."""
    return (f":information_source: I can't post in this channel, so `{command}` results will arrive here "
            "instead of a thread. Invite me (`/invite @dockbolt`) to get job cards and files.")


def queue_unavailable(job_id: str) -> str:
    """Told when the job could not be queued (Redis down)."""
    return f":x: Job `{job_id}` could not be queued: the job queue (Redis) is unreachable. Nothing was run."


def internal_error() -> str:
    """The ack when the bot itself failed while handling a command."""
    return ":x: Something went wrong in dockbolt while handling that command; nothing was run. It is logged."
