"""Button clicks: each one a command run as the clicker, or an approval decided by the clicker.

A ``dockbolt_run`` button or menu option carries a command's text; the click goes through exactly what a
typed command goes through — the edge (replays, rate, queue share), parsing, routing, authorization *as
the clicker* (never as the author of the message clicked), guardrails, approvals, audit — and its job
reports in the clicked message's thread. ``dockbolt_confirmed`` is the same once the clicker confirmed
(a confirm dialog, or the private "are you sure?"). Approve/Deny go to ``bot.approvals``. Whatever the
clicker should know (refused, not allowed, usage) comes back privately by the payload's response_url.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, BoltContext, Respond

from bot import messages
from bot.approvals import ApprovalDesk, click_fields
from bot.commands import CONTEXT_KEY, CommandListener
from bot.edge import CLICK_REFUSED_KEY, Edge
from bot.parsing import parse
from dockbolt.core.approvals import ApprovalRequest
from dockbolt.core.buttons import ACTION_APPROVE, ACTION_CANCEL, ACTION_CONFIRMED, ACTION_DENY, action_name
from dockbolt.core.errors import UsageError
from dockbolt.core.rbac import Decision, authorize

log = logging.getLogger(__name__)

ANSWER_KEY = "dockbolt_click_answer"
REPLACE_KEY = "dockbolt_click_replaces"  # the answer replaces the clicked (private) message


class ActionListener:
    """Bolt listeners for the bot's buttons (``ack`` decides, ``lazy`` reports and delivers)."""

    def __init__(self, commands: CommandListener, desk: ApprovalDesk, edge: Edge) -> None:
        self.commands, self.desk, self.edge = commands, desk, edge

    def ack(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        """Acknowledge at once (a click's ack carries nothing to show); decide what the click does."""
        ack()
        if context.get(CLICK_REFUSED_KEY):
            context[ANSWER_KEY] = context[CLICK_REFUSED_KEY]
            return
        try:
            context[ANSWER_KEY] = self._decide(body, context)
        except Exception:
            log.exception("button click handling failed")
            context[ANSWER_KEY] = messages.internal_error()

    def _decide(self, body: dict[str, Any], context: BoltContext) -> str:
        action = (body.get("actions") or [{}])[0]
        name = action_name(str(action.get("action_id", "")))
        value = str(action.get("value") or (action.get("selected_option") or {}).get("value") or "")
        clicker, channel, thread = click_fields(body)
        if name == ACTION_CANCEL:
            context[REPLACE_KEY] = True
            return messages.cancelled()
        if name in (ACTION_APPROVE, ACTION_DENY):
            groups = self.commands.groups_of(clicker)
            return self.desk.decide(value, name == ACTION_APPROVE, clicker, groups,
                                    lambda req: self._approver_refusal(req, clicker, groups),
                                    lambda req, ts: self._run_approved(req, ts, context))
        command = {"text": value, "user_id": clicker, "channel_id": channel, "team_id": _team(body),
                   "command": self.commands.config.slack.command,
                   "response_url": str(body.get("response_url") or "")}
        answer = self.commands.decide(command, context, thread=thread, confirmed=name == ACTION_CONFIRMED)
        accepted = context.get(CONTEXT_KEY)
        if accepted is None:  # refused, denied, held back, answered: said privately
            return answer.text
        if name == ACTION_CONFIRMED and (body.get("container") or {}).get("is_ephemeral"):
            context[REPLACE_KEY] = True  # the private "are you sure?" becomes what happened
            return messages.confirmed(accepted[0].job_id)
        return ""  # a queued job shows itself: its card in the thread clicked

    def _approver_refusal(self, req: ApprovalRequest, clicker: str, groups: frozenset[str]) -> str:
        """"" when the approver's own bindings allow the command — its verb, grants, targets, and every
        host it would run on now (those of its route within the requester's `hosts` scope) — else why
        not. The requester's command is authorized again, in full, when it runs."""
        try:
            cmd, needs, new = self.commands.requirements(parse(req.text), req.user_id)
        except UsageError as err:
            return messages.usage_error(err, self.commands.config.slack.command)
        policy = self.commands.config.policy

        def check(user: str, user_groups: frozenset[str], host: str = "") -> Decision:
            return authorize(policy, user_id=user, user_groups=user_groups, channel_id=req.channel_id,
                             verb=cmd.verb, needs=needs, targets=new, host=host)

        where = self.commands.routed(cmd, req.channel_id)
        requester = self.commands.groups_of(req.user_id) if where.hosts else frozenset()
        hosts = [h for h in where.hosts if check(req.user_id, requester, h).allowed]
        refused = next((d for d in (check(clicker, groups, h) for h in hosts or [""]) if not d.allowed), None)
        return "" if refused is None else refused.reason

    def _run_approved(self, req: ApprovalRequest, thread: str, context: BoltContext) -> tuple[str, str]:
        """Queue the approved command as its requester (authorized again, as if typed now)."""
        command = {"text": req.text, "user_id": req.user_id, "channel_id": req.channel_id,
                   "command": req.extra.get("command") or self.commands.config.slack.command}
        answer = self.commands.decide(command, context, thread=thread, approved_by=req.decided_by)
        accepted = context.get(CONTEXT_KEY)
        return (accepted[0].job_id, "") if accepted is not None else ("", answer.text)

    def lazy(self, context: BoltContext, respond: Respond) -> None:
        """After the ack: audit, deliver the card of a job the click queued, tell the clicker the rest."""
        with self.edge.admitted(context):
            self.commands.lazy(context, respond)
        said: str = context.get(ANSWER_KEY) or ""
        if said:
            replace_original = bool(context.get(REPLACE_KEY))
            respond(text=said, response_type="ephemeral", replace_original=replace_original)


def _team(body: dict[str, Any]) -> str:
    return str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or "")

