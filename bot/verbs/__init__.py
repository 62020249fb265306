"""The verb registry: one line per verb; each verb's parsing and validation live in its own module."""

from __future__ import annotations

from bot.verbs import help, images, inspect, jobs, logs, ps, restart, rm, run, start, stats, stop, whoami
from bot.verbs.base import VerbSpec

VERBS: dict[str, VerbSpec] = {
    spec.name: spec
    for spec in (
        help.SPEC,
        whoami.SPEC,
        jobs.SPEC,
        ps.SPEC,
        images.SPEC,
        inspect.SPEC,
        logs.SPEC,
        stats.SPEC,
        run.SPEC,
        start.SPEC,
        stop.SPEC,
        restart.SPEC,
        rm.SPEC,
    )
}
# Verbs that run as jobs on a worker (the rest are answered by the bot).
QUEUED_VERBS: frozenset[str] = frozenset(name for name, spec in VERBS.items() if spec.queued)
