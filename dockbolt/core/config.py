"""The TOML config file (``[slack]`` and the ``[rbac]`` policy), read once and validated all at once.

An invalid file stops start-up with ``ConfigError``: every problem is collected, one line each, as
``<file>: <key>: <problem>``. Array positions in keys count from 0 (``allow[0]`` is the first entry).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from dockbolt.core.approvals import parse_approvals, parse_confirm
from dockbolt.core.apps import AppConfig, RunWords, parse_apps
from dockbolt.core.buildsrc import BuildConfig
from dockbolt.core.contract import check_host_name
from dockbolt.core.errors import ConfigError
from dockbolt.core.guardrails import KEYS, parse_guardrails
from dockbolt.core.monitor import MonitorConfig, parse_monitor
from dockbolt.core.rbac import DEFAULT_ROLES, GRANTS, WILDCARD, Binding, DefaultRole, Policy, Role
from dockbolt.core.units import duration_seconds

# Slack ids are upper-case alphanumerics with a type prefix; anything else is a typo or a display name.
USER_ID_RE = re.compile(r"^[UW][A-Z0-9]+\Z")
GROUP_ID_RE = re.compile(r"^S[A-Z0-9]+\Z")
CHANNEL_ID_RE = re.compile(r"^[CGD][A-Z0-9]+\Z")
ROLE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+\Z")
# Slack: a command starts with "/", is lower-case, has no spaces and at most 32 characters.
COMMAND_RE = re.compile(r"^/[^\sA-Z/]{1,31}\Z")

_ID_SHAPES = {
    "users": (USER_ID_RE, 'a Slack user id (starts with U or W, e.g. "U0123ABC")'),
    "groups": (GROUP_ID_RE, 'a Slack user-group id (starts with S, e.g. "S0456DEF")'),
    "channels": (CHANNEL_ID_RE, 'a Slack channel id (starts with C, G or D, e.g. "C0123456")'),
}
_TOML_TYPES = {str: "string", bool: "boolean", int: "integer", float: "float", list: "array", dict: "table"}


@dataclass(frozen=True)
class SlackConfig:
    """The ``[slack]`` table."""

    command: str = "/docker"
    notify_channel: str = ""
    delivery_ttl: int = 3600  # seconds a report keeps being retried while Slack does not take it
    # Read-only verbs whose answers always go to the caller alone (as if typed with `--private`).
    private_verbs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class HostsConfig:
    """The ``[hosts]`` table: a default Docker host per channel (``[[hosts.channels]]``)."""

    channels: Mapping[str, str] = field(default_factory=dict)  # channel id → host name


@dataclass(frozen=True)
class Config:
    """The whole validated config file."""

    source: str
    slack: SlackConfig
    policy: Policy
    build: BuildConfig = field(default_factory=BuildConfig)
    apps: Mapping[str, AppConfig] = field(default_factory=dict)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    hosts: HostsConfig = field(default_factory=HostsConfig)


def _tname(value: object) -> str:
    return _TOML_TYPES.get(type(value), type(value).__name__)


def _hint(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


class _Checker:
    """Collects problems instead of stopping at the first, so one edit fixes everything."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def add(self, key: str, problem: str) -> None:
        self.problems.append(f"{self.source}: {key}: {problem}")

    def table(self, value: object, key: str, allowed: Collection[str] | None) -> dict[str, Any]:
        """Return ``value`` as a table (empty if it is not one), reporting keys outside ``allowed``."""
        if not isinstance(value, dict):
            self.add(key, f"must be a table, got {_tname(value)}")
            return {}
        for k in value:
            if allowed is not None and k not in allowed:
                self.add(f"{key}.{k}" if key else k, f'unknown key "{k}"{_hint(k, allowed)}')
        return value

    def string(self, table: Mapping[str, Any], key: str, name: str, default: str | None) -> str | None:
        """Return the string at ``name`` (``default`` if absent; required when default is None)."""
        path = f"{key}.{name}" if key else name
        if name not in table:
            if default is None:
                self.add(path, "missing (required)")
            return default
        value = table[name]
        if not isinstance(value, str):
            self.add(path, f"must be a string, got {_tname(value)}")
            return None
        return value

    def strings(
        self, table: Mapping[str, Any], key: str, name: str, check: Callable[[str], str | None] | None = None
    ) -> tuple[str, ...]:
        """Return the strings at ``name`` that pass ``check`` (which returns a problem, or None if fine)."""
        path = f"{key}.{name}"
        value = table.get(name, [])
        if not isinstance(value, list):
            self.add(path, f"must be an array of strings, got {_tname(value)}")
            return ()
        out = []
        for i, item in enumerate(value):
            problem = f"must be a string, got {_tname(item)}" if not isinstance(item, str) else None
            if problem is None and check is not None:
                problem = check(item)
            if problem is None:
                out.append(item)
            else:
                self.add(f"{path}[{i}]", problem)
        return tuple(out)

    def role_ref(self, path: str, name: str, roles: Collection[str]) -> bool:
        """Report ``name`` unless it is a declared role."""
        if name in roles:
            return True
        known = f" (roles: {', '.join(roles)})" if roles else " (no roles are defined)"
        self.add(path, f'unknown role "{name}"' + (_hint(name, roles) or known))
        return False


def _parse_slack(c: _Checker, data: object, catalog: Catalog | None = None) -> SlackConfig:
    t = c.table(data, "slack", ("command", "notify_channel", "delivery_ttl", "private_verbs"))
    command = c.string(t, "slack", "command", "/docker")
    if command is not None and not COMMAND_RE.match(command):
        c.add("slack.command", f'"{command}" is not a slash command (like "/docker": lower-case, no spaces)')
    notify = c.string(t, "slack", "notify_channel", "")
    if notify and not CHANNEL_ID_RE.match(notify):
        c.add("slack.notify_channel", f'"{notify}" is not {_ID_SHAPES["channels"][1]}')
    raw_ttl = t.get("delivery_ttl", 3600)
    ttl = raw_ttl if isinstance(raw_ttl, int) and not isinstance(raw_ttl, bool) else (
        duration_seconds(raw_ttl) if isinstance(raw_ttl, str) else None)
    if not ttl or ttl <= 0:
        c.add("slack.delivery_ttl",
              f'{raw_ttl!r} is not a duration like "1h", "30m" or a number of seconds > 0')
    private = c.strings(t, "slack", "private_verbs", lambda v: _private_problem(v, catalog or {}))
    return SlackConfig(command=command or "/docker", notify_channel=notify or "",
                       delivery_ttl=ttl if ttl and ttl > 0 else 3600, private_verbs=frozenset(private))


def _private_problem(verb: str, catalog: Catalog) -> str | None:
    """Why ``verb`` cannot answer privately (None: it can): only verbs that read (default role viewer)."""
    if verb not in catalog:
        return f'unknown verb "{verb}"{_hint(verb, catalog)}'
    if verb == "service":
        return '"service" also changes things: name the subcommands that read ("service-ls", …)'
    if catalog[verb] != "viewer":
        return f'"{verb}" changes things; only verbs that read can answer privately'
    return None


_HOST_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?\Z")


def _parse_hosts(c: _Checker, data: object) -> HostsConfig:
    t = c.table(data, "hosts", ("channels",))
    entries = t.get("channels", [])
    if not isinstance(entries, list):
        c.add("hosts.channels", f"must be an array of tables ([[hosts.channels]]), got {_tname(entries)}")
        return HostsConfig()
    channels: dict[str, str] = {}
    for i, body in enumerate(entries):
        key = f"hosts.channels[{i}]"
        e = c.table(body, key, ("channel", "host"))
        channel, host = c.string(e, key, "channel", None), c.string(e, key, "host", None)
        if channel is not None and not CHANNEL_ID_RE.match(channel):
            c.add(f"{key}.channel", f'"{channel}" is not {_ID_SHAPES["channels"][1]}')
        elif channel in channels:
            c.add(f"{key}.channel", f'"{channel}" already has the default host "{channels[channel]}"')
        if host is not None:
            try:
                check_host_name(host)
            except ValueError as exc:
                c.add(f"{key}.host", str(exc))
        if channel and host:
            channels.setdefault(channel, host)
    return HostsConfig(channels=MappingProxyType(channels))


def _parse_build(c: _Checker, data: object) -> BuildConfig:
    t = c.table(data, "build", ("context_roots", "allow_git_hosts"))
    roots = c.strings(t, "build", "context_roots", lambda r: None if r.startswith("/") and r != "/"
                      else "must be an absolute directory (not /)")
    hosts = c.strings(t, "build", "allow_git_hosts",
                      lambda h: None if _HOST_RE.match(h) else "must be a host name like git.example.com")
    return BuildConfig(context_roots=tuple(r.rstrip("/") for r in roots), allow_git_hosts=hosts)


def _parse_roles(c: _Checker, data: object, known_verbs: Collection[str]) -> dict[str, Role]:
    roles: dict[str, Role] = {}
    table = c.table(data, "rbac.roles", None) if data is not None else {}
    for name, body in table.items():
        key = f"rbac.roles.{name}"
        if not ROLE_NAME_RE.match(name):
            c.add(key, f'role name "{name}" may use only letters, digits, "_" and "-"')
        t = c.table(body, key, ("allow", "inherits", "grants"))

        def check_verb(verb: str) -> str | None:
            if verb == WILDCARD or verb in known_verbs:
                return None
            return f'unknown verb "{verb}"' + (_hint(verb, known_verbs) or ' (or "*" for every verb)')

        def check_grant(grant: str) -> str | None:
            if grant in GRANTS:
                return None
            return f'unknown grant "{grant}"' + (_hint(grant, GRANTS) or f" (grants: {', '.join(GRANTS)})")

        allow = c.strings(t, key, "allow", check_verb)
        roles[name] = Role(name=name, allow=allow, inherits=c.strings(t, key, "inherits"),
                           grants=c.strings(t, key, "grants", check_grant))
    return roles


def _check_inheritance(c: _Checker, roles: Mapping[str, Role]) -> None:
    for name, role in roles.items():
        for i, parent in enumerate(role.inherits):
            c.role_ref(f"rbac.roles.{name}.inherits[{i}]", parent, roles)
    cycles: set[tuple[str, ...]] = set()

    def visit(path: tuple[str, ...]) -> None:
        for parent in roles[path[-1]].inherits:
            if parent in path:
                cycle = path[path.index(parent) :]
                start = cycle.index(min(cycle))  # rotate so each cycle is reported once
                cycles.add(cycle[start:] + cycle[:start])
            elif parent in roles:
                visit((*path, parent))

    for name in roles:
        visit((name,))
    for cycle in sorted(cycles):
        c.add(f"rbac.roles.{cycle[0]}.inherits", f"inheritance cycle {' → '.join((*cycle, cycle[0]))}")


def _parse_binding(c: _Checker, key: str, body: object, roles: Collection[str]) -> Binding | None:
    if not isinstance(body, dict):
        c.add(key, f"must be a table, got {_tname(body)}")
        return None
    t = c.table(body, key, ("role", *_ID_SHAPES, "containers", "images", "hosts"))
    role = c.string(t, key, "role", None)
    if role is not None:
        c.role_ref(f"{key}.role", role, roles)
    ids: dict[str, frozenset[str]] = {}
    for kind, (shape, what) in _ID_SHAPES.items():

        def check_id(value: str, shape: re.Pattern[str] = shape, what: str = what) -> str | None:
            return None if shape.match(value) else f'"{value}" is not {what}'

        ids[kind] = frozenset(c.strings(t, key, kind, check_id))
    if not t.get("users") and not t.get("groups"):  # wrong types were reported above; don't pile on
        c.add(key, "binding names nobody: give users and/or groups")
    return Binding(role=role or "", users=ids["users"], groups=ids["groups"], channels=ids["channels"],
                   containers=c.strings(t, key, "containers", _check_glob),
                   images=c.strings(t, key, "images", _check_glob),
                   hosts=c.strings(t, key, "hosts", _check_glob))


def _check_glob(glob: str) -> str | None:
    return None if glob.strip() else "must not be empty (use \"*\" for every name)"


def _parse_bindings(c: _Checker, data: object, roles: Collection[str]) -> list[Binding]:
    if not isinstance(data, list):
        c.add("rbac.bindings", f"must be an array of tables ([[rbac.bindings]]), got {_tname(data)}")
        return []
    parsed = (_parse_binding(c, f"rbac.bindings[{i}]", body, roles) for i, body in enumerate(data))
    return [b for b in parsed if b is not None]


# Every verb's default role, by name: the bot builds it from its verb specs (``bot.verbs.CATALOG``) and
# hands it to the worker through the composition root, so both sides read the same file the same way.
Catalog = Mapping[str, DefaultRole]


def built_in_roles(catalog: Catalog) -> dict[str, Role]:
    """viewer, operator and deployer (both inherit viewer) and admin ("*"), their verbs from each verb's
    default role."""
    allows = default_allows(catalog)
    return {
        "viewer": Role("viewer", allow=allows["viewer"]),
        "operator": Role("operator", allow=allows["operator"], inherits=("viewer",)),
        "deployer": Role("deployer", allow=allows["deployer"], inherits=("viewer",)),
        "admin": Role("admin", allow=(WILDCARD,)),
    }


def parse_config(data: Mapping[str, Any], source: str, catalog: Catalog,
                 run_parser: RunWords | None = None) -> Config:
    """Validate an already-parsed TOML document; raise ConfigError listing every problem.

    The built-in roles (``built_in_roles``) exist unless the file defines a role of the same name.
    ``run_parser`` checks the apps' run tables as the `run` verb would (the bot's parser).
    """
    c = _Checker(source)
    known_verbs = tuple(catalog)
    top = c.table(dict(data), "", ("slack", "rbac", "policy", "build", "apps", "monitor", "hosts"))
    slack = _parse_slack(c, top.get("slack", {}), catalog)
    build = _parse_build(c, top.get("build", {}))
    apps = parse_apps(c, top.get("apps", {}), build, slack.notify_channel, run_parser)
    monitor = parse_monitor(c, top.get("monitor", {}), slack.notify_channel)
    hosts = _parse_hosts(c, top.get("hosts", {}))
    rbac = c.table(top.get("rbac", {}), "rbac", ("default_role", "roles", "bindings"))
    defined = _parse_roles(c, rbac.get("roles"), known_verbs)
    roles = {name: role for name, role in built_in_roles(catalog).items() if name not in defined} | defined
    _check_inheritance(c, roles)
    bindings = _parse_bindings(c, rbac.get("bindings", []), roles)
    default_role = c.string(rbac, "rbac", "default_role", "") or ""
    if default_role:
        c.role_ref("rbac.default_role", default_role, roles)
    policy_table = c.table(top.get("policy", {}), "policy", (*KEYS, "approvals", "confirm"))
    approvals, approval_problems = parse_approvals(policy_table.pop("approvals", []), known_verbs)
    confirm, confirm_problems = parse_confirm(policy_table.pop("confirm", {}), known_verbs)
    for path, problem in approval_problems + confirm_problems:
        c.add(path, problem)
    guardrails, problems = parse_guardrails(policy_table)
    for key, problem in problems:
        if problem != "unknown key":  # c.table reported it, with a hint
            c.add(f"policy.{key}", problem)
    if c.problems:
        raise ConfigError(c.problems)
    policy = Policy(
        guardrails=guardrails,
        open_verbs=frozenset(v for v, role in catalog.items() if role == "everyone"),
        read_verbs=frozenset(v for v, role in catalog.items() if role == "viewer"),
        roles=MappingProxyType(roles),
        bindings=tuple(bindings),
        default_role=default_role,
        known_verbs=tuple(sorted(known_verbs)),
        approvals=approvals,
        confirm=MappingProxyType(confirm),
    )
    return Config(source=source, slack=slack, policy=policy, build=build, apps=MappingProxyType(apps),
                  monitor=monitor, hosts=hosts)


def load_config(path: str, catalog: Catalog, run_parser: RunWords | None = None) -> Config:
    """Read and validate the TOML config at ``path``; raise ConfigError naming every problem."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: config file not found (create it, or set DOCKBOLT_CONFIG to its path)"]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: {_syntax_line(str(exc))}TOML syntax error: {exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config file: {exc.strerror or exc}"]) from None
    return parse_config(data, path, catalog, run_parser)


def _syntax_line(message: str) -> str:
    # tomllib puts the position at the end ("... (at line 3, column 5)"); lead with it so it is seen first.
    m = re.search(r"at line (\d+)", message)
    return f"line {m.group(1)}: " if m else ""


def default_allows(catalog: Catalog) -> dict[DefaultRole, tuple[str, ...]]:
    """Each default role's own verbs, from the catalog (in its order)."""
    allows: dict[DefaultRole, tuple[str, ...]] = {role: () for role in DEFAULT_ROLES}
    for verb, role in catalog.items():
        allows[role] += (verb,)
    return allows
