"""Starting and stopping `dockbolt worker` child processes (for `dockbolt up`, the tests and the bench)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

# Held by the bot only: a worker verifies jobs with DOCKBOLT_JOB_SECRET and never sees a Slack request.
NOT_FOR_WORKERS = ("SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")


def worker_environment(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` minus ``NOT_FOR_WORKERS``: a worker never gets Slack's signing secret or app token."""
    return {k: v for k, v in env.items() if k not in NOT_FOR_WORKERS}


def start_worker_process(env: Mapping[str, str], log_path: Path, args: Sequence[str] = (),
                         command: str = "worker") -> subprocess.Popen[bytes]:
    """Start `python -m dockbolt worker [args]` (or ``command``: `watch`, which gets the same environment)
    in its own session with ``worker_environment(env)``."""
    with log_path.open("ab") as log:
        # ``args`` are our own flags (never user input) and no shell is involved.
        return subprocess.Popen([sys.executable, "-m", "dockbolt", command, *args],  # noqa: S603
                                env=worker_environment(env), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """Ask a child to stop (SIGTERM: RQ's warm shutdown), kill it if it does not within ``timeout``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
