"""`stats`: CPU/memory/network usage now (like `docker stats --no-stream`), ranked, or charted over time.

- ``stats [NAME…]``: one row per container, from the watcher's latest samples when they are fresh;
- ``stats --sort cpu|mem [-n N]``: the heaviest containers first, the top N;
- ``stats NAME --since 6h``: a PNG chart of its CPU % and memory over that time, with min/avg/max.
"""

from __future__ import annotations

from typing import Any

from bot.verbs.base import Flag, VerbSpec
from bot.verbs.values import container_refs, duration, whole_number
from dockbolt.core.args import StatsArgs

SORT_KEYS = ("cpu", "mem")


def parse_sort(raw: str) -> str:
    """Parse `--sort`: `cpu` or `mem`."""
    if raw not in SORT_KEYS:
        raise ValueError("must be `cpu` or `mem`")
    return raw


def parse_limit(raw: str) -> int:
    """Parse `-n`: how many containers to show, at least 1."""
    n = whole_number(raw)
    if n < 1:
        raise ValueError("must be a whole number ≥ 1")
    return n


def build(flags: dict[str, Any], positionals: list[str]) -> StatsArgs:
    """Build stats args: the NAMEs (none: every running container), a chart's range or a ranking."""
    names = container_refs(positionals)
    since, sort, limit = flags["since"], flags["sort"] or "", flags["limit"] or 0
    if since is not None:
        if len(names) != 1:
            raise ValueError("`--since` charts one container: give exactly one NAME")
        if sort or limit:
            raise ValueError("`--since` draws a chart: it does not combine with `--sort` or `-n`")
    if limit and not sort:
        raise ValueError("`-n` limits a ranking: use it with `--sort cpu|mem`")
    return StatsArgs(names, since=since, sort=sort, limit=limit)


SPECS = (
    VerbSpec(
        name="stats",
        summary="Show CPU/memory/network usage (all running containers when no NAME), ranked or charted",
        usage="stats [NAME…] [--sort cpu|mem [-n N]] | stats NAME --since DURATION",
        default_role="viewer",
        flags=(
            Flag(("--since",), "since", "value", "DURATION", duration),
            Flag(("--sort",), "sort", "value", "cpu|mem", parse_sort),
            Flag(("-n", "--limit"), "limit", "value", "N", parse_limit),
        ),
        max_positionals=None,
        build=build,
        timeout=60,
        fans_out=True,
    ),
)
