"""The bot's metrics: the verb label of a slash command (bounded) and the ack-latency middleware.

The series themselves live in ``dockbolt.core.metrics``; the outcome of each command is counted where it
is decided (``bot.edge`` for refusals before the listener, ``bot.commands`` for the rest).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot.parsing import slack_unescape
from bot.verbs import VERBS
from dockbolt.core.metrics import ACK_SECONDS, Outcome, count_command

UNKNOWN = "unknown"
_HELP_WORDS = ("-h", "--help")


def verb_label(text: str) -> str:
    """The verb a command's text names, when it is a known one; else ``unknown`` (label cardinality stays
    bounded by the verbs, whatever users type)."""
    words = slack_unescape(text).split(maxsplit=1)
    if not words:
        return "help"  # what an empty command runs
    name = words[0].lower()
    name = "help" if name in _HELP_WORDS else name
    return name if name in VERBS else UNKNOWN


def count(text: str, outcome: Outcome) -> None:
    """Count one slash command with ``text`` and ``outcome``."""
    count_command(verb_label(text), outcome)


class AckTimer(Middleware):
    """Observes ``dockbolt_ack_seconds``: from a slash command reaching the app's middleware (signature
    already verified, in HTTP mode) to its ack response being ready, refusals at the edge included."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock

    def process(self, *, req: BoltRequest, resp: BoltResponse,
                next: Callable[[], BoltResponse]) -> BoltResponse | None:
        """Time ``next()`` for slash commands; pass everything else through."""
        if req.lazy_only or "command" not in req.body:
            return next()
        start = self.clock()
        try:
            return next()
        finally:
            ACK_SECONDS.observe(max(0.0, self.clock() - start))
