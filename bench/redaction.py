"""What redaction costs on a big container log (the largest text dockbolt posts: `logs` keeps 2 MiB).

The log is realistic and deterministic: access lines, logfmt and JSON application lines, a stack trace now
and then, words that make a line a candidate without holding a secret ("auth service", "cache key") and,
on about one line in a hundred, a real-looking secret. The floor is one ``str.splitlines()`` over the same
text in the same run (the least any per-line look at the log costs). Run: ``python -m bench.redaction``.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable

from dockbolt.core.redact import MASK, Redactor

MIB = 1 << 20
LOG_BYTES = 2 * MIB
ROUNDS = 7

_PATHS = ("/", "/api/v1/items", "/api/v1/items/42", "/healthz", "/static/app.js", "/login", "/metrics")
_WORDS = ("request", "handled", "cache", "miss", "hit", "retry", "user", "order", "worker", "queue", "db")
_CANDIDATES = (  # trigger a line scan, hold no secret
    "auth service ready", "cache key users:42 evicted", "token bucket refilled", "password reset mail queued",
    "loaded 3 private routes", "credentials provider: env",
)
_SECRETS = (
    "DB_PASSWORD=Zq8x-hunter2-{n}", "export GITHUB_TOKEN=ghp_{a36}", "Authorization: Bearer {a36}",
    "connecting to postgres://app:S3cr3t{n}@db:5432/app", '{{"level":"debug","apiKey":"{a36}"}}',
    "slack token xoxb-{n}-{n}-{a24}", "aws key AKIA{u16}",
)


def realistic_log(size: int = LOG_BYTES, seed: int = 7) -> str:
    """About ``size`` characters of container log, the same for the same seed."""
    rng = random.Random(seed)
    alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

    def line(i: int) -> str:
        ts = f"2026-11-28T10:{i // 3600 % 60:02d}:{i // 60 % 60:02d}.{i % 1000:03d}Z"
        kind = rng.random()
        if kind < 0.01:
            return f"{ts} " + rng.choice(_SECRETS).format(
                n=rng.randrange(10**6), a36="".join(rng.choices(alnum, k=36)),
                a24="".join(rng.choices(alnum, k=24)), u16="".join(rng.choices(alnum[26:], k=16)))
        if kind < 0.04:
            return f"{ts} INFO {rng.choice(_CANDIDATES)}"
        if kind < 0.40:
            return (f'10.0.{rng.randrange(256)}.{rng.randrange(256)} - - [{ts}] "GET {rng.choice(_PATHS)} '
                    f'HTTP/1.1" {rng.choice((200, 200, 200, 304, 404, 500))} {rng.randrange(99999)} "-" '
                    '"Mozilla/5.0 (X11; Linux x86_64)"')
        if kind < 0.75:
            return (f"time={ts} level=info msg=\"{' '.join(rng.choices(_WORDS, k=4))}\" "
                    f"id={rng.randrange(10**6)} took={rng.randrange(500)}ms")
        if kind < 0.97:
            return (f'{{"ts":"{ts}","level":"info","msg":"{rng.choice(_WORDS)} {rng.choice(_WORDS)}",'
                    f'"path":"{rng.choice(_PATHS)}","status":200}}')
        return (f"{ts} ERROR unhandled\nTraceback (most recent call last):\n  File \"/app/main.py\", line "
                f"{rng.randrange(400)}, in handle\nValueError: bad {rng.choice(_WORDS)}")

    lines: list[str] = []
    total, i = 0, 0
    while total < size:
        lines.append(line(i))
        total += len(lines[-1]) + 1
        i += 1
    return "\n".join(lines)[:size]


def _median_ms(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def bench_redaction(size: int = LOG_BYTES, rounds: int = ROUNDS) -> dict[str, float]:
    """Median cost of ``Redactor().redact`` on a realistic log, in ms per MiB, and vs ``str.splitlines``."""
    text = realistic_log(size)
    redactor = Redactor()
    mib = len(text.encode()) / MIB
    redact_ms = _median_ms(lambda: redactor.redact(text), rounds)
    floor_ms = _median_ms(text.splitlines, rounds)
    command_ms = _median_ms(lambda: redactor.redact_command(text), rounds)
    return {
        "log_mib": round(mib, 2),
        "masked": redactor.redact(text).count(MASK),
        "redact_ms_per_mib": round(redact_ms / mib, 2),
        "redact_command_ms_per_mib": round(command_ms / mib, 2),
        "splitlines_ms_per_mib": round(floor_ms / mib, 2),
        "ratio_vs_splitlines": round(redact_ms / floor_ms, 1),
    }


if __name__ == "__main__":
    for key, value in bench_redaction().items():
        print(f"{key:>28}: {value}")
