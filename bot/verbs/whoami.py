"""`whoami`: the caller's Slack id, and in this channel their roles, grants, scopes and allowed verbs."""

from __future__ import annotations

from bot.verbs.base import LocalContext, VerbSpec
from dockbolt.core.mrkdwn import code, escape
from dockbolt.core.rbac import Held, grants_of, held_roles


def _listing(items: tuple[str, ...] | list[str]) -> str:
    return ", ".join(code(escape(i)) for i in items) if items else "none"


def _role_line(ctx: LocalContext, held: Held) -> str:
    scope = [f"containers {_listing(held.containers)}"] if held.containers else []
    scope += [f"images {_listing(held.images)}"] if held.images else []
    grants = sorted(grants_of(ctx.policy, held.role))
    return (f"• {code(escape(held.role))} ({escape(held.how)})"
            + (f" — only {' and '.join(scope)}" if scope else "")
            + (f" — grants {_listing(grants)}" if grants else ""))


def answer(ctx: LocalContext) -> str:
    """Describe who the caller is and what they may do in this channel."""
    user = escape(ctx.user_id)
    held = held_roles(ctx.policy, user_id=ctx.user_id, user_groups=ctx.user_groups, channel_id=ctx.channel_id)
    lines = [f"*You are* <@{user}> ({code(user)})"]
    if held:
        lines.append("*Your roles in this channel:*")
        lines += [_role_line(ctx, h) for h in held]
    else:
        lines.append(f"*You have no role in this channel.* Ask an admin to bind one to your id {code(user)}.")
    lines.append(f"*You may run:* {_listing(ctx.allowed_verbs)}")
    return "\n".join(lines)


SPECS = (
    VerbSpec(
        name="whoami",
        summary="Show your Slack id, and your roles, grants and scopes here",
        usage="whoami",
        default_role="everyone",
        answer=answer,
    ),
)
