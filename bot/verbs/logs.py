"""`logs`: a container's output (last DEFAULT_TAIL lines unless `-n` says otherwise)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.verbs.base import Flag, VerbSpec
from bot.verbs.values import container_ref, whole_number
from dockbolt.core.args import LogsArgs, Since
from dockbolt.core.units import duration_seconds

# docker's default is every line; in a chat thread the recent ones are what people want, `-n all` for more.
DEFAULT_TAIL = 100
_UNIX_RE = re.compile(r"^\d+(?:\.\d+)?\Z")
_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}:\d{2})?\Z")


def parse_tail(raw: str) -> int | str:
    """Parse `--tail`: a number of lines ≥ 0, or `all`."""
    if raw == "all":
        return raw
    try:
        return whole_number(raw)
    except ValueError:
        raise ValueError("must be a number of lines ≥ 0 or `all`") from None


def parse_since(raw: str) -> Since:
    """Parse `--since`: a duration back from now (`10m`, `1h30m`, `2d`) or a point in time."""
    seconds = duration_seconds(raw)
    if seconds is not None:
        if seconds <= 0:
            raise ValueError("the duration must be longer than 0s")
        return Since(seconds_ago=seconds)
    if _UNIX_RE.match(raw):
        return Since(unix=float(raw))
    if _TIME_RE.match(raw):
        text = raw[:-1] if raw.endswith("Z") else raw
        try:
            when = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"is not a valid date/time ({exc})") from None
        # Times without an offset are UTC: the bot's local zone means nothing to the person typing.
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return Since(unix=when.timestamp())
    raise ValueError(
        "must be a duration like `10m`, `1h30m`, `90s`, `2d`, or a time like `2024-05-01T12:00Z`, "
        "RFC 3339, or unix seconds"
    )


def build(flags: dict[str, Any], positionals: list[str]) -> LogsArgs:
    """Build logs args: name, tail (None = all), since and timestamps."""
    tail = flags["tail"]
    if tail is None:
        tail = DEFAULT_TAIL
    elif tail == "all":
        tail = None
    return LogsArgs(container_ref(positionals[0]), tail=tail, since=flags["since"],
                    timestamps=flags["timestamps"])


SPECS = (
    VerbSpec(
        name="logs",
        summary=f"Show a container's output (last {DEFAULT_TAIL} lines by default)",
        usage="logs [-n|--tail N|all] [--since DURATION|TIME] [-t|--timestamps] NAME",
        default_role="viewer",
        flags=(
            Flag(("-n", "--tail"), "tail", "value", "N|all", parse_tail),
            Flag(("--since",), "since", "value", "DURATION|TIME", parse_since),
            Flag(("-t", "--timestamps"), "timestamps"),
        ),
        min_positionals=1,
        max_positionals=1,
        build=build,
        timeout=120,
    ),
)
