"""Sizes and durations as people type them (docker's spellings), shared by the verbs and the config file."""

from __future__ import annotations

import re
from decimal import Decimal

# go-units RAMInBytes; the fraction is limited to one group because Go's ParseFloat rejects "1.2.3" anyway.
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?\Z")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
# The engine refuses smaller limits ("Minimum memory limit allowed is 6MB", where MB means MiB).
MIN_MEMORY = 6 * 1024 * 1024
_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?\Z")


def memory_bytes(raw: str) -> int:
    """Parse a memory size like docker (`256m`, `1.5g`, `512k`, `100` bytes; binary units) into bytes."""
    m = _SIZE_RE.match(raw)
    if not m:
        raise ValueError("must be a size like `256m`, `1g`, `512k` or a number of bytes")
    size = int(Decimal(m.group(1)) * _UNITS[(m.group(2) or "").lower()])
    if size < MIN_MEMORY:
        raise ValueError("minimum memory limit allowed is 6MB (6m)")
    if size >= 1 << 63:
        raise ValueError("is too large")
    return size


def duration_seconds(raw: str) -> int | None:
    """Parse a duration like `90s`, `10m`, `1h30m`, `2d` into seconds; None if it is not one (or empty)."""
    m = _DURATION_RE.match(raw)
    if not m or not raw:
        return None
    d, h, mins, s = (int(g or 0) for g in m.groups())
    return ((d * 24 + h) * 60 + mins) * 60 + s
