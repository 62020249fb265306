"""`whoami`: the caller's Slack id, roles in this channel and allowed verbs. Answered by the bot."""

from __future__ import annotations

from bot.verbs.base import LocalContext, VerbSpec
from dockbolt.core.mrkdwn import code, escape


def _listing(items: tuple[str, ...]) -> str:
    return ", ".join(code(escape(i)) for i in items) if items else "none"


def answer(ctx: LocalContext) -> str:
    """Describe who the caller is and what they may do in this channel."""
    user = escape(ctx.user_id)
    return "\n".join(
        [
            f"*You are* <@{user}> ({code(user)})",
            f"*Your roles in this channel:* {_listing(ctx.roles)}",
            f"*You may run:* {_listing(ctx.allowed_verbs)}",
        ]
    )


SPECS = (
    VerbSpec(
        name="whoami",
        summary="Show your Slack id, roles and allowed commands here",
        usage="whoami",
        default_role="everyone",
        answer=answer,
    ),
)
