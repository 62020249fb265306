"""Closest-verb suggestions for mistyped commands ("stpo" → "stop", "sp" → "ps")."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING

from dockbolt.core.mrkdwn import code

if TYPE_CHECKING:
    from bot.verbs.base import VerbSpec

# Roles whose verbs only read: at the same distance, a reading verb is suggested over one that changes.
READING_ROLES = ("everyone", "viewer")


def typo_distance(a: str, b: str) -> int:
    """Edits from ``a`` to ``b``: insertions, deletions, substitutions and swaps of two neighbouring
    letters, each counting 1 (the optimal-string-alignment distance: "stpo" is 1 from "stop")."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def closest_verbs(word: str, verbs: Iterable[str], harmless: Collection[str] = ()) -> list[str]:
    """Return the verbs the user most likely meant by ``word`` (empty when nothing is close): every verb
    it is a prefix of, else the nearest by ``typo_distance`` (1 edit for words up to 4 letters, 2 beyond),
    the ``harmless`` ones among them when there are some."""
    names = list(verbs)
    word = word.lower()
    # A prefix ("insp", "sta") is a stronger signal than spelling similarity; name every verb it fits.
    prefixed = sorted(v for v in names if word and v.startswith(word))
    if prefixed or not word:
        return prefixed
    distances = {v: typo_distance(word, v) for v in names}
    best = min(distances.values(), default=0)
    if not distances or best > (1 if len(word) <= 4 else 2):
        return []
    nearest = sorted(v for v, d in distances.items() if d == best)
    return [v for v in nearest if v in harmless] or nearest


def unknown_verb_message(word: str, verbs: Mapping[str, VerbSpec]) -> str:
    """Say that ``word`` is not a command, suggesting the closest one(s) and `help`."""
    harmless = {name for name, spec in verbs.items() if spec.default_role in READING_ROLES}
    found = closest_verbs(word, verbs, harmless)
    hint = ""
    if len(found) == 1:
        hint = f" Did you mean {code(found[0])}?"
    elif found:
        hint = " Did you mean " + ", ".join(code(v) for v in found[:-1]) + f" or {code(found[-1])}?"
    return f"unknown command {code(word)}.{hint} Try `help`."
