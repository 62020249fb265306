"""`stop`: stop running containers (SIGTERM, then SIGKILL after `-t` seconds, docker's default 10)."""

from __future__ import annotations

from typing import Any

from bot.verbs.base import Flag, VerbSpec
from bot.verbs.values import container_refs, whole_number

# The job timeout is fixed per verb, so the grace period has to be capped for the job to outlive it.
MAX_GRACE = 300


def grace_seconds(raw: str) -> int:
    """Parse `-t SECS` for stop/restart: whole seconds, at most MAX_GRACE."""
    seconds = whole_number(raw)
    if seconds > MAX_GRACE:
        raise ValueError(f"must be at most {MAX_GRACE} seconds")
    return seconds


def build(flags: dict[str, Any], positionals: list[str]) -> dict[str, Any]:
    """Build stop args: NAMEs and the grace period (null = the container's own default)."""
    return {"names": container_refs(positionals), "timeout": flags["timeout"]}


SPEC = VerbSpec(
    name="stop",
    summary="Stop running containers",
    usage="stop [-t|--time SECS] NAME…",
    flags=(Flag(("-t", "--time"), "timeout", "value", "SECS", grace_seconds),),
    min_positionals=1,
    max_positionals=None,
    build=build,
    timeout=MAX_GRACE + 60,
)
