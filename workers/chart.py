"""A PNG chart of a container's stats history for `stats NAME --since …`: CPU % and memory over time.

matplotlib's object API on the Agg canvas (``Figure`` + ``FigureCanvasAgg``): no pyplot, no global state,
no display. It is imported inside ``render_png`` because importing it costs ≈ 0.5 s and only charts need
it. 1000×600 px reads well in Slack's preview; times are UTC, the axes say so.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime

from dockbolt.core.stathistory import Sample

WIDTH, HEIGHT, DPI = 1000, 600, 100
MIB = 1024.0 * 1024.0


def render_png(title: str, samples: Sequence[Sample]) -> bytes:
    """The chart as PNG bytes: CPU % above, memory (MiB, with the limit when one is set) below."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    cpu_ax, mem_ax = fig.subplots(2, 1, sharex=True)
    times = [datetime.fromtimestamp(s.t, UTC) for s in samples]
    cpu_ax.plot(times, [s.cpu for s in samples], color="tab:blue", linewidth=1.2, label="CPU %")
    cpu_ax.set_ylabel("CPU %")
    cpu_ax.set_ylim(bottom=0)
    mem_ax.plot(times, [s.mem / MIB for s in samples], color="tab:orange", linewidth=1.2, label="memory")
    mem_ax.set_ylabel("memory (MiB)")
    limits = [s.mem_limit for s in samples if s.mem_limit > 0]
    peak = max((s.mem for s in samples), default=0.0)
    # An unlimited container's "limit" is the host's memory: drawn, it would flatten the usage line.
    if limits and limits[-1] <= 4 * peak:
        mem_ax.axhline(limits[-1] / MIB, color="tab:red", linestyle="--", linewidth=1, label="limit")
        mem_ax.legend(loc="upper left")
    mem_ax.set_ylim(bottom=0)  # after the limit line: a fixed bottom stops autoscaling to it
    locator = AutoDateLocator(tz=UTC)  # type: ignore[no-untyped-call]
    mem_ax.xaxis.set_major_locator(locator)
    mem_ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=UTC))  # type: ignore[no-untyped-call]
    mem_ax.set_xlabel("time (UTC)")
    for ax in (cpu_ax, mem_ax):
        ax.grid(True, alpha=0.3)
    fig.suptitle(title)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
