"""``deploy APP [--ref REF | --image IMAGE]`` and ``rollback APP``: build, replace, check, switch, announce.

One deploy per app at a time (``DeployStore.begin``); a lock held by someone else refuses it (checked by
the bot, and again here). The image is built from the app's context at the ref (tagged
``repository:ref``, or the short commit SHA) unless one is given; a rollback takes the image of the app's
last successful deploy of another image. The switch (``workers.deploy_switch``) rolls back by itself. The
card shows each step and the time so far; the app's channel gets one announcement, edited from started
to succeeded / failed / rolled back, with the details in its thread. Every deploy lands in the history.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace

from dockbolt.core.args import LABEL_APP, LABEL_REF, DeployArgs, ownership_labels
from dockbolt.core.buildsrc import source_of
from dockbolt.core.deploys import Deploy, DeployStore, announcement, busy_text, locked_text
from dockbolt.core.errors import DockerError, TargetNotFound, UserError
from workers import build_context, messages, run_guard
from workers.deploy_switch import ServiceSwitch, Switch
from workers.docker_swarm import SwarmEngine
from workers.handlers.base import Handler, HandlerContext
from workers.handlers.build import BuildLog
from workers.reply import Reply

_SHA_RE = re.compile(r"^[0-9a-f]{7,40}\Z")


def tag_for(ref: str, commit: str) -> str:
    """The image tag of a build at ``ref``: the ref itself ("/" → "-"), a commit as its short SHA, no ref
    as the commit's short SHA (or "latest" for a directory)."""
    if not ref:
        return commit[:12] or "latest"
    return ref[:12] if _SHA_RE.match(ref) else ref.replace("/", "-")[:128]


class Deployment:
    """One deploy or rollback of one app."""

    def __init__(self, ctx: HandlerContext, args: DeployArgs, verb: str) -> None:
        assert ctx.deploys is not None and ctx.reporter is not None, "the runner gives deploys a store"
        self.ctx, self.args, self.verb = ctx, args, verb
        self.deploys: DeployStore = ctx.deploys
        self.reporter = ctx.reporter
        self.started = time.monotonic()
        self.since = self.deploys.now()
        self.log = BuildLog()
        self.phases: dict[str, float] = {}
        self.ref, self.image, self.image_id = args.ref, args.image, ""

    def run(self) -> Reply:
        args, job = self.args, self.ctx.job
        lock = self.deploys.lock_of(args.app)
        if lock is not None and lock.user != job.user_id:
            return Reply(text=locked_text(args.app, lock), ok=False)
        held = self.deploys.begin(args.app, job.job_id, args.by, ttl=3600)
        if held is not None:
            return Reply(text=busy_text(args.app, held), ok=False)
        outcome, reason = "failed", "the deploy was interrupted (see the job's thread)"
        try:
            self._announce("started")
            outcome, reason = self._deploy()
        except UserError as exc:
            reason = str(exc)
        finally:
            self._finish(outcome, reason)
            self.deploys.end(args.app, job.job_id)
        text = messages.deploy_summary(args.app, self.verb, outcome, self.image, self.phases, reason)
        reply = Reply(text=text, body=self.log.text() or None, filename=f"{args.app}.build.log",
                      ok=outcome == "succeeded", detail=messages.deploy_detail(outcome, reason))
        if args.channel and args.channel != job.channel_id:  # the announcement's thread gets the details
            self.reporter.reply(reply, to="announce")
        return reply

    def _deploy(self) -> tuple[str, str]:
        docker, args = self.ctx.docker, self.args
        if self.verb == "rollback":
            self._pick_previous()
        elif not self.image:
            self.image = self._build()
        self.image_id = str(docker.inspect(self.image).get("Id") or "")
        labels = {**ownership_labels(self.ctx.job.user_id, self.ctx.job.job_id), LABEL_APP: args.app,
                  LABEL_REF: self.ref or self.image}
        spec = run_guard.ready(replace(args.run, image=self.image), self.ctx.guardrails, self.ctx.docker_host)
        switch = ServiceSwitch if args.mode == "service" else Switch
        result = switch(docker, args.container, spec, labels, args.health, self._step).run()
        self.phases.update(result.phases)
        return result.outcome, result.reason

    def _pick_previous(self) -> None:
        try:
            current = str(self.ctx.docker.inspect(self._running_image()).get("Id") or "")
        except TargetNotFound:
            current = ""
        previous = self.deploys.previous_good(self.args.app, current)
        if previous is None:
            raise UserError(messages.nothing_to_roll_back(self.args.app))
        self.ref = previous.ref
        try:  # the tag, when it still names that image (else the image id: exactly what ran)
            same = self.ctx.docker.inspect(previous.image).get("Id") == previous.image_id
        except TargetNotFound:
            same = False
        self.image = previous.image if same else previous.image_id

    def _running_image(self) -> str:
        """What the app runs now: its container's image, or its service's (raises TargetNotFound)."""
        if self.args.mode == "service":
            return SwarmEngine.of(self.ctx.docker).service(self.args.container).image
        return str(self.ctx.docker.inspect(self.args.container).get("Image") or "")

    def _build(self) -> str:
        args = self.args
        context = args.context
        if args.ref and ("://" in context or "@" in context):  # a git context at the ref asked for
            context = context.partition("#")[0] + "#" + args.ref
        elif args.ref and source_of(context, self.ctx.build, any_git_host=True).path:
            raise UserError(f"`--ref` needs a git context; {args.app}'s is the directory `{context}`")
        self._phase("build", -time.monotonic())
        with build_context.prepared(context, args.dockerfile, self.ctx.build, self._step,
                                    any_git_host=True) as src:
            build_context.check_bases(src, args.build_args, self.ctx.guardrails)
            self.ref = self.ref or src.commit[:12]
            tag = f"{args.repository}:{tag_for(args.ref, src.commit)}"
            self._step(f"building {tag}…")
            labels = {**ownership_labels(self.ctx.job.user_id, self.ctx.job.job_id), LABEL_APP: args.app,
                      LABEL_REF: self.ref or tag}
            try:
                self.ctx.docker.build(src.path, tag=tag, dockerfile=src.dockerfile,
                                      build_args=args.build_args, no_cache=False, labels=labels,
                                      on_output=self._output)
            except DockerError as exc:
                self.image = tag
                raise UserError(messages.build_failed(tag, self.log.step, str(exc))) from None
            finally:
                self._phase("build", time.monotonic())
        return tag

    def _output(self, chunk: str) -> None:
        step = self.log.add(chunk)
        if step is not None:
            self.ctx.progress(f"{step} · {time.monotonic() - self.started:.0f} s")

    def _step(self, text: str) -> None:
        """A new step: on the card (throttled) and in the announcement."""
        self.ctx.progress(f"{text} · {time.monotonic() - self.started:.0f} s")
        self._announce("started", now=text)

    def _phase(self, name: str, delta: float) -> None:
        self.phases[name] = self.phases.get(name, 0.0) + delta

    def _announce(self, word: str, *, now: str = "", reason: str = "") -> None:
        if self.args.channel:
            self.reporter.announce(self.args.channel, announcement(
                app=self.args.app, verb=self.verb, word=word, by=self.args.by, ref=self.ref, image=self.image,
                image_id=self.image_id, elapsed=time.monotonic() - self.started, now=now, reason=reason))

    def _finish(self, outcome: str, reason: str) -> None:
        elapsed = time.monotonic() - self.started
        self._announce(outcome, reason=reason)
        self.deploys.record(self.args.app, Deploy(
            job=self.ctx.job.job_id, verb=self.verb, by=self.args.by, ref=self.ref, image=self.image,
            image_id=self.image_id, outcome=outcome, started=self.since, duration=elapsed,
            phases={k: round(v, 3) for k, v in self.phases.items()}))


def deploy(ctx: HandlerContext, args: DeployArgs) -> Reply:
    """Build (unless an image is given), replace, check and switch; roll back by itself on failure."""
    return Deployment(ctx, args, "deploy").run()


def rollback(ctx: HandlerContext, args: DeployArgs) -> Reply:
    """Put the app's previous good image back, the same way."""
    return Deployment(ctx, args, "rollback").run()


HANDLERS = (Handler("deploy", DeployArgs, deploy), Handler("rollback", DeployArgs, rollback))
