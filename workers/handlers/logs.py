"""``logs [--tail N] [--since T] [-t] NAME``: a container's output, newest part if it is huge."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from dockbolt.core.errors import ContractError
from workers import messages
from workers.handlers.base import HandlerContext
from workers.reply import Reply

# Enough for any log a person will read in Slack; the engine's log can be gigabytes.
MAX_LOG_BYTES = 2 * 1024 * 1024
# Above this many lines the body goes to a file rather than an inline code block.
INLINE_MAX_LINES = 40


def resolve_since(since: Any, now: float) -> int | None:
    """Turn the contract's ``since`` into unix seconds; relative ones count back from ``now``."""
    if since is None:
        return None
    if isinstance(since, Mapping):
        kind, seconds, unix = since.get("kind"), since.get("seconds"), since.get("unix")
        # Floor: the engine takes whole seconds, and one line too many beats one too few.
        if kind == "relative" and isinstance(seconds, int) and not isinstance(seconds, bool):
            return math.floor(now - seconds)
        if kind == "absolute" and isinstance(unix, int | float) and not isinstance(unix, bool):
            return math.floor(unix)
    raise ContractError(f"malformed 'since': {since!r}")


def handle(ctx: HandlerContext, args: Mapping[str, Any]) -> Reply:
    """Fetch the log (``tail`` lines, ``since`` a time) and return it as the body, ``NAME.log``."""
    name = args.get("name")
    tail = args.get("tail")
    if not isinstance(name, str) or not name:
        raise ContractError(f"'name' must be a non-empty string, got {name!r}")
    if tail is not None and (not isinstance(tail, int) or isinstance(tail, bool) or tail < 0):
        raise ContractError(f"'tail' must be a non-negative integer or null, got {tail!r}")
    since = resolve_since(args.get("since"), time.time())
    # One byte more than we keep tells us whether anything older was cut.
    data = ctx.docker.logs(
        name,
        tail=tail,
        since_unix=since,
        timestamps=bool(args.get("timestamps")),
        max_bytes=MAX_LOG_BYTES + 1,
    )
    truncated = len(data) > MAX_LOG_BYTES
    if truncated:
        data = data[-MAX_LOG_BYTES:]
        # Drop the partial first line (it may also start inside a multi-byte character).
        data = data[data.find(b"\n") + 1 :] if b"\n" in data else data
    text = data.decode("utf-8", errors="replace")
    lines = len(text.splitlines())
    return Reply(
        text=messages.logs_summary(name, lines, truncated),
        body=text or None,
        filename=messages.safe_filename(name, ".log"),
        force_file=lines > INLINE_MAX_LINES,
    )
