"""What `stats` says: CLI rows from ``Sample``s, rankings, where the numbers came from, a chart's figures.

Pure functions. Rows are formatted exactly like ``workers.formatting.stats_row`` formats a raw sample
(the CLI's go-units sizes and two-decimal percentages).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dockbolt.core.stathistory import Sample
from workers import messages
from workers.formatting import StatsRow, bytes_size, human_size, percent

MIB = 1024.0 * 1024.0


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


def head(n: int, *, age: float | None, sort: str = "", limit: int = 0) -> str:
    """The line above the table: how many, from where (``age`` of the watcher's samples; None: live)."""
    if not n:
        return "No stats."
    source = "one sample each" if age is None else f"from the watcher's samples, {age:.0f} s old"
    text = f"Stats for {messages.count_noun(n, 'container')} ({source})."
    return f"{text} {order_note(sort, limit)}" if sort else text


def order_note(sort: str, limit: int) -> str:
    """How a ranking is ordered and cut."""
    return f"Heaviest first by {'CPU' if sort == 'cpu' else 'memory'} ({f'top {limit}' if limit else 'all'})."


def chart_title(name: str, since: int) -> str:
    """The chart's title: the container and the range."""
    return f"{name} — CPU and memory, last {_span(since)} (UTC)"


def chart_text(name: str, since: int, samples: Sequence[Sample]) -> str:
    """The message above the chart: min/avg/max of CPU % and memory over the range."""
    cpu = [s.cpu for s in samples]
    mem = [s.mem / MIB for s in samples]
    return (f"`{name}`, last {_span(since)}: {len(samples):,} points.\n"
            f"CPU %: min {min(cpu):.2f}, avg {sum(cpu) / len(cpu):.2f}, max {max(cpu):.2f}\n"
            f"memory (MiB): min {min(mem):.1f}, avg {sum(mem) / len(mem):.1f}, max {max(mem):.1f}")


def no_history(name: str, since: int, watched: bool) -> str:
    """Why there is no chart."""
    if not watched:
        return ("No stats history on this host: no watcher has recorded any (`dockbolt watch`, started by "
                "`dockbolt up`).")
    return f"No stats history for `{name}` in the last {_span(since)}: the watcher has no sample of it yet."


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
