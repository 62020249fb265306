"""`start`, `stop`, `restart`, `rm`: the lifecycle verbs, which differ only in a flag or two.

Each takes one or more container names; `stop` and `restart` take a grace period (SIGTERM, then SIGKILL
after `-t` seconds, docker's default 10), `rm -f` also removes running containers, killing them first.
"""

from __future__ import annotations

from typing import Any

from bot.verbs.base import Flag, VerbSpec
from bot.verbs.values import container_refs, whole_number
from dockbolt.core.args import NamesArgs, RmArgs, StopArgs

# The job timeout is fixed per verb, so the grace period has to be capped for the job to outlive it.
MAX_GRACE = 300


def grace_seconds(raw: str) -> int:
    """Parse `-t SECS` for stop/restart: whole seconds, at most MAX_GRACE."""
    seconds = whole_number(raw)
    if seconds > MAX_GRACE:
        raise ValueError(f"must be at most {MAX_GRACE} seconds")
    return seconds


def build_names(flags: dict[str, Any], positionals: list[str]) -> NamesArgs:
    """Build start args from the NAMEs."""
    return NamesArgs(container_refs(positionals))


def build_stop(flags: dict[str, Any], positionals: list[str]) -> StopArgs:
    """Build stop/restart args: NAMEs and the grace period (None = the container's own default)."""
    return StopArgs(container_refs(positionals), timeout=flags["timeout"])


def build_rm(flags: dict[str, Any], positionals: list[str]) -> RmArgs:
    """Build rm args: NAMEs and force."""
    return RmArgs(container_refs(positionals), force=flags["force"])


_GRACE = Flag(("-t", "--time"), "timeout", "value", "SECS", grace_seconds)


def _spec(name: str, summary: str, usage: str, **kw: Any) -> VerbSpec:
    return VerbSpec(name=name, summary=summary, usage=usage, default_role="operator", min_positionals=1,
                    max_positionals=None, **kw)


SPECS = (
    _spec("start", "Start stopped containers", "start NAME…", build=build_names, timeout=60),
    _spec("stop", "Stop running containers", "stop [-t|--time SECS] NAME…", flags=(_GRACE,),
          build=build_stop, timeout=MAX_GRACE + 60),
    _spec("restart", "Restart containers", "restart [-t|--time SECS] NAME…", flags=(_GRACE,),
          build=build_stop, timeout=MAX_GRACE + 60),
    _spec("rm", "Remove containers (`-f` to remove running ones)", "rm [-f|--force] NAME…",
          flags=(Flag(("-f", "--force"), "force"),), build=build_rm, timeout=60),
)
