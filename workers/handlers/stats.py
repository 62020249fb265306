"""``stats [NAME...]``: one ``docker stats --no-stream`` sample per container, taken in parallel."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from dockbolt.core.args import StatsArgs
from dockbolt.core.errors import UserError
from workers import formatting, messages
from workers.formatting import StatsRow, stats_row
from workers.handlers.base import Handler, HandlerContext
from workers.reply import Reply

# Each sample holds an engine connection for 1-2 s (it waits for a second reading).
MAX_PARALLEL = 16


def handle(ctx: HandlerContext, args: StatsArgs) -> Reply:
    """Sample the named containers (or every running one) and return the CLI's stats table."""
    names = list(args.names) or [c.id for c in ctx.docker.list_containers() if ctx.visible(c)]
    if not names:
        return Reply(text=messages.ps_summary(0, show_all=False))
    ctx.progress(f"sampling {messages.count_noun(len(names), 'container')}…")
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(names))) as pool:
        futures = [pool.submit(ctx.docker.stats, name) for name in names]
    rows: list[StatsRow] = []
    failed: list[tuple[str, str]] = []
    for name, future in zip(names, futures, strict=True):
        try:
            rows.append(stats_row(future.result()))
        except UserError as exc:  # DockerUnavailable and bugs propagate to the runner
            failed.append((name, str(exc)))
    return Reply(
        text=messages.stats_summary(len(rows), failed),
        body=formatting.stats_table(rows) if rows else None,
        filename="stats.txt",
        ok=not failed,
    )


HANDLERS = (Handler("stats", StatsArgs, handle),)
