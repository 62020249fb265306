"""The worker's verb registry, discovered: every module here that defines ``HANDLERS`` adds its verbs.

Each module is the worker side of the bot module of the same name in ``bot/verbs``
(``tests/unit/test_registries.py`` checks that the two sides match).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from workers.handlers.base import Handler


def _discover() -> dict[str, Handler[Any]]:
    found: dict[str, Handler[Any]] = {}
    for module in pkgutil.iter_modules(__path__):
        for handler in getattr(importlib.import_module(f"{__name__}.{module.name}"), "HANDLERS", ()):
            if handler.verb in found:
                raise RuntimeError(f"verb {handler.verb!r} has two handlers")
            found[handler.verb] = handler
    return found


HANDLERS: dict[str, Handler[Any]] = _discover()
