"""``stats [NAME...]``: one ``docker stats --no-stream`` sample per container, taken in parallel."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dockbolt.core.errors import ContractError, UserError
from workers import messages
from workers.handlers.base import HandlerContext
from workers.reply import Reply
from workers.stats_math import StatsRow, stats_row

# Each sample holds an engine connection for 1-2 s (it waits for a second reading).
MAX_PARALLEL = 16


def handle(ctx: HandlerContext, args: Mapping[str, Any]) -> Reply:
    """Sample the named containers (or every running one) and return the CLI's stats table."""
    names = args.get("names") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ContractError(f"'names' must be a list of strings, got {names!r}")
    if not names:
        names = [c.id for c in ctx.docker.list_containers()]
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
        body=messages.stats_table(rows) if rows else None,
        filename="stats.txt",
        ok=not failed,
    )
