"""`ps`: list containers (running only, or all with `-a`), optionally filtered like `docker ps --filter`, as
a compact table, docker's own (`--format table`) or a `{{.Field}}` template (`--format '{{.Names}}'`)."""

from __future__ import annotations

from typing import Any

from bot.verbs.base import Flag, VerbSpec
from bot.verbs.values import key_value
from dockbolt.core import goformat
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


def check_format(raw: str) -> str:
    """Check `--format`: `table`, or a template of `{{.Field}}` placeholders over docker's ps fields."""
    return goformat.check(raw, goformat.PS_FIELDS, goformat.PS_NOT_YET)


def build(flags: dict[str, Any], positionals: list[str]) -> PsArgs:
    """Build ps args: `all`, the given filters grouped by key (in the order typed) and the format."""
    filters: dict[str, tuple[str, ...]] = {}
    for key, value in flags["filters"]:
        filters[key] = (*filters.get(key, ()), value)
    return PsArgs(all=flags["all"], filters=filters, format=flags["format"] or "")


SPECS = (
    VerbSpec(
        name="ps",
        summary="List containers (running ones; `-a` for all; `--format table` for docker's own layout)",
        usage="ps [-a|--all] [-f|--filter name=…|label=…|status=…]… "
              "[--format table|'{{.Names}} {{.Status}}'|'table {{.Names}}\\t{{.Ports}}']",
        default_role="viewer",
        flags=(
            Flag(("-a", "--all"), "all"),
            Flag(("-f", "--filter"), "filters", "multi", "KEY=VALUE", parse_filter),
            Flag(("--format",), "format", "value", "FORMAT", check_format),
        ),
        build=build,
        timeout=60,
        fans_out=True,
    ),
)
