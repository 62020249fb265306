"""Value checks shared by several verbs, each mirroring what the docker CLI accepts.

Every converter takes one raw word and returns the JSON-ready value, or raises ValueError with a
message meant for the user (the parser adds which flag or argument it was).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from dockbolt.core.mrkdwn import code
from dockbolt.core.units import duration_seconds

# Docker's pattern for names it creates (containers, volumes): at least two characters.
NEW_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+\Z")
# A name or id (prefix) to look up: an id prefix may be a single character.
REF_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*\Z")
_DECIMAL_RE = re.compile(r"^(?:\d+(?:\.\d*)?|\.\d+)\Z")


def new_name(raw: str) -> str:
    """Check a name for a container the bot will create (docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]+`)."""
    if not NEW_NAME_RE.match(raw):
        raise ValueError(f"invalid container name {code(raw)}: only [a-zA-Z0-9][a-zA-Z0-9_.-]+ are allowed")
    return raw


def container_ref(raw: str) -> str:
    """Check a container name or id typed as an argument."""
    if not REF_RE.match(raw):
        raise ValueError(f"{code(raw)} is not a valid container name or id")
    return raw


def container_refs(raws: list[str]) -> tuple[str, ...]:
    """Check every container name or id in ``raws``."""
    return tuple(container_ref(r) for r in raws)


def whole_number(raw: str) -> int:
    """Parse an integer ≥ 0 (seconds, lines, retries)."""
    if not re.fullmatch(r"[0-9]+", raw):
        raise ValueError("must be a whole number ≥ 0")
    return int(raw)


def duration(raw: str) -> int:
    """Parse a duration back from now (`90s`, `30m`, `6h`, `1d`, `1h30m`) into seconds > 0."""
    seconds = duration_seconds(raw)
    if seconds is None or seconds <= 0:
        raise ValueError("must be a duration longer than 0s, like `30m`, `6h`, `1d` or `1h30m`")
    return seconds


def nano_cpus(raw: str) -> int:
    """Parse `--cpus` (a positive decimal number of CPUs) into nano-CPUs, as docker does."""
    if not _DECIMAL_RE.match(raw):
        raise ValueError("must be a positive decimal number of CPUs, like `0.5` or `2`")
    try:
        nano = Decimal(raw) * 1_000_000_000
    except InvalidOperation as exc:  # unreachable after the regex, kept so a bad value never escapes
        raise ValueError("is not a number") from exc
    if nano <= 0:
        raise ValueError("must be greater than 0")
    if nano != nano.to_integral_value():
        raise ValueError("value is too precise (at most 9 decimal places)")
    return int(nano)


def key_value(raw: str, what: str) -> tuple[str, str]:
    """Split `KEY=VALUE` (the value may be empty, the key may not)."""
    key, eq, value = raw.partition("=")
    if not eq:
        raise ValueError(f"{what} must be written KEY=VALUE")
    if not key:
        raise ValueError(f"{what} name is empty")
    return key, value
