"""`lock APP [--for 2h] REASON…`, `unlock APP` and `deploys APP [-n 10]`: answered by the bot, from Redis.

While an app is locked, deploys and rollbacks by anyone but the holder are refused (privately, with who,
since, until and why); the lock ends by itself. Locking and unlocking are said in the app's channel.
`lock` by the holder extends it; someone else's lock is not taken over (unlock it first: `unlock` says
whose lock it removed). `deploys` lists the app's last deploys and rollbacks: when, who (or the
webhook), ref, image id, outcome and duration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.verbs.base import Flag, LocalContext, VerbSpec
from bot.verbs.deploy import parse_app
from bot.verbs.values import whole_number
from dockbolt.core.args import Args
from dockbolt.core.deploys import DeployStore, locked_text, utc
from dockbolt.core.mrkdwn import code, escape
from dockbolt.core.units import duration_seconds

DEFAULT_LOCK = 2 * 3600
MAX_LOCK = 7 * 24 * 3600
MAX_SHOWN = 50


@dataclass(frozen=True)
class LockArgs(Args):
    """`lock`/`unlock`/`deploys`: the app; how long and why (lock); how many (deploys)."""

    app: str
    seconds: int = DEFAULT_LOCK
    reason: str = ""
    count: int = 10


def parse_for(raw: str) -> int:
    """`--for 2h`: a duration up to a week."""
    seconds = duration_seconds(raw)
    if not seconds or seconds > MAX_LOCK:
        raise ValueError("must be a duration like `30m` or `2h`, at most `7d`")
    return seconds


def parse_count(raw: str) -> int:
    """`-n N`: 1 to MAX_SHOWN."""
    n = whole_number(raw)
    if not 1 <= n <= MAX_SHOWN:
        raise ValueError(f"must be a number from 1 to {MAX_SHOWN}")
    return n


def build(flags: dict[str, Any], positionals: list[str]) -> LockArgs:
    """The app, then the reason's words."""
    return LockArgs(app=parse_app(positionals[0]), seconds=flags.get("seconds") or DEFAULT_LOCK,
                    reason=" ".join(positionals[1:]), count=flags.get("count") or 10)


def _store(ctx: LocalContext) -> tuple[DeployStore, LockArgs] | str:
    assert isinstance(ctx.args, LockArgs)
    if ctx.args.app not in ctx.apps:
        return f"no app {code(ctx.args.app)} in the config (apps: {', '.join(ctx.apps) or 'none'})."
    if ctx.deploys is None:
        return "deploy state is unavailable (no Redis)."
    return ctx.deploys, ctx.args


def _tell(ctx: LocalContext, text: str) -> None:
    """Say it in the app's channel too: a freeze concerns everyone who deploys it."""
    assert isinstance(ctx.args, LockArgs)
    channel = ctx.apps[ctx.args.app].channel
    if channel and ctx.note is not None:
        ctx.note(channel, text)


def lock(ctx: LocalContext) -> str:
    """Lock the app for the caller."""
    found = _store(ctx)
    if isinstance(found, str):
        return found
    deploys, args = found
    if not args.reason:
        return "say why: `lock APP [--for 2h] REASON…` (the reason is shown to whoever is refused)."
    held = deploys.lock_of(args.app)
    if held is not None and held.user != ctx.user_id:
        return locked_text(args.app, held)
    new = deploys.lock(args.app, ctx.user_id, args.reason, args.seconds)
    until = utc(new.until)
    _tell(ctx, f":lock: `{args.app}` is locked by <@{ctx.user_id}> until {until}: {escape(args.reason)}")
    return (f":lock: {code(args.app)} is locked by you until {until}: {escape(args.reason)}. Others' deploys "
            f"and rollbacks are refused meanwhile; `unlock {args.app}` ends it.")


def unlock(ctx: LocalContext) -> str:
    """Remove the app's lock (saying whose it was)."""
    found = _store(ctx)
    if isinstance(found, str):
        return found
    deploys, args = found
    held = deploys.lock_of(args.app)
    if held is None or not deploys.unlock(args.app):
        return f"{code(args.app)} is not locked."
    whose = "your" if held.user == ctx.user_id else f"<@{held.user}>'s"
    _tell(ctx, f":unlock: `{args.app}` is unlocked by <@{ctx.user_id}> (was <@{held.user}>'s: "
               f"{escape(held.reason)})")
    return f":unlock: removed {whose} lock on {code(args.app)} ({escape(held.reason)})."


def deploys_list(ctx: LocalContext) -> str:
    """The app's last deploys, newest first."""
    found = _store(ctx)
    if isinstance(found, str):
        return found
    deploys, args = found
    rows = deploys.history(args.app, args.count)
    if not rows:
        return f"{code(args.app)} has not been deployed yet."
    lines = [f"*Last {len(rows)} deploys of* {code(args.app)}:"]
    for d in rows:
        when = utc(d.started)
        image = d.image_id.removeprefix("sha256:")[:12] or "—"
        lines.append(f"• {when} · {d.verb} by {d.by} · ref {code(d.ref or '—')} · image {code(image)} · "
                     f"*{d.outcome}* · {d.duration:.0f} s")
    return "\n".join(lines)


SPECS = (
    VerbSpec(name="lock", summary="Lock an app: others' deploys and rollbacks are refused until it ends",
             usage="lock APP [--for 2h] REASON…", default_role="deployer",
             flags=(Flag(("--for",), "seconds", "value", "DURATION", parse_for),),
             min_positionals=1, max_positionals=None, build=build, answer=lock),
    VerbSpec(name="unlock", summary="Remove an app's lock", usage="unlock APP", default_role="deployer",
             min_positionals=1, max_positionals=1, build=build, answer=unlock),
    VerbSpec(name="deploys", summary="An app's last deploys: when, who, ref, image, outcome, duration",
             usage="deploys APP [-n 10]", default_role="viewer",
             flags=(Flag(("-n",), "count", "value", "N", parse_count),),
             min_positionals=1, max_positionals=1, build=build, answer=deploys_list),
)
