"""The two-person rule on the bot's side: post a request, decide it on a click, expire it.

A command an ``[[policy.approvals]]`` rule matches is not queued (``CommandListener`` asks ``request``):
its text waits in Redis (``dockbolt.core.approvals``) and the channel gets a message with Approve and
Deny, delivered through the outbox like any job's announcement. A click is checked at click time
(``decide``): the request is still pending and not expired, the clicker is not the requester, the rule
names them and one of their bindings allows the verb; then the request is decided once (a Redis
compare-and-set) and the command runs *as the requester*, re-authorized as if typed now, in the thread
of the request. Deny (an approver, or the requester withdrawing it) and expiry run nothing and say so on
the request itself.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from redis import Redis

from bot import messages
from dockbolt.core.approvals import ApprovalRequest, ApprovalRule, ApprovalStore
from dockbolt.core.buttons import ACTION_APPROVE, ACTION_DENY, Button
from dockbolt.core.contract import JobRequest, JobStatus, new_job_id
from dockbolt.core.jobstore import JobStore, redis_time
from dockbolt.core.outbox import Outbox

log = logging.getLogger(__name__)

# Runs an approved command as its requester: (request, thread ts) -> (job id, or "" with the reason).
RunAsRequester = Callable[[ApprovalRequest, str], tuple[str, str]]


class ApprovalDesk:
    """Approval requests: made in the ack of a command, decided by clicks, expired by the reaper."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.store = ApprovalStore(redis)
        self.jobs = JobStore(redis)
        self.outbox = Outbox(redis)

    def request(self, *, text: str, shown: str, verb: str, user_id: str, channel_id: str, command: str,
                rule: ApprovalRule) -> messages.Answer:
        """Record the request and queue its message in the channel; the requester's private answer."""
        now = redis_time(self.redis)
        req = ApprovalRequest(request_id=new_job_id(), text=text, shown=shown, verb=verb, user_id=user_id,
                              channel_id=channel_id, expires_at=now + rule.expires, rule=rule,
                              extra={"command": command})
        self.store.create(req)
        # The message is the "announcement" of a job record of its own (what the outbox delivers); that
        # record is over at once: only the approved command becomes a job that runs.
        note = JobRequest(job_id=req.request_id, verb=verb, args={}, user_id=user_id, channel_id=channel_id,
                          command_text=f"{shown} (approval request)", command=command, announce_in=channel_id,
                          queued_at=now)
        expires_in = messages.duration(rule.expires)
        pipe = self.redis.pipeline()
        self.jobs.record_queued(note, pipe)
        self.outbox.announce(req.request_id, channel_id, messages.approval_request(
            user_id, shown, command, rule.users, rule.groups, expires_in), pipe=pipe, buttons=[
                Button("Approve", req.request_id, style="primary", action=ACTION_APPROVE),
                Button("Deny", req.request_id, style="danger", action=ACTION_DENY)])
        pipe.execute()
        self.jobs.set_status(req.request_id, JobStatus.DONE)
        return messages.Answer(messages.approval_requested(shown, command, rule.users, rule.groups,
                                                           expires_in))

    def decide(self, request_id: str, approve: bool, clicker: str, clicker_groups: frozenset[str],
               may_run: Callable[[ApprovalRequest], str], run: RunAsRequester) -> str:
        """Handle an Approve/Deny click; what the clicker is told privately ("" when the request itself
        now says it). ``may_run`` is the clicker's own authorization for the command ("" when allowed)."""
        req = self.store.get(request_id)
        if req is None:
            return messages.approval_refused("gone")
        if req.status != "pending":
            return messages.approval_already(req.status, req.decided_by)
        if redis_time(self.redis) >= req.expires_at:
            self.expire(req)
            return messages.approval_already("expired", "")
        approver = req.rule.approver(clicker, sorted(clicker_groups))
        if not approve:  # an approver says no, or the requester withdraws it
            if clicker != req.user_id and not approver:
                return messages.approval_refused("not approver", req.rule.users, req.rule.groups)
            return self._close(req, "denied", clicker)
        if clicker == req.user_id:
            return messages.approval_refused("own")
        if not approver:
            return messages.approval_refused("not approver", req.rule.users, req.rule.groups)
        refused = may_run(req)
        if refused:
            return refused
        if self.store.decide(req.request_id, "approved", clicker) != "pending":
            fresh = self.store.get(req.request_id)
            return messages.approval_already(fresh.status if fresh else "decided", fresh.decided_by if fresh
                                             else "")
        thread = self.jobs.announce_of(req.request_id) or ""
        job_id, why = run(dataclasses.replace(req, status="approved", decided_by=clicker), thread)
        self._say(req, "approved" if job_id else why, clicker, job_id)
        return "" if job_id else why

    def expire(self, req: ApprovalRequest) -> None:
        """Close a pending request whose time is up (nothing runs)."""
        self._close(req, "expired", "")

    def expire_due(self) -> int:
        """Expire every pending request past its time (the reaper calls this); how many."""
        due = self.store.due(redis_time(self.redis))
        for request_id in due:
            req = self.store.get(request_id)
            if req is not None and req.status == "pending":
                self.expire(req)
        return len(due)

    def _close(self, req: ApprovalRequest, status: str, by: str) -> str:
        if self.store.decide(req.request_id, status, by) != "pending":
            return ""  # decided meanwhile by someone else; their outcome stands
        self._say(req, status, by)
        return ""

    def _say(self, req: ApprovalRequest, outcome: str, by: str, job_id: str = "") -> None:
        """Edit the request's message to its outcome, without buttons."""
        command = req.extra.get("command", "")
        self.outbox.announce(req.request_id, req.channel_id, messages.approval_decided(
            req.user_id, req.shown, command, outcome, by, job_id), buttons=[])
        log.info("approval %s: %s by %s", req.request_id, outcome, by or "its expiry")


def click_fields(body: dict[str, Any]) -> tuple[str, str, str]:
    """(clicker, channel, thread ts of the clicked message) of a block_actions payload."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
    thread = str(message.get("thread_ts") or message.get("ts") or container.get("thread_ts") or "")
    if container.get("is_ephemeral"):
        thread = str(container.get("thread_ts") or "")  # an ephemeral message is no thread to post in
    return str((body.get("user") or {}).get("id") or ""), channel, thread
