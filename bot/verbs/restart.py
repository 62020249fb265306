"""`restart`: stop then start containers (same `-t` grace period as `stop`)."""

from __future__ import annotations

from typing import Any

from bot.verbs.base import Flag, VerbSpec
from bot.verbs.stop import MAX_GRACE, grace_seconds
from bot.verbs.values import container_refs


def build(flags: dict[str, Any], positionals: list[str]) -> dict[str, Any]:
    """Build restart args: NAMEs and the grace period (null = the container's own default)."""
    return {"names": container_refs(positionals), "timeout": flags["timeout"]}


SPEC = VerbSpec(
    name="restart",
    summary="Restart containers",
    usage="restart [-t|--time SECS] NAME…",
    flags=(Flag(("-t", "--time"), "timeout", "value", "SECS", grace_seconds),),
    min_positionals=1,
    max_positionals=None,
    build=build,
    timeout=MAX_GRACE + 60,
)
