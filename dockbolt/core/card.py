"""The job card: one root message per accepted command, edited in place as the job progresses.

Built by the bot (queued), the worker (running, done, failed, timed out) and the reaper (lost), so it
lives in the shared core. The card's Slack ``metadata`` carries the job id and status in machine-readable
form (the console and tests read it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dockbolt.core.buttons import Button, actions_block
from dockbolt.core.contract import JobStatus
from dockbolt.core.mrkdwn import escape

CARD_EVENT_TYPE = "dockbolt_job"  # Slack message metadata event_type of a job card
_ICONS = {
    JobStatus.QUEUED: ":hourglass_flowing_sand:",
    JobStatus.RUNNING: ":gear:",
    JobStatus.DONE: ":white_check_mark:",
    JobStatus.FAILED: ":x:",
    JobStatus.TIMED_OUT: ":alarm_clock:",
    JobStatus.LOST: ":skull:",
}
_WORDS = {
    JobStatus.TIMED_OUT: "timed out",
    JobStatus.LOST: "lost (worker died)",
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


def build_card(
    *,
    job_id: str,
    user_id: str,
    command: str,
    command_text: str,
    status: JobStatus,
    elapsed: float | None = None,
    detail: str = "",
    host: str = "",
    buttons: Sequence[Button] = (),
) -> Card:
    """Build the card for a job in ``status`` (on Docker host ``host``, when it has one), with ``buttons``
    under it."""
    word = _WORDS.get(status, status.value)
    shown = escape(f"{command} {command_text}".strip())[:2800]
    status_line = f"{_ICONS[status]} *{word}*"
    if elapsed is not None:
        status_line += f" in {format_elapsed(elapsed)}"
    if detail:
        status_line += f" — {escape(detail)[:500]}"
    text = f"<@{user_id}> ran `{shown}` — {word}"
    where = f" · on `{escape(host)}`" if host else ""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"<@{user_id}> ran `{shown}`"}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"{status_line}{where} · job `{job_id}`"}],
        },
    ]
    if buttons:
        blocks.append(actions_block(buttons))
    metadata = {"event_type": CARD_EVENT_TYPE, "event_payload": {"job_id": job_id, "status": status.value}}
    return Card(text=text, blocks=blocks, metadata=metadata)
