"""Two-person rule and confirmations: which commands need a second person's click, or the caller's own.

``[[policy.approvals]]`` rules name verbs (and optionally the containers or apps they act on) whose
commands are not queued when typed: an approval request is posted instead, and the command runs only once
an approver — not the requester, named by the rule, holding a binding that allows the verb — clicks
Approve before the request expires. ``[policy.confirm]`` makes a verb ask its caller first ("always", or
"many": only when it names more than one container).

Requests live in Redis (``dockbolt:approval:<id>``, a hash) with a sorted set of pending ones by expiry;
a request is decided once (a Lua compare-and-set): two approvers clicking at once run the command once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from redis import Redis

from dockbolt.core.units import duration_seconds

CONFIRM_WHEN = ("always", "many", "never")
DEFAULT_EXPIRES = 900
PENDING = "dockbolt:approvals:pending"
KEEP_SECONDS = 7 * 24 * 3600
Problems = list[tuple[str, str]]

# Decide a pending request once: KEYS[1] the request, KEYS[2] the pending set; ARGV status, by.
_DECIDE_LUA = """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'pending' then return status or false end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'decided_by', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[3])
return 'pending'
"""


@dataclass(frozen=True)
class ApprovalRule:
    """One ``[[policy.approvals]]`` entry."""

    verbs: tuple[str, ...]
    containers: tuple[str, ...] = ()
    apps: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    expires: int = DEFAULT_EXPIRES

    def matches(self, verb: str, targets: Sequence[str], app: str = "") -> bool:
        """True when a command of ``verb`` on ``targets`` (containers) or ``app`` needs approval."""
        if verb not in self.verbs:
            return False
        if not self.containers and not self.apps:
            return True
        return (any(fnmatchcase(t, g) for t in targets for g in self.containers)
                or (bool(app) and any(fnmatchcase(app, g) for g in self.apps)))

    def approver(self, user_id: str, user_groups: Sequence[str]) -> bool:
        """Whether the rule names this user, directly or through a user group."""
        return user_id in self.users or any(g in self.groups for g in user_groups)


def rule_for(rules: Sequence[ApprovalRule], verb: str, targets: Sequence[str],
             app: str = "") -> ApprovalRule | None:
    """The first rule a command matches, if any."""
    return next((r for r in rules if r.matches(verb, targets, app)), None)


def needs_confirm(confirm: Mapping[str, str], verb: str, names: int) -> bool:
    """Whether ``[policy.confirm]`` makes this command ask its caller first."""
    when = confirm.get(verb, "never")
    return when == "always" or (when == "many" and names > 1)


def parse_approvals(data: object, known_verbs: Sequence[str]) -> tuple[tuple[ApprovalRule, ...], Problems]:
    """The ``[[policy.approvals]]`` array, and its problems as (path, problem)."""
    problems: Problems = []
    if not isinstance(data, list):
        return (), [("policy.approvals", "must be an array of tables ([[policy.approvals]])")]
    rules = []
    for i, entry in enumerate(data):
        path = f"policy.approvals[{i}]"
        if not isinstance(entry, dict):
            problems.append((path, "must be a table"))
            continue
        for key in set(entry) - {"verbs", "containers", "apps", "approvers", "expires"}:
            problems.append((f"{path}.{key}", "unknown key (verbs, containers, apps, approvers, expires)"))
        verbs = _strings(entry, "verbs", path, problems)
        problems += [(f"{path}.verbs", f"unknown verb {v!r}") for v in verbs if v not in known_verbs]
        if not verbs:
            problems.append((f"{path}.verbs", "must name at least one verb"))
        who = entry.get("approvers", {})
        if not isinstance(who, dict) or set(who) - {"users", "groups"}:
            problems.append((f"{path}.approvers", "must be a table with `users` and/or `groups`"))
            who = {}
        users, groups = _strings(who, "users", path, problems), _strings(who, "groups", path, problems)
        if not users and not groups:
            problems.append((f"{path}.approvers", "must name at least one user or group"))
        expires = duration_seconds(str(entry.get("expires", "15m")))
        if not expires:
            problems.append((f"{path}.expires", "must be a duration like `15m` or `1h`"))
        rules.append(ApprovalRule(verbs=verbs, containers=_strings(entry, "containers", path, problems),
                                  apps=_strings(entry, "apps", path, problems), users=users, groups=groups,
                                  expires=expires or DEFAULT_EXPIRES))
    return tuple(rules), problems


def parse_confirm(data: object, known_verbs: Sequence[str]) -> tuple[dict[str, str], Problems]:
    """The ``[policy.confirm]`` table (verb = "always" | "many" | "never"), and its problems."""
    if not isinstance(data, dict):
        return {}, [("policy.confirm", 'must be a table like { rm = "always", stop = "many" }')]
    problems: Problems = [(f"policy.confirm.{v}", "unknown verb") for v in data if v not in known_verbs]
    problems += [(f"policy.confirm.{v}", f"must be one of {', '.join(CONFIRM_WHEN)}")
                 for v, when in data.items() if when not in CONFIRM_WHEN]
    return {str(v): str(w) for v, w in data.items()}, problems


def _strings(table: Mapping[str, Any], key: str, path: str, problems: Problems) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append((f"{path}.{key}", "must be an array of strings"))
        return ()
    return tuple(value)


@dataclass(frozen=True)
class ApprovalRequest:
    """A command waiting for a second person. ``text`` is the command as typed (it runs again, as the
    requester, once approved); ``shown`` is what messages show (secrets masked)."""

    request_id: str
    text: str
    shown: str
    verb: str
    user_id: str
    channel_id: str
    expires_at: float
    rule: ApprovalRule
    status: str = "pending"  # pending | approved | denied | expired
    decided_by: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def to_fields(self) -> dict[str, str]:
        """The Redis hash of a new request."""
        d = asdict(self)
        return {k: json.dumps(v) if k in ("rule", "extra") else str(v) for k, v in d.items()}

    @classmethod
    def from_fields(cls, raw: Mapping[bytes | str, bytes | str]) -> ApprovalRequest:
        """Read a request back from its hash."""
        d = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
             for k, v in raw.items()}
        r = json.loads(d.pop("rule"))
        rule = ApprovalRule(verbs=tuple(r["verbs"]), containers=tuple(r["containers"]), apps=tuple(r["apps"]),
                            users=tuple(r["users"]), groups=tuple(r["groups"]), expires=int(r["expires"]))
        return cls(**{**d, "rule": rule, "expires_at": float(d["expires_at"]),
                      "extra": json.loads(d.get("extra", "{}"))})


class ApprovalStore:
    """Approval requests in Redis."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._decide = redis.register_script(_DECIDE_LUA)

    def create(self, req: ApprovalRequest) -> None:
        """Record a new pending request."""
        pipe = self.redis.pipeline()
        pipe.hset(_key(req.request_id), mapping=req.to_fields())  # type: ignore[arg-type]
        pipe.expire(_key(req.request_id), KEEP_SECONDS)
        pipe.zadd(PENDING, {req.request_id: req.expires_at})
        pipe.execute()

    def get(self, request_id: str) -> ApprovalRequest | None:
        """The request, or None when there is none (never made, or long gone)."""
        raw = self.redis.hgetall(_key(request_id))
        return ApprovalRequest.from_fields(raw) if raw else None

    def decide(self, request_id: str, status: str, by: str) -> str | None:
        """Move a pending request to ``status``; the status it had ("pending" when this call decided it,
        else what someone decided before; None: no such request)."""
        before = self._decide(keys=[_key(request_id), PENDING], args=[status, by, request_id])
        return before.decode() if isinstance(before, bytes) else before

    def due(self, now: float) -> list[str]:
        """Pending requests whose time is up."""
        return [r.decode() if isinstance(r, bytes) else str(r)
                for r in self.redis.zrangebyscore(PENDING, "-inf", now)]


def _key(request_id: str) -> str:
    return f"dockbolt:approval:{request_id}"
