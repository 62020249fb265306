"""The ``[policy]`` table: what `run` may create by default, what chat may read, limits, redaction, job age.

Read by the bot (ack-time checks, rate limit) and by the worker (the same checks again, the defaults it
applies to every container, the job's maximum age), from the same file. ``parse_guardrails`` returns the
table and every problem in it (key, problem); the config module reports them with the rest.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from dockbolt.core.units import duration_seconds, memory_bytes

MIB = 1 << 20
_RATE_RE = re.compile(r"^(\d+)\s*/\s*(second|minute|hour|s|m|h)\Z")
_PER = {"second": 1, "s": 1, "minute": 60, "m": 60, "hour": 3600, "h": 3600}


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` commands per user in ``per_seconds``."""

    count: int
    per_seconds: int

    def __str__(self) -> str:
        unit = {1: "second", 60: "minute", 3600: "hour"}.get(self.per_seconds)
        return f"{self.count}/{unit}" if unit else f"{self.count} per {self.per_seconds}s"


@dataclass(frozen=True)
class Guardrails:
    """The ``[policy]`` table, with the defaults a fresh install runs with."""

    # Host paths that may be bind-mounted (with the `host-mounts` grant), normalised, never "/".
    allowed_host_paths: tuple[str, ...] = ()
    # Image globs `run` may use (fnmatch; "*" = any).
    allowed_images: tuple[str, ...] = ("*",)
    # Applied when `run` does not say (None: no limit).
    memory: int | None = 512 * MIB
    pids_limit: int | None = 512
    # Where `-p HOST:CTR` binds when no IP is given; binding another address needs `public-ports`.
    publish_address: str = "127.0.0.1"
    no_new_privileges: bool = True
    # Whether logs/inspect/stats may read containers dockbolt does not manage, without the `unmanaged` grant.
    read_unmanaged: bool = False
    # Per-user command rate, and how many of one user's jobs may wait in the queue at once.
    rate: RateLimit = field(default_factory=lambda: RateLimit(20, 60))
    max_queued_per_user: int = 5
    # Extra redaction regexes (Python syntax), applied after the built-in ones.
    redact: tuple[str, ...] = ()
    # A signed job older than this (seconds since it was queued) is refused by the worker.
    job_ttl: int = 3600


KEYS = tuple(f.name for f in fields(Guardrails))
Problems = list[tuple[str, str]]


def _host_path(raw: str) -> str:
    if not raw.startswith("/"):
        raise ValueError(f'"{raw}" must be an absolute path')
    path = "/" + posixpath.normpath(raw).lstrip("/")
    if path == "/":
        raise ValueError('"/" would allow every host path; list the directories that may be mounted')
    return path


def _regex(raw: str) -> str:
    try:
        re.compile(raw)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return raw


def _address(raw: str) -> str:
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise ValueError(f'"{raw}" is not an IP address') from None


def parse_rate(raw: str) -> RateLimit:
    """Parse `20/minute` (also /second, /hour, /s, /m, /h); at least 1."""
    m = _RATE_RE.match(raw.strip())
    if not m or int(m.group(1)) < 1:
        raise ValueError(f'"{raw}" is not a rate like "20/minute" (count ≥ 1 per second, minute or hour)')
    return RateLimit(int(m.group(1)), _PER[m.group(2)])


def _size_or_off(raw: object) -> int | None:
    if raw in ("", "none", 0):
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return memory_bytes(str(raw))
    if isinstance(raw, str):
        return memory_bytes(raw)
    raise ValueError("must be a size string like \"512m\" (or \"none\")")


def _count_or_off(raw: object) -> int | None:
    if raw in ("none", 0):
        return None
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        return raw
    raise ValueError('must be a whole number > 0 (or "none")')


def _positive(raw: object) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        return raw
    raise ValueError("must be a whole number > 0")


def _seconds(raw: object) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        return raw
    seconds = duration_seconds(raw) if isinstance(raw, str) else None
    if not seconds:
        raise ValueError('must be a duration like "1h", "30m", "90s" or a number of seconds > 0')
    return seconds


def _flag(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    raise ValueError("must be true or false")


def _string(convert: Callable[[str], Any]) -> Callable[[object], Any]:
    def check(raw: object) -> Any:
        if not isinstance(raw, str):
            raise ValueError("must be a string")
        return convert(raw)

    return check


def _strings(convert: Callable[[str], str]) -> Callable[[object], tuple[str, ...]]:
    def check(raw: object) -> tuple[str, ...]:
        if not isinstance(raw, list) or not all(isinstance(i, str) for i in raw):
            raise ValueError("must be an array of strings")
        return tuple(convert(i) for i in raw)

    return check


_PARSERS: dict[str, Callable[[object], Any]] = {
    "allowed_host_paths": _strings(_host_path),
    "allowed_images": _strings(lambda s: s),
    "memory": _size_or_off,
    "pids_limit": _count_or_off,
    "publish_address": _string(_address),
    "no_new_privileges": _flag,
    "read_unmanaged": _flag,
    "rate": _string(parse_rate),
    "max_queued_per_user": _positive,
    "redact": _strings(_regex),
    "job_ttl": _seconds,
}


def parse_guardrails(table: Mapping[str, Any]) -> tuple[Guardrails, Problems]:
    """Return the ``[policy]`` table (defaults for absent keys) and its problems as (key, problem)."""
    values: dict[str, Any] = {}
    problems: Problems = []
    for key, raw in table.items():
        parser = _PARSERS.get(key)
        if parser is None:
            problems.append((key, "unknown key"))
            continue
        try:
            values[key] = parser(raw)
        except ValueError as exc:
            problems.append((key, str(exc)))
    return Guardrails(**values), problems
