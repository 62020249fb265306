"""What a handler returns: a short message and optionally a preformatted body (table, logs, JSON).

The runner decides how it reaches Slack: inline in a code block when small, as a file in the thread
with a short preview when long (Slack refuses sections over 3,000 characters).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    """A handler's result."""

    text: str
    body: str | None = None
    filename: str = "output.txt"
    ok: bool = True
    # A few words the final card shows next to its status ("rolled back: v2 still runs").
    detail: str = ""
