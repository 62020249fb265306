"""Declarative verb specs: what a verb accepts, who may run it by default, how it is queued, its usage."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from dockbolt.core.apps import AppConfig
from dockbolt.core.args import Args
from dockbolt.core.audit import AuditLog
from dockbolt.core.deploys import DeployStore
from dockbolt.core.hosts import HostRegistry
from dockbolt.core.incidents import MuteStore
from dockbolt.core.rbac import DefaultRole, Policy

FlagKind = Literal["bool", "value", "multi"]


@dataclass(frozen=True)
class Flag:
    """One flag: its spellings, where its value goes in args, and how a value is checked/converted."""

    names: tuple[str, ...]
    dest: str
    kind: FlagKind = "bool"
    metavar: str = ""
    # Converts one raw value; raises ValueError with a user-facing message when the value is bad.
    convert: Callable[[str], Any] | None = None


@dataclass(frozen=True)
class LocalContext:
    """What a bot-answered (not queued) verb needs to answer."""

    user_id: str
    channel_id: str
    args: Args
    roles: tuple[str, ...]
    allowed_verbs: tuple[str, ...]
    recent_jobs: Callable[[], list[dict[str, Any]]]
    # The audit trail, for `audit` (None when the bot runs without one).
    audit: AuditLog | None = None
    # The policy and the caller's user groups, for verbs that explain it (whoami, why).
    policy: Policy = field(default_factory=Policy)
    user_groups: frozenset[str] = frozenset()
    # For the app verbs (lock, unlock, deploys): the configured apps and their state in Redis.
    apps: Mapping[str, AppConfig] = field(default_factory=dict)
    deploys: DeployStore | None = None
    # For `mute`/`unmute`: the mutes every host's watcher reads.
    mutes: MuteStore | None = None
    # For `hosts`: the hosts the workers registered.
    hosts: HostRegistry | None = None
    # Says something in a channel (channel, text), delivered after the answer: `lock` tells the app's.
    note: Callable[[str, str], None] | None = None


@dataclass(frozen=True)
class VerbSpec:
    """A verb: flags, positional arity, how parsed pieces become its typed args, default role, job timeout."""

    name: str
    summary: str
    usage: str
    # Which role of the default config allows it: viewer (reads), operator (changes), admin (the rest).
    default_role: DefaultRole
    flags: tuple[Flag, ...] = ()
    min_positionals: int = 0
    max_positionals: int | None = 0
    # For `run`: everything after the first positional (IMAGE) is the container's command.
    stop_at_first_positional: bool = False
    # Builds the typed args from parsed flags (by dest) and positionals; raises ValueError on bad input.
    build: Callable[[dict[str, Any], list[str]], Args] | None = None
    # Job timeout in seconds for queued verbs.
    timeout: int = 60
    # Verbs answered by the bot itself (help, whoami, jobs): never queued, answered privately.
    answer: Callable[[LocalContext], str] | None = field(default=None)
    # Whether `@all` may fan it out to every live host (one merged table with a HOST column).
    fans_out: bool = False

    @property
    def queued(self) -> bool:
        """True when the verb runs as a job on a worker."""
        return self.answer is None


@dataclass(frozen=True)
class ParsedCommand:
    """A validated command: the verb and its typed args."""

    verb: str
    args: Args
    text: str
    # `@NAME` typed before the verb ("" none; "all" the fan-out).
    host: str = ""
