"""Role-based authorization: the declarative policy and one pure ``authorize()`` function.

Deny by default. The roles a user holds *here* are every binding that names them (by user id or by one of
their user groups) and whose channel list, if any, includes this channel, plus ``default_role``. Roles
inherit transitively; ``"*"`` allows every verb. The caller logs every decision with ``decision_log_line``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from dockbolt.core.approvals import ApprovalRule
from dockbolt.core.guardrails import Guardrails
from dockbolt.core.scopes import Requirement, Subcommand, Target, host_uncovered, uncovered

WILDCARD = "*"
# The built-in roles, least to most powerful; operator inherits viewer, admin allows "*". Every verb
# names the one it belongs to (its "default role"), which is how the built-in roles get their verbs.
# "everyone" is not a role: its verbs (help, whoami, why) need none, so a user without a role learns
# their id and whom to ask.
DefaultRole = Literal["everyone", "viewer", "operator", "deployer", "admin"]
DEFAULT_ROLES: tuple[DefaultRole, ...] = ("everyone", "viewer", "operator", "deployer", "admin")


# What a role may do beyond its verbs. Each guards one way out of a container onto the host (or past
# dockbolt's own scope); `run` names the grant a flag needs, the worker checks targets against `unmanaged`.
GRANTS: Mapping[str, str] = MappingProxyType({
    "privileged": "--privileged, --cap-add, --device, --pid/--ipc/--userns host, --security-opt",
    "host-mounts": "bind mounts of host paths (only under [policy] allowed_host_paths)",
    "docker-socket": "mounting the Docker socket (or a directory holding it)",
    "host-network": "--network host or container:NAME",
    "root-user": "-u 0 / -u root",
    "public-ports": "publishing ports on an address other than [policy] publish_address",
    "unmanaged": "acting on containers dockbolt did not create",
})


@dataclass(frozen=True)
class Role:
    """A named set of allowed verbs and grants, plus the roles whose verbs and grants it inherits."""

    name: str
    allow: tuple[str, ...] = ()
    inherits: tuple[str, ...] = ()
    grants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Binding:
    """Grants ``role`` to these users and user groups; only in ``channels`` when that is non-empty.

    ``containers`` and ``images`` (globs) narrow it further: when set, it covers only targets whose name
    (resp. image) matches one of them; ``hosts`` (globs): only commands for a Docker host matching one.
    """

    role: str
    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    containers: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    """Roles (in config order), bindings (in config order), the role of users with no binding, guardrails."""

    roles: Mapping[str, Role] = field(default_factory=lambda: MappingProxyType({}))
    bindings: tuple[Binding, ...] = ()
    default_role: str = ""
    # Lets allowed_verbs() expand "*" into real verb names; empty means "*" is reported as is.
    known_verbs: tuple[str, ...] = ()
    guardrails: Guardrails = field(default_factory=Guardrails)
    # Verbs anyone may run (default role "everyone"), and the verbs that only read (default role "viewer").
    open_verbs: frozenset[str] = frozenset()
    read_verbs: frozenset[str] = frozenset()
    # The two-person rule and confirmations ([[policy.approvals]], [policy.confirm]).
    approvals: tuple[ApprovalRule, ...] = ()
    confirm: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Decision:
    """The outcome of one authorization check, with the rule that decided it."""

    allowed: bool
    verb: str
    user_id: str
    channel_id: str
    roles: tuple[str, ...]
    matched_rule: str
    reason: str


@dataclass(frozen=True)
class Held:
    """A role held here, how (which binding, or default_role), and that binding's scope globs."""

    role: str
    how: str
    containers: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()


def held_roles(policy: Policy, *, user_id: str, user_groups: Collection[str], channel_id: str) -> list[Held]:
    """Every binding that gives this user a role here, in config order, then default_role (unscoped).

    A role held through two bindings appears twice: each binding's scope stands on its own.
    """
    groups = frozenset(user_groups)
    out: list[Held] = []
    for n, b in enumerate(policy.bindings, 1):
        if b.channels and channel_id not in b.channels:
            continue
        if user_id in b.users:
            out.append(Held(b.role, f"binding #{n} (users)", b.containers, b.images, b.hosts))
        elif b.groups & groups:
            out.append(Held(b.role, f"binding #{n} (groups)", b.containers, b.images, b.hosts))
    if policy.default_role:
        out.append(Held(policy.default_role, "default_role"))
    # A role name the policy does not define grants nothing; parse_config rejects it, this is belt and braces.
    return [h for h in out if h.role in policy.roles]


def _lineage(policy: Policy, role: str) -> Iterator[tuple[tuple[str, ...], Role]]:
    """Yield (inheritance path, role) breadth-first from ``role``, each role once."""
    queue: list[tuple[str, ...]] = [(role,)]
    seen = {role}
    while queue:
        path = queue.pop(0)
        r = policy.roles.get(path[-1])
        if r is None:
            continue
        yield path, r
        for parent in r.inherits:
            if parent not in seen:  # cycles are rejected by parse_config; never loop on a hand-built one
                seen.add(parent)
                queue.append((*path, parent))


def _grants(policy: Policy, role: str) -> Iterator[tuple[tuple[str, ...], str]]:
    """Yield (inheritance path, allow entry), so a role's own allows come first."""
    for path, r in _lineage(policy, role):
        for entry in r.allow:
            yield path, entry


def grants_of(policy: Policy, role: str) -> frozenset[str]:
    """The grants ``role`` holds, its own and inherited."""
    return frozenset(g for _, r in _lineage(policy, role) for g in r.grants)


def _allows(policy: Policy, role: str, verb: str) -> tuple[str, ...] | None:
    """Return the inheritance path through which ``role`` allows ``verb``, or None."""
    for path, entry in _grants(policy, role):
        if entry in (verb, WILDCARD):
            return (*path, f"allow {entry}")
    return None


def roles_for(
    policy: Policy, *, user_id: str, user_groups: Collection[str], channel_id: str
) -> tuple[str, ...]:
    """Return the roles this user holds in this channel (bindings in config order, then default_role)."""
    held = held_roles(policy, user_id=user_id, user_groups=user_groups, channel_id=channel_id)
    return tuple(dict.fromkeys(h.role for h in held))


def allowed_verbs(policy: Policy, roles: Collection[str]) -> tuple[str, ...]:
    """The sorted verbs these roles allow, plus the open ones; inheritance and ``*`` expanded."""
    verbs: set[str] = set(policy.open_verbs)
    for role in roles:
        verbs.update(entry for _, entry in _grants(policy, role))
    if WILDCARD in verbs and policy.known_verbs:
        verbs.discard(WILDCARD)
        verbs.update(policy.known_verbs)
    return tuple(sorted(verbs))


def referenced_groups(policy: Policy) -> frozenset[str]:
    """Return every user-group id named by a binding (the only groups worth looking up)."""
    return frozenset(g for b in policy.bindings for g in b.groups) | {g for r in policy.approvals
                                                                       for g in r.groups}


def authorize(
    policy: Policy, *, user_id: str, user_groups: Collection[str], channel_id: str, verb: str,
    needs: Sequence[Requirement] = (), targets: Sequence[Target] = (), host: str = "",
) -> Decision:
    """Decide whether this user may run ``verb`` here, with these requirements, on these targets.

    Allowed when one binding's role allows the verb, holds every grant the requirements need and covers
    every target (scope globs; ``unmanaged`` for containers dockbolt did not create, unless the verb only
    reads and ``read_unmanaged`` is on) and ``host`` (when given: its ``hosts`` globs). Some things no
    grant allows: a requirement without a grant, changing a protected container. Deny by default.
    """
    held = held_roles(policy, user_id=user_id, user_groups=user_groups, channel_id=channel_id)
    roles = tuple(dict.fromkeys(h.role for h in held))

    def decide(allowed: bool, rule: str, reason: str) -> Decision:
        return Decision(allowed, verb, user_id, channel_id, roles, rule, reason)

    if verb in policy.open_verbs:
        return decide(True, "open to everyone", f"allowed: anyone may run `{verb}`")
    # A subcommand (`service scale`) needs a role that allows the verb and the subcommand (service-scale).
    sub = next((n.flag for n in needs if isinstance(n, Subcommand)), verb)
    needs = [n for n in needs if not isinstance(n, Subcommand)]
    reads = sub in policy.read_verbs
    for need in needs:
        if need.grant is None:
            return decide(False, f"guardrail: {need.flag}", f"not allowed: `{need.flag}`: {need.reason}")
    for t in targets:
        if t.protected and not reads:
            return decide(False, f"protected: {t.shown}",
                          f"not allowed: `{t.shown}` is protected (`dockbolt.protected=true`): "
                          f"it cannot be changed from chat")
    allowing = [(h, path) for h in held if (path := _allows(policy, h.role, verb)) is not None
                and _allows(policy, h.role, sub) is not None]
    if not allowing:
        verb_held = any(_allows(policy, h.role, verb) for h in held)
        return _deny_verb(policy, sub if verb_held else verb, roles, decide)
    misses: list[str] = []
    for h, path in allowing:
        grants = grants_of(policy, h.role)
        miss = _shortfalls(policy, h, grants, needs, targets, reads)
        if (why := host_uncovered(h.hosts, host)) is not None:
            miss.insert(0, why)
        if not miss:
            used = sorted({n.grant for n in needs if n.grant} | (
                {"unmanaged"} if "unmanaged" in grants and any(_unmanaged(t) for t in targets) else set()))
            rule = " → ".join((h.how, *path)) + (f" + grants {', '.join(used)}" if used else "")
            return decide(True, rule, f"allowed: {h.role} allows `{sub}`")
        misses.append(f"{h.role} ({h.how}): " + "; ".join(dict.fromkeys(miss)))
    first = misses[0].split(": ", 1)[1] if len(misses) == 1 else "\n".join(f"• {m}" for m in misses)
    return decide(False, "deny: " + " | ".join(misses), f"not allowed: {first}")


def _unmanaged(t: Target) -> bool:
    return t.kind == "container" and not t.managed


def _shortfalls(policy: Policy, h: Held, grants: frozenset[str], needs: Sequence[Requirement],
                targets: Sequence[Target], reads: bool) -> list[str]:
    """What this binding lacks for the command: grants, scope, `unmanaged` (empty: it allows it)."""
    miss = [f"`{n.flag}` needs the grant `{n.grant}`" for n in needs if n.grant not in grants]
    may_read_unmanaged = reads and policy.guardrails.read_unmanaged
    for t in targets:
        if _unmanaged(t) and "unmanaged" not in grants and not may_read_unmanaged:
            miss.append(f"`{t.shown}` is not managed by dockbolt: that needs the grant `unmanaged`")
        elif (why := uncovered(h.containers, h.images, t)) is not None:
            miss.append(why)
    return miss


def _deny_verb(policy: Policy, verb: str, roles: tuple[str, ...],
               decide: Callable[[bool, str, str], Decision]) -> Decision:
    if not roles:
        return decide(False, "no role here: deny by default",
                      "not allowed: you have no role in this channel (ask an admin; `whoami` shows your id)")
    needed = [name for name in policy.roles if _allows(policy, name, verb) is not None]
    rule = f"deny by default: none of {', '.join(roles)} allows {verb}"
    if not needed:
        return decide(False, rule, f"not allowed: no role allows `{verb}`")
    return decide(
        False,
        rule,
        f"not allowed: `{verb}` needs a role that allows it ({', '.join(needed)}); "
        f"you have {', '.join(roles)} in this channel",
    )


def decision_log_line(decision: Decision) -> str:
    """Return one JSON line describing the decision, for the audit log."""
    return json.dumps(
        {
            "event": "authz",
            "allowed": decision.allowed,
            "user": decision.user_id,
            "channel": decision.channel_id,
            "verb": decision.verb,
            "roles": list(decision.roles),
            "rule": decision.matched_rule,
        },
        ensure_ascii=False,
    )
