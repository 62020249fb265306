"""`ps`: list containers (running only, or all with `-a`), optionally filtered like `docker ps --filter`."""

from __future__ import annotations

from typing import Any

from bot.verbs.base import Flag, VerbSpec
from bot.verbs.values import key_value
from dockbolt.core.args import PsArgs
from dockbolt.core.mrkdwn import code

FILTER_KEYS = ("name", "label", "status")
STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def parse_filter(raw: str) -> tuple[str, str]:
    """Check one `--filter KEY=VALUE` (keys name, label, status; statuses as docker knows them)."""
    key, value = key_value(raw, "a filter")
    if key not in FILTER_KEYS:
        raise ValueError(f"unsupported filter {code(key)} (use name=…, label=… or status=…)")
    if not value:
        raise ValueError(f"filter {code(key)} needs a value")
    if key == "status" and value not in STATUSES:
        raise ValueError(f"unknown status {code(value)} (one of {', '.join(STATUSES)})")
    return key, value


def build(flags: dict[str, Any], positionals: list[str]) -> PsArgs:
    """Build ps args: `all` and the given filters grouped by key, in the order typed."""
    filters: dict[str, tuple[str, ...]] = {}
    for key, value in flags["filters"]:
        filters[key] = (*filters.get(key, ()), value)
    return PsArgs(all=flags["all"], filters=filters)


SPECS = (
    VerbSpec(
        name="ps",
        summary="List containers (running ones; `-a` for all)",
        usage="ps [-a|--all] [-f|--filter name=…|label=…|status=…]…",
        default_role="viewer",
        flags=(
            Flag(("-a", "--all"), "all"),
            Flag(("-f", "--filter"), "filters", "multi", "KEY=VALUE", parse_filter),
        ),
        build=build,
        timeout=60,
        fans_out=True,
    ),
)
