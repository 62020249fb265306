"""A thread-safe, time-limited cache of Slack user-group members, for group bindings.

``usergroups.users.list`` is Tier 2 (about 20 calls a minute) and missing on free workspaces
(``plan_upgrade_required``), so each group is fetched at most once per ``ttl``, and only groups some
binding names are ever asked about. On a free plan groups count as empty and one warning says so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

PLAN_UPGRADE_REQUIRED = "plan_upgrade_required"
PLAN_WARNING = "user groups unavailable on this Slack plan; only user bindings apply"


@dataclass(frozen=True)
class _Entry:
    members: frozenset[str]
    expires: float


def _is_plan_error(exc: Exception) -> bool:
    """True when Slack refused the call because the workspace's plan has no user groups."""
    if isinstance(exc, SlackApiError) and exc.response.get("error") == PLAN_UPGRADE_REQUIRED:
        return True
    return PLAN_UPGRADE_REQUIRED in str(exc)


class UserGroupCache:
    """Answers "which of these groups is this user in?", calling ``fetch(group_id)`` at most once per ttl."""

    def __init__(
        self,
        fetch: Callable[[str], list[str]],
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        error_ttl: float = 30.0,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        # A failed fetch (Slack down, rate limited) is retried sooner than a good answer expires, but not
        # on every command: that would make each slash command wait on a failing Tier-2 call.
        self._error_ttl = min(error_ttl, ttl)
        self._clock = clock
        self._lock = threading.Lock()
        self._group_locks: dict[str, threading.Lock] = {}
        self._entries: dict[str, _Entry] = {}
        self._stale: dict[str, frozenset[str]] = {}
        self._unavailable_until: float | None = None
        self._warned = False

    def groups_of(self, user_id: str, candidate_groups: Iterable[str]) -> frozenset[str]:
        """Return the subset of ``candidate_groups`` that ``user_id`` belongs to."""
        return frozenset(g for g in set(candidate_groups) if user_id in self._members(g))

    def _members(self, group: str) -> frozenset[str]:
        with self._lock:
            hit = self._cached(group)
            if hit is not None:
                return hit
            group_lock = self._group_locks.setdefault(group, threading.Lock())
        # One fetch per group at a time, outside the main lock, so a slow group doesn't block others.
        with group_lock:
            with self._lock:
                hit = self._cached(group)  # another thread may have fetched it while we waited
                if hit is not None:
                    return hit
            try:
                members = frozenset(self._fetch(group))
            except Exception as exc:  # any Slack failure degrades; it never breaks a command
                return self._failed(group, exc)
            with self._lock:
                self._entries[group] = _Entry(members, self._clock() + self._ttl)
                self._stale[group] = members
                self._unavailable_until = None
                self._warned = False
            return members

    def _cached(self, group: str) -> frozenset[str] | None:
        """Return the cached members (empty while groups are unavailable), or None if a fetch is due."""
        now = self._clock()
        if self._unavailable_until is not None and now < self._unavailable_until:
            return frozenset()
        entry = self._entries.get(group)
        return entry.members if entry is not None and now < entry.expires else None

    def _failed(self, group: str, exc: Exception) -> frozenset[str]:
        with self._lock:
            now = self._clock()
            if _is_plan_error(exc):
                # A plan limit holds for every group: stop asking about any of them until ttl passes.
                self._unavailable_until = now + self._ttl
                if not self._warned:
                    self._warned = True
                    log.warning(PLAN_WARNING)
                return frozenset()
            members = self._stale.get(group, frozenset())
            self._entries[group] = _Entry(members, now + self._error_ttl)
        log.warning(
            "user group %s: lookup failed (%s); using %s",
            group,
            exc,
            "last known members" if group in self._stale else "no members",
        )
        return members
