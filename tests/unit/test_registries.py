"""The two sides of every verb match: bot/verbs/X.py and workers/handlers/X.py, with the same args type."""

from __future__ import annotations

import importlib
import pkgutil
import typing
from pathlib import Path
from types import ModuleType

import bot.verbs
import workers.handlers
from bot.verbs import QUEUED_VERBS, VERBS
from workers.handlers import HANDLERS

ROOT = Path(__file__).resolve().parents[2]


def _modules(package: ModuleType, attribute: str) -> dict[str, set[str]]:
    """Module name → the verbs it defines (through SPECS or HANDLERS), for every module that defines some."""
    found: dict[str, set[str]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        items = getattr(module, attribute, ())
        if items:
            found[info.name] = {getattr(item, "name", None) or item.verb for item in items}
    return found


def test_every_queued_verb_has_exactly_one_handler() -> None:
    assert set(HANDLERS) == set(QUEUED_VERBS)
    assert all(handler.verb == verb for verb, handler in HANDLERS.items())


def test_a_verb_is_one_module_on_each_side_with_the_same_name() -> None:
    bot_side = _modules(bot.verbs, "SPECS")
    worker_side = _modules(workers.handlers, "HANDLERS")
    queued = {name: verbs & QUEUED_VERBS for name, verbs in bot_side.items() if verbs & QUEUED_VERBS}
    assert queued == worker_side
    assert {v for verbs in bot_side.values() for v in verbs} == set(VERBS)


def test_the_bot_builds_the_args_type_the_handler_receives() -> None:
    for verb in QUEUED_VERBS:
        build = VERBS[verb].build
        assert build is not None, verb
        assert typing.get_type_hints(build)["return"] is HANDLERS[verb].args, verb


def test_no_module_over_400_lines() -> None:
    too_long = {str(p.relative_to(ROOT)): n for pkg in ("bot", "workers", "dockbolt")
                for p in (ROOT / pkg).rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert too_long == {}
