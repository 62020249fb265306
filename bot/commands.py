"""The slash-command listener: parse → authorize → (answer | hold back | accept + ack). The one
enforcement point, for typed commands and for clicks on the bot's buttons (``bot.actions``) alike.

The ack path does no Slack or Docker I/O (only a cached user-group lookup and Redis), so Slack gets its
answer in milliseconds. A queued verb is recorded, enqueued and its card written to the outbox before the
ack (nothing accepted lives only in this process's memory); the ack itself is empty — the card says it
all — and the lazy listener delivers the card, saying "accepted as job X" privately only when the card
is late. A command an approval rule or ``[policy.confirm]`` holds back is not queued: the ack says why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from redis.exceptions import RedisError
from slack_bolt import Ack, BoltContext, Respond
from slack_sdk.errors import SlackApiError

from bot import messages, metrics
from bot.approvals import ApprovalDesk
from bot.enqueue import Dispatcher
from bot.parsing import answers_privately, parse
from bot.routing import Route, route
from bot.usergroups import UserGroupCache
from bot.verbs import VERBS, deploy
from bot.verbs.audit import AuditArgs, export_to_slack
from bot.verbs.base import LocalContext, ParsedCommand
from dockbolt.core.approvals import needs_confirm, rule_for
from dockbolt.core.args import BuildArgs, DeployArgs, RunArgs
from dockbolt.core.audit import AuditEvent, AuditLog
from dockbolt.core.buildsrc import source_of
from dockbolt.core.config import Config
from dockbolt.core.contract import ALL_HOSTS, JobRequest, JobStatus, new_job_id
from dockbolt.core.deploys import DeployStore
from dockbolt.core.errors import UsageError
from dockbolt.core.hosts import HostRegistry
from dockbolt.core.incidents import MuteStore
from dockbolt.core.jobstore import JobStore
from dockbolt.core.metrics import Outcome, count_command
from dockbolt.core.rbac import Decision, allowed_verbs, authorize, decision_log_line, referenced_groups
from dockbolt.core.redact import Redactor
from dockbolt.core.scopes import Requirement, Target, run_requirements, typed_targets

log = logging.getLogger(__name__)
authz_log = logging.getLogger("dockbolt.authz")

CONTEXT_KEY = "dockbolt_job"
EXPORT_KEY = "dockbolt_audit_export"
AUDIT_KEY = "dockbolt_audit_event"
QUIET_KEY = "dockbolt_quiet_ack"  # the ack said nothing: the card is to say the job was accepted
CARD_GRACE = 1.5  # seconds the card has to appear before a quiet ack's "accepted" note is sent


class CommandListener:
    """Bolt listeners for the slash command (``ack`` runs before the response, ``lazy`` after)."""

    def __init__(self, config: Config, groups: UserGroupCache, dispatcher: Dispatcher, store: JobStore,
                 audit: AuditLog, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.audit = audit
        self.redactor = Redactor(config.policy.guardrails.redact)
        self.groups = groups
        self.dispatcher = dispatcher
        self.store = store
        self.clock = clock
        self._referenced = referenced_groups(config.policy)
        self.deploys = DeployStore(store.redis)
        self.mutes = MuteStore(store.redis)
        self.hosts = HostRegistry(store.redis)
        self.approvals = ApprovalDesk(store.redis)

    def ack(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        """Answer within Slack's 3 s: a private error, a bot-answered verb, "only you will see the answer"
        for a private job, or nothing for a job whose card says it was accepted."""
        try:
            answer = self.decide(body, context)
            if answer.text:
                ack(text=answer.text, blocks=answer.blocks, response_type="ephemeral")
            else:  # a job whose card says it all: Slack shows nothing (``lazy`` says "accepted" if late)
                ack()
        except Exception:
            log.exception("slash command handling failed")
            metrics.count(str(body.get("text", "")), "error")
            ack(text=messages.internal_error(), response_type="ephemeral")

    def groups_of(self, user_id: str) -> frozenset[str]:
        """The user's groups that the policy names (cached)."""
        if not self._referenced:
            return frozenset()
        return frozenset(self.groups.groups_of(user_id, self._referenced))

    def decide(self, body: dict[str, Any], context: BoltContext, *, thread: str = "",
               confirmed: bool = False, approved_by: str = "") -> messages.Answer:
        """What a command gets: typed (``body`` is the slash command's), or from a click (the clicker's, its
        job in the clicked message's ``thread``; ``confirmed`` once the clicker confirmed it, ``approved_by``
        an approver: then it is not held back again)."""
        text = str(body.get("text", "")).strip()
        user_id, channel_id = str(body.get("user_id", "")), str(body.get("channel_id", ""))
        command = str(body.get("command") or self.config.slack.command)
        # What the ack, the card, the job record, the audit trail and the logs show: `-e` values and
        # anything else that looks secret masked. The values travel only in the signed job args.
        shown = self.redactor.redact_command(text)
        try:
            cmd = parse(text)
        except UsageError as err:
            return _counted(messages.Answer(messages.usage_error(err, command)), metrics.verb_label(text),
                            "invalid")
        spec = VERBS[cmd.verb]
        try:
            cmd, needs, new = self.requirements(cmd, user_id)
        except UsageError as err:
            return _counted(messages.Answer(messages.usage_error(err, command)), cmd.verb, "invalid")
        user_groups = self.groups_of(user_id)
        policy = self.config.policy

        def decide(host: str = "") -> Decision:
            return authorize(policy, user_id=user_id, user_groups=user_groups, channel_id=channel_id,
                             verb=cmd.verb, needs=needs, targets=new, host=host)

        hosts: tuple[str, ...] = ()
        where = self.routed(cmd, channel_id) if spec.queued else None
        if where is None or where.refusal:
            decision = decide()
            if decision.allowed and where is not None:  # told only to callers who may run the verb
                authz_log.info(decision_log_line(decision))
                context[AUDIT_KEY] = AuditEvent.for_decision(decision, shown).to_json()
                return _counted(messages.Answer(where.refusal), cmd.verb, "refused")
        else:  # each host within the caller's `hosts` scope (`@all`: the ones it covers; none: denied)
            decided = [(h, decide(h)) for h in where.hosts]
            hosts = tuple(h for h, d in decided if d.allowed)
            decision = next((d for _, d in decided if d.allowed), decided[0][1])
        held = (self._held_back(cmd, text, shown, command, user_id, channel_id, confirmed, approved_by)
                if decision.allowed and spec.queued else None)
        job_id = new_job_id() if decision.allowed and spec.queued and held is None else None
        authz_log.info(decision_log_line(decision))
        # Written after the ack, by the lazy listener (one Redis write less while Slack waits); as JSON text,
        # because Bolt deep-copies the context for the lazy listener and a string copies for free.
        audited = f"{shown} (approved by {approved_by})" if approved_by else shown
        context[AUDIT_KEY] = AuditEvent.for_decision(decision, audited, job_id=job_id).to_json()
        if not decision.allowed:
            return _counted(messages.Answer(decision.reason), cmd.verb, "denied")
        if held is not None:  # waits for an approver, or for the caller's own confirmation
            return _counted(held, cmd.verb, "held")
        if isinstance(cmd.args, BuildArgs):  # the worker checks again, against its own filesystem
            try:
                source_of(cmd.args.context, self.config.build)
            except ValueError as exc:
                return _counted(messages.Answer(messages.build_context_refused(str(exc), command)), cmd.verb,
                                "refused")
        if isinstance(cmd.args, DeployArgs):  # locked by someone else, or being deployed: nothing queued
            refused = deploy.refusal(cmd.args, user_id, self.deploys)
            if refused is not None:
                return _counted(messages.Answer(refused), cmd.verb, "refused")
        if spec.answer is not None:
            if isinstance(cmd.args, AuditArgs) and cmd.args.export:
                context[EXPORT_KEY] = cmd.args.to_dict()
            return _counted(messages.Answer(spec.answer(LocalContext(
                user_id=user_id, channel_id=channel_id, args=cmd.args, roles=decision.roles,
                allowed_verbs=allowed_verbs(policy, decision.roles),
                recent_jobs=lambda: [r.summary() for r in self.store.recent_for_user(user_id)],
                audit=self.audit, policy=policy, user_groups=frozenset(user_groups), apps=self.config.apps,
                deploys=self.deploys, mutes=self.mutes, hosts=self.hosts,
                note=lambda where, said: self._note(cmd.verb, user_id, where, said)))),
                cmd.verb, "answered")
        assert job_id is not None
        fan_out = len(hosts) > 1 or cmd.host == ALL_HOSTS
        job = JobRequest(
            job_id=job_id, verb=cmd.verb, args=cmd.args.to_dict(), user_id=user_id,
            channel_id=channel_id, command_text=shown, command=command,
            response_url=str(body.get("response_url") or "") or None, team_id=str(body.get("team_id", "")),
            queued_at=self.clock(), user_groups=tuple(sorted(user_groups)),
            announce_in=cmd.args.channel if isinstance(cmd.args, DeployArgs) else "",
            host="" if fan_out else hosts[0], in_thread=thread,
            private=answers_privately(cmd, self.config.slack.private_verbs))
        parts = [replace(job, job_id=new_job_id(), host=h, parent=job_id) for h in hosts] if fan_out else []
        try:
            self.dispatcher.accept(job, spec.timeout, parts)  # recorded and queued before we say "accepted"
        except RedisError:
            return _counted(messages.Answer(messages.queue_unavailable(job.job_id)), cmd.verb, "error")
        # Bolt deep-copies the context into the lazy listener's request: this is how the job gets there.
        context[CONTEXT_KEY] = (job, spec.timeout)
        count_command(cmd.verb, "queued")
        typed = [e.partition("=")[0] for e in cmd.args.env] if isinstance(cmd.args, RunArgs) else []
        if job.private:
            return messages.accepted_privately(job)
        if typed:
            return messages.with_env_warning(messages.accepted(job), typed)
        context[QUIET_KEY] = True
        return messages.QUIET

    def requirements(self, cmd: ParsedCommand,
                     user_id: str) -> tuple[ParsedCommand, tuple[Requirement, ...], tuple[Target, ...]]:
        """The command as it is authorized — a deploy completed from its app's config entry (whose run
        options are authorized too; UsageError for an unknown app) — with what its flags need and what it
        creates. `run`'s flags and the container it creates are checked here already; the containers a
        verb names are resolved and checked by the worker, which sees the engine."""
        if isinstance(cmd.args, DeployArgs):
            cmd = replace(cmd, args=deploy.complete(cmd.args, self.config.apps, user_id))
        needs, new = run_requirements(cmd.args, self.config.policy.guardrails)
        return cmd, needs, new

    def routed(self, cmd: ParsedCommand, channel_id: str) -> Route:
        """The hosts a queued command goes to (its ``@NAME``, the channel's default, the one live host), or
        why none."""
        return route(cmd.host, channel_id, cmd.verb, VERBS[cmd.verb].fans_out, self.config.hosts, self.hosts)

    def _held_back(self, cmd: ParsedCommand, text: str, shown: str, command: str, user_id: str,
                   channel_id: str, confirmed: bool, approved_by: str) -> messages.Answer | None:
        """Why an allowed command does not run yet: an approval rule (a request is posted), or a
        ``[policy.confirm]`` question; None when it runs now."""
        if approved_by:
            return None
        policy, targets = self.config.policy, typed_targets(cmd.args)
        rule = rule_for(policy.approvals, cmd.verb, targets,
                        cmd.args.app if isinstance(cmd.args, DeployArgs) else "")
        if rule is not None:
            return self.approvals.request(text=text, shown=shown, verb=cmd.verb, user_id=user_id,
                                          channel_id=channel_id, command=command, rule=rule)
        # A command with masked secrets is not asked about: its button would carry them to Slack.
        if not confirmed and text == shown and needs_confirm(policy.confirm, cmd.verb, len(targets)):
            return messages.confirm_prompt(command, shown, cmd.verb, targets, text)
        return None

    def _note(self, verb: str, user_id: str, channel: str, text: str) -> None:
        """Tell ``channel`` what a bot-answered verb did (through the outbox: the bot's deliverer sends
        it within a second, after the answer)."""
        job = JobRequest(job_id=new_job_id(), verb=verb, args={}, user_id=user_id, channel_id=channel,
                         command_text=f"{verb} (announced)", announce_in=channel, queued_at=self.clock())
        try:
            self.dispatcher.note(job, text, JobStatus.DONE)
        except RedisError as exc:  # what the verb did stands; only the channel is not told
            log.warning("%s: not announced in %s: %s", verb, channel, exc)

    def lazy(self, context: BoltContext, respond: Respond) -> None:
        """After the ack: audit the decision; deliver the accepted job's card, or upload an audit export."""
        event: str | None = context.get(AUDIT_KEY)
        if event is not None:
            self.audit.record(AuditEvent.from_json(event))
        accepted: tuple[JobRequest, int] | None = context.get(CONTEXT_KEY)
        if accepted is not None and context.get(QUIET_KEY):
            # The ack said nothing: say "accepted" only when the card is not in the channel soon.
            if not self.dispatcher.card_shown(accepted[0], CARD_GRACE) and respond is not None:
                late = messages.accepted(accepted[0])
                respond(text=late.text, blocks=late.blocks, response_type="ephemeral")
        elif accepted is not None:
            try:
                self.dispatcher.deliver(accepted[0])
            except RedisError as exc:  # the card waits in Redis for the next deliverer
                log.warning("card of job %s not delivered now: %s", accepted[0].job_id, exc)
        export = context.get(EXPORT_KEY)
        if export is not None:
            try:
                export_to_slack(self.dispatcher.client, self.audit, str(context.channel_id),
                                str(context.user_id), AuditArgs.from_dict(export))
            except (RedisError, SlackApiError) as exc:
                log.warning("audit export failed: %s", exc)
                respond(text=messages.audit_export_failed(str(exc)), response_type="ephemeral")


def _counted(answer: messages.Answer, verb: str, outcome: Outcome) -> messages.Answer:
    """``answer``, once the command it answers is counted with ``verb`` and ``outcome``."""
    count_command(verb, outcome)
    return answer
