"""Secrets are masked before anything reaches Slack: the one place the worker decides what is secret.

Today: every environment value in an inspect document (``Env``: ``KEY=value`` → ``KEY=***``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MASK = "***"


def mask_env(doc: Any) -> Any:
    """Return a copy of an inspect document with every ``Env`` value replaced by ``***`` (keys kept)."""
    if isinstance(doc, Mapping):
        return {
            k: [_mask_entry(e) for e in v] if k == "Env" and isinstance(v, list) else mask_env(v)
            for k, v in doc.items()
        }
    if isinstance(doc, list):
        return [mask_env(v) for v in doc]
    return doc


def _mask_entry(entry: Any) -> Any:
    if not isinstance(entry, str):
        return entry
    key, sep, _value = entry.partition("=")
    return f"{key}={MASK}" if sep else entry
