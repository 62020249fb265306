"""The bot's queued verbs and the workers' handlers must match one to one."""

from __future__ import annotations

from pathlib import Path

from bot.verbs import QUEUED_VERBS, VERBS
from workers.handlers import HANDLERS

ROOT = Path(__file__).resolve().parents[2]


def test_every_queued_verb_has_exactly_one_handler() -> None:
    assert set(HANDLERS) == set(QUEUED_VERBS)
    assert {name for name, spec in VERBS.items() if spec.queued} == set(QUEUED_VERBS)


def test_one_file_per_verb_on_each_side() -> None:
    for verb in VERBS:
        assert (ROOT / "bot" / "verbs" / f"{verb}.py").exists(), verb
    for verb in HANDLERS:
        assert (ROOT / "workers" / "handlers" / f"{verb}.py").exists(), verb


def test_no_module_over_400_lines() -> None:
    too_long = {str(p.relative_to(ROOT)): n for pkg in ("bot", "workers", "dockbolt")
                for p in (ROOT / pkg).rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert too_long == {}
