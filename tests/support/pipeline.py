"""Test-side pipeline helpers: the test config and a pipeline started with it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tests.support.harness import CHANNEL, HOST, QUEUE, Pipeline
from tests.support.harness import start_pipeline as _start

__all__ = ["CHANNEL", "HOST", "QUEUE", "TEST_CONFIG", "Pipeline", "children", "gone", "kill_worker",
           "poll_until", "start_pipeline"]
TEST_CONFIG = """
[slack]
command = "/docker"
notify_channel = "CNOTIFY"

[rbac]
default_role = ""

# The built-in roles (viewer, operator, admin), as a team starting from the defaults has them.
[[rbac.bindings]]
role = "operator"
users = ["UOPERATOR"]

[[rbac.bindings]]
role = "viewer"
users = ["UVIEWER"]

[[rbac.bindings]]
role = "admin"
users = ["UADMIN"]

[[rbac.bindings]]
role = "viewer"
groups = ["SVIEWERS"]
channels = ["CTEAM"]
"""


def start_pipeline(redis_url: str, logdir: Path, config_text: str = TEST_CONFIG,
                   usergroups: dict[str, list[str]] | None = None, reaper_every: float = 1.0) -> Pipeline:
    """Start the stand-in and the bot with the test config (or ``config_text``, TOML), written to logdir."""
    return _start(redis_url, logdir, config_text, usergroups=usergroups, reaper_every=reaper_every)


T = TypeVar("T")


def poll_until(predicate: Callable[[], T | None], timeout: float = 30.0, what: str = "condition") -> T:
    """Poll ``predicate`` (for state outside the stand-in, e.g. Redis) until it returns a truthy value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(0.02)


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (a worker's work horse)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def kill_worker(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker, then its work horse (RQ gives each horse a session of its own), as when the
    host under them dies: nothing reports, nothing beats."""
    horses = children(worker.pid)
    assert horses, "the worker has no work horse: no job is running"
    worker.kill()
    worker.wait()
    for pid in horses:
        os.kill(pid, signal.SIGKILL)
    poll_until(lambda: all(gone(pid) for pid in horses), timeout=60, what="the work horse gone")
