"""`stats` rows from ``Sample``s and rankings (what the reply says about them is ``workers.messages``).

Pure functions. Rows are formatted exactly like ``workers.formatting.stats_row`` formats a raw sample
(the CLI's go-units sizes and two-decimal percentages).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dockbolt.core.stathistory import Sample
from workers.formatting import StatsRow, bytes_size, human_size, percent


@dataclass(frozen=True)
class Usage:
    """One container's numbers, wherever they came from (the watcher's sample or a live one)."""

    container_id: str
    name: str
    sample: Sample


def row(u: Usage) -> StatsRow:
    """One ``docker stats`` row of ``u``."""
    s = u.sample
    return StatsRow(
        container_id=u.container_id[:12],
        name=u.name or "--",
        cpu=percent(s.cpu),
        mem_usage=f"{bytes_size(s.mem)} / {bytes_size(s.mem_limit)}",
        mem_percent=percent(s.mem / s.mem_limit * 100.0 if s.mem_limit else 0.0),
        net_io=f"{human_size(s.net_rx)} / {human_size(s.net_tx)}",
        block_io=f"{human_size(s.blk_read)} / {human_size(s.blk_write)}",
        pids=f"{s.pids:d}",
    )


def rank(usages: Sequence[Usage], key: str, limit: int = 0) -> list[Usage]:
    """The heaviest first by ``key`` ("cpu" or "mem"), the first ``limit`` (0: all); ties by name."""
    ranked = sorted(usages, key=lambda u: (-(u.sample.cpu if key == "cpu" else u.sample.mem), u.name))
    return ranked[:limit] if limit else ranked
