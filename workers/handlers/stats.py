"""``stats [NAME...] [--sort cpu|mem [-n N]]`` and ``stats NAME --since DURATION``.

Usage now comes from the watcher's latest samples (``StatsHistory.latest``) when every wanted container
has one younger than three sampling intervals: one Redis read instead of one engine sample per container,
each of which waits 1-2 s for a second reading. Otherwise (no watcher on this host, a container started
since its last tick, a name that is not a running container) each is sampled live, in parallel, like
``docker stats --no-stream``. The reply says which it was. Without NAMEs only the containers the caller
may see are listed, either way. ``--since`` charts the history of one container (it must exist: the
worker's authorization checked it) as a PNG in the thread.
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor

from dockbolt.core.args import StatsArgs
from dockbolt.core.errors import TargetNotFound, UserError
from workers import chart, formatting, messages, stats_math, stats_view
from workers.docker_port import ContainerSummary
from workers.handlers.base import Handler, HandlerContext
from workers.reply import Reply
from workers.sampler import to_sample
from workers.stats_view import Usage

# Each live sample holds an engine connection for 1-2 s (it waits for a second reading).
MAX_PARALLEL = 16
FRESH_INTERVALS = 3  # the watcher's samples count as fresh this many sampling intervals


def handle(ctx: HandlerContext, args: StatsArgs) -> Reply:
    """Usage of the named containers (or every running one the caller may see), or a chart."""
    if args.since is not None:
        return _chart(ctx, args.names[0], args.since)
    running = ctx.docker.list_containers()
    wanted = _wanted(ctx, running, args.names) if args.names else [c for c in running if ctx.visible(c)]
    if not wanted and not args.names:
        return Reply(text=messages.ps_summary(0, show_all=False))
    found = _from_history(ctx, wanted) if wanted is not None else None
    if found is not None:
        usages, age = found
        failed: list[tuple[str, str]] = []
        text = messages.stats_head(len(usages), age=age, sort=args.sort, limit=args.limit)
    else:
        usages, failed = _live(ctx, list(args.names) or [c.id for c in wanted or ()])
        text = messages.stats_summary(len(usages), failed)
        if args.sort and usages:
            text += "\n" + messages.stats_order_note(args.sort, args.limit)
    if args.sort:
        usages = stats_view.rank(usages, args.sort, args.limit)
    grid = formatting.stats_table([stats_view.row(u) for u in usages])
    return Reply(text=text, body=grid.render() if grid.rows else None, filename="stats.txt", ok=not failed,
                 table=grid)


def _wanted(ctx: HandlerContext, running: list[ContainerSummary],
            names: tuple[str, ...]) -> list[ContainerSummary] | None:
    """The running containers the NAMEs (names or id prefixes) denote; None when one denotes none or
    several of them, or one the caller may not see (live sampling then asks Docker about that NAME, as
    the worker's authorization did)."""
    out = []
    for name in names:
        hits = [c for c in running if name in c.names or c.id.startswith(name)]
        if len(hits) != 1 or not ctx.visible(hits[0]):
            return None
        out.append(hits[0])
    return out


def _from_history(ctx: HandlerContext, wanted: list[ContainerSummary]) -> tuple[list[Usage], float] | None:
    """The watcher's fresh samples of every wanted container and the age of the oldest, or None."""
    if ctx.stats_history is None or not wanted:
        return None
    now = time.time()
    latest = ctx.stats_history.latest(max_age=FRESH_INTERVALS * ctx.monitor.interval, now=now)
    if not all(c.name in latest for c in wanted):
        return None
    usages = [Usage(c.id, c.name, latest[c.name][1]) for c in wanted]
    return usages, max(0.0, now - min(u.sample.t for u in usages))


def _live(ctx: HandlerContext, names: list[str]) -> tuple[list[Usage], list[tuple[str, str]]]:
    """Sample each container now (in parallel); the usages and, per failed name, Docker's error."""
    ctx.progress(f"sampling {messages.count_noun(len(names), 'container')}…")
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(names))) as pool:
        futures = [pool.submit(ctx.docker.stats, name) for name in names]
    usages: list[Usage] = []
    failed: list[tuple[str, str]] = []
    for name, future in zip(names, futures, strict=True):
        try:
            raw = future.result()
        except UserError as exc:  # DockerUnavailable and bugs propagate to the runner
            failed.append((name, str(exc)))
            continue
        # A stream=False sample carries the engine's own previous reading: CPU % as the CLI computes it.
        sample = dataclasses.replace(to_sample(raw, None, time.time()), cpu=stats_math.cpu_percent(raw))
        raw_name = str(raw.get("name") or "")
        usages.append(Usage(str(raw.get("id") or ""), raw_name[1:] if len(raw_name) > 1 else "", sample))
    return usages, failed


def _chart(ctx: HandlerContext, typed: str, since: int) -> Reply:
    """A PNG of the container's CPU % and memory over the last ``since`` seconds, with min/avg/max."""
    doc = ctx.docker.inspect(typed)
    if "State" not in doc:  # inspect falls back to images; a chart is of a container
        raise TargetNotFound(f"No such container: {typed}")
    name = str(doc.get("Name") or typed).lstrip("/")
    samples = ctx.stats_history.series(name, time.time() - since) if ctx.stats_history is not None else []
    if not samples:
        return Reply(text=messages.stats_no_history(name, since, ctx.stats_history is not None))
    ctx.progress(f"drawing {len(samples):,} points…")
    png = chart.render_png(messages.stats_chart_title(name, since), samples)
    return Reply(text=messages.stats_chart_text(name, since, samples), attachment=png,
                 filename=messages.safe_filename(f"stats-{name}", ".png"))


HANDLERS = (Handler("stats", StatsArgs, handle),)
