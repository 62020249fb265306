"""`help`: what the caller may run here, or one command's usage and flags. Answered by the bot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.suggest import unknown_verb_message
from bot.verbs.base import Flag, LocalContext, VerbSpec
from dockbolt.core.args import Args
from dockbolt.core.mrkdwn import code, escape


@dataclass(frozen=True)
class HelpArgs(Args):
    """The verb asked about (lower-cased), or None for the overview."""

    verb: str | None = None


def build(flags: dict[str, Any], positionals: list[str]) -> HelpArgs:
    """Build help args: the verb asked about, or None for the overview."""
    return HelpArgs(positionals[0].lower() if positionals else None)


def _flag_line(flag: Flag) -> str:
    spelling = ", ".join(flag.names) + ("" if flag.kind == "bool" else f" {flag.metavar}")
    return f"• {code(spelling)}" + (" (repeatable)" if flag.kind == "multi" else "")


def _overview(ctx: LocalContext, verbs: Mapping[str, VerbSpec]) -> str:
    allowed = [spec for name, spec in verbs.items() if name in ctx.allowed_verbs]
    lines = ["*Commands you can run here:*"]
    lines += [f"• {code(spec.name)} — {spec.summary}" for spec in allowed]
    lines.append("Type `help COMMAND` for its usage and flags.")
    if all(spec.default_role == "everyone" for spec in allowed):
        lines.append("You have no role in this channel: ask an admin for one (`whoami` shows your id).")
    return "\n".join(lines)


def _detail(spec: VerbSpec) -> str:
    lines = [f"*{spec.name}* — {spec.summary}", f"Usage: {code(spec.usage)}"]
    if spec.flags:
        lines.append("Flags:")
        lines += [_flag_line(flag) for flag in spec.flags]
    return "\n".join(lines)


def answer(ctx: LocalContext) -> str:
    """Answer `help` (the verbs the caller may run) or `help VERB` (usage and flags)."""
    # Imported here because the registry imports this module.
    from bot.verbs import VERBS

    verb = ctx.args.verb if isinstance(ctx.args, HelpArgs) else None
    if not verb:
        return _overview(ctx, VERBS)
    spec = VERBS.get(verb)
    if spec is None:
        return escape(unknown_verb_message(verb, VERBS))
    if verb not in ctx.allowed_verbs:
        return f"You may not run {code(verb)} in this channel."
    return _detail(spec)


SPECS = (
    VerbSpec(
        name="help",
        summary="List the commands you can run here, or show one command's usage",
        usage="help [COMMAND]",
        default_role="everyone",
        max_positionals=1,
        build=build,
        answer=answer,
    ),
)
