"""What a handler returns: a short message and optionally a preformatted body (table, logs, JSON) or a
binary attachment (a chart).

The runner decides how it reaches Slack: inline in a code block when small, as a file in the thread
with a short preview when long (Slack refuses sections over 3,000 characters); an attachment always goes
as a file named ``filename``, with ``text`` as its comment.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockbolt.core.buttons import Button
from dockbolt.core.tables import Table


@dataclass(frozen=True)
class Reply:
    """A handler's result."""

    text: str
    body: str | None = None
    filename: str = "output.txt"
    ok: bool = True
    # A few words the final card shows next to its status ("rolled back: v2 still runs").
    detail: str = ""
    # Bytes uploaded as they are (a PNG chart): never masked, never previewed.
    attachment: bytes | None = None
    # ``body`` is a log: a long one is previewed by its newest lines (other bodies by their first).
    log: bool = False
    # The cells behind ``body`` when it is a table (`ps @all` merges hosts' tables under a HOST column).
    table: Table | None = None
    # What the final card offers next (Logs, Restart, Stop…): each a command run as whoever clicks it.
    buttons: tuple[Button, ...] = ()
