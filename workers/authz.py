"""The worker's own authorization check, right before acting: same policy, targets resolved on the engine.

The bot decided at ack time from what it could see (verb, flags, channel); here the targets are looked up
on the engine — full name, id, image, `dockbolt.managed` and `dockbolt.protected` labels — and the same
``authorize()`` runs again with them (time of check vs time of use, and defence against a bot that was
compromised or a job that was forged with a valid key). Listings (`ps`, `stats` with no names) show only
what the caller may read.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from dockbolt.core.apps import AppConfig
from dockbolt.core.args import LABEL_MANAGED, Args, DeployArgs
from dockbolt.core.deploys import WEBHOOK_USER
from dockbolt.core.errors import TargetNotFound, UsageError
from dockbolt.core.rbac import Decision, Policy, authorize
from dockbolt.core.scopes import (
    LABEL_PROTECTED,
    MIN_ID_PREFIX,
    Requirement,
    Target,
    run_requirements,
    short_prefix,
    typed_targets,
)
from workers.docker_port import ContainerSummary, DockerPort


@dataclass(frozen=True)
class Caller:
    """Who asked, where, for which verb (from the signed job)."""

    user_id: str
    user_groups: Collection[str]
    channel_id: str
    verb: str


def resolve(docker: DockerPort, typed: Sequence[str]) -> tuple[Target, ...]:
    """Look up each typed name or id; an id prefix shorter than MIN_ID_PREFIX is refused.

    A name the engine does not know is left out: the handler reports it in Docker's words ("No such
    container"), per name, as the CLI does, and there is nothing to act on.
    """
    out = []
    for name in typed:
        try:
            target = Target.from_inspect(docker.inspect(name))
        except TargetNotFound:
            continue
        if short_prefix(name, target):
            raise UsageError(f"`{name}` is only an id prefix: give the container's name or at least "
                             f"{MIN_ID_PREFIX} characters of its id")
        out.append(target)
    return tuple(out)


def check(policy: Policy, caller: Caller, args: Args, docker: DockerPort,
          apps: Mapping[str, AppConfig] = MappingProxyType({})) -> Decision:
    """Authorize the job against the engine's view of its targets (raises TargetNotFound, UsageError).

    A deploy must be exactly what this worker's own ``[apps]`` config says of the app (a job cannot
    bring its own run options); one from the webhook is allowed by the app's signed request alone.
    """
    needs, new = run_requirements(args, policy.guardrails)
    if isinstance(args, DeployArgs):
        app = apps.get(args.app)
        if app is None or app.deploy_args(by=args.by, ref=args.ref, image=args.image) != args:
            why = "is not in" if app is None else "does not match"
            return _refuse(caller, f"app `{args.app}` {why} this worker's [apps] config", "app config")
        if caller.user_id == WEBHOOK_USER:
            barred = [n.reason for n in needs if n.grant is None]
            if caller.verb != "deploy" or not app.webhook_secret_env:
                barred.append(f"the webhook only deploys apps with a webhook_secret_env ({args.app})")
            if args.image and not app.own_image(args.image):
                barred.append(f"the webhook only deploys images of {app.image}")
            if barred:
                return _refuse(caller, barred[0], "webhook")
            return Decision(True, caller.verb, caller.user_id, caller.channel_id, (), "webhook",
                            f"allowed: a deploy of `{args.app}` signed with its webhook secret")
    return _decide(policy, caller, needs=needs, targets=resolve(docker, typed_targets(args)) + new)


def _refuse(caller: Caller, reason: str, rule: str) -> Decision:
    return Decision(False, caller.verb, caller.user_id, caller.channel_id, (), rule, f"not allowed: {reason}")


def _decide(policy: Policy, caller: Caller, *, needs: Sequence[Requirement] = (),
            targets: Sequence[Target] = ()) -> Decision:
    return authorize(policy, user_id=caller.user_id, user_groups=caller.user_groups,
                     channel_id=caller.channel_id, verb=caller.verb, needs=needs, targets=targets)


def visibility(policy: Policy, caller: Caller) -> Callable[[ContainerSummary], bool]:
    """A predicate for listings: may the caller run this verb on this container?"""

    def visible(row: ContainerSummary) -> bool:
        target = Target(name=row.names[0] if row.names else "", image=row.image, id=row.id,
                        managed=row.labels.get(LABEL_MANAGED) == "true",
                        protected=row.labels.get(LABEL_PROTECTED) == "true")
        return _decide(policy, caller, targets=(target,)).allowed

    return visible
