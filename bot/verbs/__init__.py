"""The verb registry, discovered: every module in this package that defines ``SPECS`` adds its verbs.

A verb is one module here (parsing, usage, default role, timeout) and, when queued, one module of the
same name in ``workers/handlers``; ``tests/unit/test_registries.py`` checks that the sides match.
Verbs are listed (e.g. by `help`) by default role, least powerful first, then by name.
"""

from __future__ import annotations

import importlib
import pkgutil

from bot.verbs.base import VerbSpec
from dockbolt.core.rbac import DEFAULT_ROLES, DefaultRole


def _discover() -> dict[str, VerbSpec]:
    specs: list[VerbSpec] = []
    for module in pkgutil.iter_modules(__path__):
        specs += getattr(importlib.import_module(f"{__name__}.{module.name}"), "SPECS", ())
    names = [spec.name for spec in specs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise RuntimeError(f"verbs defined twice: {', '.join(duplicated)}")
    ordered = sorted(specs, key=lambda s: (DEFAULT_ROLES.index(s.default_role), s.name))
    return {spec.name: spec for spec in ordered}


VERBS: dict[str, VerbSpec] = _discover()
# Verbs that run as jobs on a worker (the rest are answered by the bot).
QUEUED_VERBS: frozenset[str] = frozenset(name for name, spec in VERBS.items() if spec.queued)
# What the policy needs to know of every verb (the worker gets it from the composition root).
CATALOG: dict[str, DefaultRole] = {name: spec.default_role for name, spec in VERBS.items()}
