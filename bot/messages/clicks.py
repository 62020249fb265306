"""The texts of buttons, confirmations and approvals (bot/actions.py, bot/approvals.py)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.messages.answer import Answer
from dockbolt.core.buttons import ACTION_CANCEL, ACTION_CONFIRMED, Button, actions_block
from dockbolt.core.mrkdwn import escape

_DOES = {"rm": "remove", "rmi": "remove"}  # a verb as a confirmation says it ("will remove `web`")


def confirm_prompt(command: str, shown: str, verb: str, names: Sequence[str], run_text: str) -> Answer:
    """A private "are you sure?" for a command ``[policy.confirm]`` holds back: Yes runs it, Cancel not."""
    what, does = ", ".join(f"`{escape(n)}`" for n in names) or "it", _DOES.get(verb, verb)
    text = f":warning: `{escape(f'{command} {shown}')}` will {escape(does)} {what}. Nothing has run yet."
    buttons = [Button(f"Yes, {does}", run_text, style="danger", action=ACTION_CONFIRMED),
               Button("Cancel", "cancel", action=ACTION_CANCEL)]
    section = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    return Answer(text, [section, actions_block(buttons)])


def confirmed(job_id: str) -> str:
    """The private "are you sure?" once Yes was clicked and the command queued."""
    return f":white_check_mark: Confirmed: running as job `{job_id}` (its card is in the channel)."


def cancelled() -> str:
    """The confirmation message, once its Cancel is clicked."""
    return ":heavy_multiplication_x: Cancelled; nothing was run."


def _approvers(users: Sequence[str], groups: Sequence[str]) -> str:
    return " or ".join([f"<@{u}>" for u in users] + [f"<!subteam^{g}>" for g in groups])


def approval_requested(shown: str, command: str, users: Sequence[str], groups: Sequence[str],
                       expires_in: str) -> str:
    """The requester's private ack: the command waits for an approver."""
    return (f":hourglass_flowing_sand: `{escape(f'{command} {shown}')}` needs a second person: "
            f"{_approvers(users, groups)} can approve it in this channel within {expires_in}. Nothing runs "
            "until then.")


def approval_request(user_id: str, shown: str, command: str, users: Sequence[str], groups: Sequence[str],
                     expires_in: str) -> str:
    """The channel's approval request (with Approve / Deny)."""
    return (f":raised_hand: <@{user_id}> asks to run `{escape(f'{command} {shown}')}`. Approval needed "
            f"from {_approvers(users, groups)} (not the requester) — expires in {expires_in}.")


def approval_decided(user_id: str, shown: str, command: str, outcome: str, by: str, job_id: str = "") -> str:
    """The approval request once decided: approved (running as job X), denied, expired, or refused."""
    what = f"<@{user_id}> asked to run `{escape(f'{command} {shown}')}`"
    if outcome == "approved":
        return f":white_check_mark: {what} — *approved* by <@{by}>; running as job `{job_id}` in this thread."
    if outcome == "denied":
        return f":no_entry_sign: {what} — *denied* by <@{by}>. Nothing ran."
    if outcome == "expired":
        return f":alarm_clock: {what} — *expired* without approval. Nothing ran."
    return f":warning: {what} — approved by <@{by}>, but not run: {outcome}"


def approval_refused(why: str, users: Sequence[str] = (), groups: Sequence[str] = ()) -> str:
    """A click on Approve/Deny that does nothing, and why."""
    texts = {
        "own": "You asked for this one: someone else has to approve it.",
        "not approver": f"Only {_approvers(users, groups)} can decide this request.",
        "gone": "This approval request no longer exists.",
    }
    return f":no_entry: {texts.get(why, escape(why))} Nothing was run."


def approval_already(status: str, by: str) -> str:
    """A click on a request decided before."""
    who = f" by <@{by}>" if by else ""
    return f":information_source: This request was already {escape(status)}{who}; nothing more was done."
