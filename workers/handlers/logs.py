"""``logs [--tail N] [--since T] [-t] NAME``: a container's output, newest part if it is huge.

Secrets in the output are masked by the reporter, on the whole body before it is previewed or uploaded
(a private key whose head fell before the 2 MiB cut included), and again by the Slack client.
"""

from __future__ import annotations

import math
import time

from dockbolt.core.args import LogsArgs, Since
from workers import messages
from workers.docker_port import LogStreamCut
from workers.handlers.base import Handler, HandlerContext
from workers.reply import Reply

# Enough for any log a person will read in Slack; the engine's log can be gigabytes.
MAX_LOG_BYTES = 2 * 1024 * 1024


def resolve_since(since: Since | None, now: float) -> int | None:
    """Turn ``since`` into unix seconds; a relative one counts back from ``now`` (when the job runs)."""
    if since is None:
        return None
    # Floor: the engine takes whole seconds, and one line too many beats one too few.
    if since.seconds_ago is not None:
        return math.floor(now - since.seconds_ago)
    assert since.unix is not None  # Since holds exactly one of the two
    return math.floor(since.unix)


def handle(ctx: HandlerContext, args: LogsArgs) -> Reply:
    """Fetch the log (``tail`` lines, ``since`` a time) and return it as the body, ``NAME.log``.

    A stream the engine did not end cleanly fails the job, with what arrived as the body: the card must
    not say "done" over a log that is not the one asked for (a cut `--tail 100` is not the last 100 lines).
    """
    cut: LogStreamCut | None = None
    try:
        # One byte more than we keep tells us whether anything older was cut.
        data = ctx.docker.logs(
            args.name,
            tail=args.tail,
            since_unix=resolve_since(args.since, time.time()),
            timestamps=args.timestamps,
            max_bytes=MAX_LOG_BYTES + 1,
        )
    except LogStreamCut as exc:
        cut, data = exc, exc.data
        # Only whole lines: the last one may have stopped halfway.
        data = data[: data.rfind(b"\n") + 1]
    truncated = len(data) > MAX_LOG_BYTES
    if truncated:
        data = data[-MAX_LOG_BYTES:]
        # Drop the partial first line (it may also start inside a multi-byte character).
        data = data[data.find(b"\n") + 1 :] if b"\n" in data else data
    text = data.decode("utf-8", errors="replace")
    lines = len(text.splitlines())
    summary = (messages.logs_summary(args.name, lines, truncated) if cut is None
               else messages.logs_cut_short(args.name, lines, truncated, cut.reason))
    return Reply(
        text=summary,
        body=text or None,
        filename=messages.safe_filename(args.name, ".log"),
        ok=cut is None,
        log=True,
    )


HANDLERS = (Handler("logs", LogsArgs, handle),)
