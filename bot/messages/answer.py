"""What the bot answers a command with, privately: text and, when it has any, Block Kit blocks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    """A private answer to a slash command: its text, and Block Kit blocks when it has any."""

    text: str
    blocks: list[dict[str, Any]] | None = None
