"""`mute NAME|GLOB|all [--for 1h]`, `unmute NAME|GLOB|all`: answered by the bot, from Redis.

A mute holds back the watcher's alerts about matching containers (every host) until it ends — by
`unmute`, or when its time is up. Held alerts are counted by condition and summarized when it ends, in
the channel the mute was made in. `mute` alone lists the mutes in force. Muting and unmuting are said in
the channel too: everyone there would otherwise wonder why a crash went unannounced.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from bot.verbs.base import Flag, LocalContext, VerbSpec
from bot.verbs.locks import parse_for
from dockbolt.core.args import Args
from dockbolt.core.deploys import utc
from dockbolt.core.incidents import ALL, Mute, mute_summary
from dockbolt.core.mrkdwn import code

DEFAULT_MUTE = 3600
# A container name, or a glob of one (`web-*`, `api-?`), or "all".
PATTERN_RE = re.compile(r"^[a-zA-Z0-9_.*?\[\]-]{1,128}\Z")


@dataclass(frozen=True)
class MuteArgs(Args):
    """`mute`/`unmute`: whose alerts ("" lists the mutes) and for how long."""

    pattern: str = ""
    seconds: int = DEFAULT_MUTE


def build(flags: dict[str, Any], positionals: list[str]) -> MuteArgs:
    """The pattern (a name, a glob or `all`)."""
    pattern = positionals[0] if positionals else ""
    if pattern and not PATTERN_RE.match(pattern):
        raise ValueError(f"{code(pattern)} is not a container name, a glob like `web-*`, or `all`")
    return MuteArgs(pattern=pattern, seconds=flags.get("seconds") or DEFAULT_MUTE)


def _what(pattern: str) -> str:
    return "every container" if pattern == ALL else code(pattern)


def mute(ctx: LocalContext) -> str:
    """Mute (or list the mutes)."""
    assert isinstance(ctx.args, MuteArgs)
    if ctx.mutes is None:
        return "mutes are unavailable (no Redis)."
    if not ctx.args.pattern:
        now = time.time()
        shown = [m for m in ctx.mutes.all() if m.until > now]
        if not shown:
            return "No mutes: every alert is posted."
        return "*Mutes:*\n" + "\n".join(f"• {_what(m.pattern)} until {utc(m.until)} (by <@{m.by}>)"
                                        for m in shown)
    until = time.time() + ctx.args.seconds
    ctx.mutes.mute(Mute(pattern=ctx.args.pattern, until=until, by=ctx.user_id, channel=ctx.channel_id))
    if ctx.note is not None:
        ctx.note(ctx.channel_id, f":no_bell: <@{ctx.user_id}> muted alerts for {_what(ctx.args.pattern)} "
                                 f"until {utc(until)}.")
    return (f":no_bell: Alerts for {_what(ctx.args.pattern)} are muted until {utc(until)}. What is held "
            f"back is counted and summarized here when the mute ends (`unmute {ctx.args.pattern}` ends it).")


def unmute(ctx: LocalContext) -> str:
    """End a mute, saying what it held back."""
    assert isinstance(ctx.args, MuteArgs)
    if ctx.mutes is None:
        return "mutes are unavailable (no Redis)."
    ended = ctx.mutes.end(ctx.args.pattern)
    if ended is None:
        muted = ", ".join(code(m.pattern) for m in ctx.mutes.all()) or "none"
        return f"{_what(ctx.args.pattern)} is not muted (mutes: {muted})."
    text = mute_summary(*ended, ended_by=ctx.user_id)
    if ctx.note is not None:
        ctx.note(ended[0].channel or ctx.channel_id, text)
    return text


SPECS = (
    VerbSpec(name="mute", summary="Hold back a container's alerts for a while (alone: list the mutes)",
             usage="mute [NAME|GLOB|all] [--for 1h]", default_role="operator",
             flags=(Flag(("--for",), "seconds", "value", "DURATION", parse_for),),
             min_positionals=0, max_positionals=1, build=build, answer=mute),
    VerbSpec(name="unmute", summary="End a mute (and see what it held back)", usage="unmute NAME|GLOB|all",
             default_role="operator", min_positionals=1, max_positionals=1, build=build, answer=unmute),
)
