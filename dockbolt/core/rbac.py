"""Role-based authorization: the declarative policy and one pure ``authorize()`` function.

Deny by default. The roles a user holds *here* are every binding that names them (by user id or by one of
their user groups) and whose channel list, if any, includes this channel, plus ``default_role``. Roles
inherit transitively; ``"*"`` allows every verb. The caller logs every decision with ``decision_log_line``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from dockbolt.core.guardrails import Guardrails

WILDCARD = "*"
# The built-in roles, least to most powerful; operator inherits viewer, admin allows "*". Every verb
# names the one it belongs to (its "default role"), which is how the built-in roles get their verbs.
DefaultRole = Literal["viewer", "operator", "admin"]
DEFAULT_ROLES: tuple[DefaultRole, ...] = ("viewer", "operator", "admin")


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
    (resp. image) matches one of them.
    """

    role: str
    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    containers: tuple[str, ...] = ()
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    """Roles (in config order), bindings (in config order), the role of users with no binding, guardrails."""

    roles: Mapping[str, Role] = field(default_factory=lambda: MappingProxyType({}))
    bindings: tuple[Binding, ...] = ()
    default_role: str = ""
    # Lets allowed_verbs() expand "*" into real verb names; empty means "*" is reported as is.
    known_verbs: tuple[str, ...] = ()
    guardrails: Guardrails = field(default_factory=Guardrails)


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


def _held(
    policy: Policy, user_id: str, user_groups: Collection[str], channel_id: str
) -> list[tuple[str, str]]:
    """Return (role, how it was granted) for every role held here, first grant wins, config order."""
    groups = frozenset(user_groups)
    out: dict[str, str] = {}
    for n, b in enumerate(policy.bindings, 1):
        if b.channels and channel_id not in b.channels:
            continue
        if user_id in b.users:
            out.setdefault(b.role, f"binding #{n} (users)")
        elif b.groups & groups:
            out.setdefault(b.role, f"binding #{n} (groups)")
    if policy.default_role:
        out.setdefault(policy.default_role, "default_role")
    # A role name the policy does not define grants nothing; parse_config rejects it, this is belt and braces.
    return [(r, how) for r, how in out.items() if r in policy.roles]


def _grants(policy: Policy, role: str) -> Iterator[tuple[tuple[str, ...], str]]:
    """Yield (inheritance path, allow entry) breadth-first, so a role's own allows come first."""
    queue: list[tuple[str, ...]] = [(role,)]
    seen = {role}
    while queue:
        path = queue.pop(0)
        r = policy.roles.get(path[-1])
        if r is None:
            continue
        for entry in r.allow:
            yield path, entry
        for parent in r.inherits:
            if parent not in seen:  # cycles are rejected by parse_config; never loop on a hand-built one
                seen.add(parent)
                queue.append((*path, parent))


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
    return tuple(r for r, _ in _held(policy, user_id, user_groups, channel_id))


def allowed_verbs(policy: Policy, roles: Collection[str]) -> tuple[str, ...]:
    """Return the sorted verbs these roles allow, inheritance and ``*`` expanded (``*`` if verbs unknown)."""
    verbs: set[str] = set()
    for role in roles:
        verbs.update(entry for _, entry in _grants(policy, role))
    if WILDCARD in verbs and policy.known_verbs:
        verbs.discard(WILDCARD)
        verbs.update(policy.known_verbs)
    return tuple(sorted(verbs))


def referenced_groups(policy: Policy) -> frozenset[str]:
    """Return every user-group id named by a binding (the only groups worth looking up)."""
    return frozenset(g for b in policy.bindings for g in b.groups)


def authorize(
    policy: Policy, *, user_id: str, user_groups: Collection[str], channel_id: str, verb: str
) -> Decision:
    """Decide whether this user may run ``verb`` in this channel; deny unless some held role allows it."""
    held = _held(policy, user_id, user_groups, channel_id)
    roles = tuple(r for r, _ in held)

    def decide(allowed: bool, rule: str, reason: str) -> Decision:
        return Decision(allowed, verb, user_id, channel_id, roles, rule, reason)

    for role, how in held:
        path = _allows(policy, role, verb)
        if path is not None:
            return decide(True, " → ".join((how, *path)), f"allowed: {role} allows `{verb}`")
    if not roles:
        return decide(False, "no role here: deny by default", "not allowed: you have no role in this channel")
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
