"""`jobs`: the caller's recent jobs, newest first. Answered by the bot."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.verbs.base import LocalContext, VerbSpec
from dockbolt.core.mrkdwn import code, escape

# Keeps the answer well inside one Slack message.
MAX_SHOWN = 20


def _duration(seconds: float) -> str:
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def _line(job: dict[str, Any]) -> str:
    queued = datetime.fromtimestamp(job["queued_at"], UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    took = "" if job.get("ended_at") is None else f" · took {_duration(job['ended_at'] - job['queued_at'])}"
    return (
        f"• {code(escape(str(job['job_id'])))} {code(escape(job['command_text']))} — "
        f"*{escape(str(job['status']))}* · queued {queued}{took} · <#{escape(str(job['channel_id']))}>"
    )


def answer(ctx: LocalContext) -> str:
    """List recent jobs newest first, or say there are none."""
    jobs = sorted(ctx.recent_jobs(), key=lambda job: job["queued_at"], reverse=True)
    if not jobs:
        return "No recent jobs."
    lines = ["*Recent jobs* (newest first):"] + [_line(job) for job in jobs[:MAX_SHOWN]]
    if len(jobs) > MAX_SHOWN:
        lines.append(f"…and {len(jobs) - MAX_SHOWN} older")
    return "\n".join(lines)


SPECS = (
    VerbSpec(
        name="jobs",
        summary="List your recent jobs and their status",
        usage="jobs",
        default_role="viewer",
        answer=answer,
    ),
)
