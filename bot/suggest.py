"""Closest-verb suggestions for mistyped commands ("stpo" → "stop")."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from dockbolt.core.mrkdwn import code


def closest_verbs(word: str, verbs: Iterable[str]) -> list[str]:
    """Return the verbs the user most likely meant by ``word`` (best first; empty when nothing is close)."""
    names = list(verbs)
    word = word.lower()
    # A prefix ("insp", "sta") is a stronger signal than spelling similarity; name every verb it fits.
    prefixed = sorted(v for v in names if word and v.startswith(word))
    return prefixed or difflib.get_close_matches(word, names, n=1, cutoff=0.6)


def unknown_verb_message(word: str, verbs: Iterable[str]) -> str:
    """Say that ``word`` is not a command, suggesting the closest one(s) and `help`."""
    found = closest_verbs(word, verbs)
    hint = ""
    if len(found) == 1:
        hint = f" Did you mean {code(found[0])}?"
    elif found:
        hint = " Did you mean " + ", ".join(code(v) for v in found[:-1]) + f" or {code(found[-1])}?"
    return f"unknown command {code(word)}.{hint} Try `help`."
