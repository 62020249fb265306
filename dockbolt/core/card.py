"""The job card: one root message per accepted command, edited in place as the job progresses.

Built by the bot (queued), the worker (running, done, failed, timed out) and the reaper (lost), so it
lives in the shared core. The card's Slack ``metadata`` carries the job id and status in machine-readable
form (the console and tests read it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FINAL_STATUSES = frozenset({"done", "failed", "timed_out", "lost"})
_ICONS = {
    "queued": ":hourglass_flowing_sand:",
    "running": ":gear:",
    "done": ":white_check_mark:",
    "failed": ":x:",
    "timed_out": ":alarm_clock:",
    "lost": ":skull:",
}
_WORDS = {
    "queued": "queued",
    "running": "running",
    "done": "done",
    "failed": "failed",
    "timed_out": "timed out",
    "lost": "lost (worker died)",
}


@dataclass(frozen=True)
class Card:
    """The pieces of a chat.postMessage / chat.update call for a job card."""

    text: str
    blocks: list[dict[str, Any]]
    metadata: dict[str, Any]


def format_elapsed(seconds: float) -> str:
    """Return a short human duration: 0.4 s, 12 s, 3 min 5 s."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs} s"


def _escape(text: str) -> str:
    # Slack mrkdwn control characters; user text must never become a mention or a link.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_card(
    *,
    job_id: str,
    user_id: str,
    command: str,
    command_text: str,
    status: str,
    elapsed: float | None = None,
    detail: str = "",
) -> Card:
    """Build the card for a job in ``status`` (queued, running, done, failed, timed_out, lost)."""
    icon = _ICONS.get(status, ":grey_question:")
    word = _WORDS.get(status, status)
    shown = _escape(f"{command} {command_text}".strip())[:2800]
    status_line = f"{icon} *{word}*"
    if elapsed is not None:
        status_line += f" in {format_elapsed(elapsed)}"
    if detail:
        status_line += f" — {_escape(detail)[:500]}"
    text = f"<@{user_id}> ran `{shown}` — {word}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"<@{user_id}> ran `{shown}`"}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"{status_line} · job `{job_id}`"}],
        },
    ]
    metadata = {"event_type": "dockbolt_job", "event_payload": {"job_id": job_id, "status": status}}
    return Card(text=text, blocks=blocks, metadata=metadata)
