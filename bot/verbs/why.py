"""`why VERB ARGS…`: which binding would allow a command here, or what is missing. Runs nothing.

The bot sees what the worker will check except the engine's view of the targets: it names the typed
containers as they are, and says that their labels (managed, protected) and ids are checked by the worker
when the command runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.verbs.base import LocalContext, VerbSpec
from bot.verbs.deploy import complete
from dockbolt.core.args import Args, DeployArgs
from dockbolt.core.errors import UsageError
from dockbolt.core.mrkdwn import code, escape
from dockbolt.core.rbac import authorize
from dockbolt.core.scopes import Target, run_requirements, typed_targets


@dataclass(frozen=True)
class WhyArgs(Args):
    """The command to explain, as typed after `why`."""

    words: tuple[str, ...]


def build(flags: dict[str, Any], positionals: list[str]) -> WhyArgs:
    """Keep the command to explain verbatim (it is parsed like any command when answered)."""
    return WhyArgs(tuple(positionals))


def answer(ctx: LocalContext) -> str:
    """Explain the decision the bot would take for the command, without running it."""
    from bot.parsing import parse  # the parser imports the registry, which imports this module

    assert isinstance(ctx.args, WhyArgs)
    text = " ".join(ctx.args.words)
    shown = code(escape(text))
    try:
        cmd = parse(text)
        if isinstance(cmd.args, DeployArgs):  # what the app's config makes of it, as the ack does
            cmd = replace(cmd, args=complete(cmd.args, ctx.apps, ctx.user_id))
    except UsageError as err:
        return f"{shown} would not run: {escape(str(err))}"
    needs, new = run_requirements(cmd.args, ctx.policy.guardrails)
    typed = tuple(Target(name=n, image=None) for n in typed_targets(cmd.args))
    decision = authorize(ctx.policy, user_id=ctx.user_id, user_groups=ctx.user_groups,
                         channel_id=ctx.channel_id, verb=cmd.verb, needs=needs, targets=typed + new)
    lines = [f"{'✅' if decision.allowed else '⛔'} {shown}: {escape(decision.reason)}",
             f"Rule: {escape(decision.matched_rule)}"]
    if typed:
        lines.append("The worker checks the containers again when it runs: their ids, their images, whether "
                     "dockbolt manages them (`unmanaged`) and whether they are protected.")
    return "\n".join(lines)


SPECS = (
    VerbSpec(
        name="why",
        summary="Explain whether you may run a command here, and why (runs nothing)",
        usage="why COMMAND [ARGS…]",
        default_role="everyone",
        min_positionals=1,
        max_positionals=None,
        stop_at_first_positional=True,
        build=build,
        answer=answer,
    ),
)
