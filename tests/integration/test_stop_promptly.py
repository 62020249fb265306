"""`docker stop` and systemd send SIGTERM and SIGKILL a process that has not exited 10 s (90 s) later: a
watcher stops promptly on SIGTERM whichever of its threads the kernel hands it to, a worker when it goes to
its main thread.

Python runs a signal's handler in the main thread, when that thread next runs Python code. The watcher's
main thread used to block in the read of a quiet event stream, so a SIGTERM delivered to another thread
waited for the next engine event or the stream's 30-s read timeout (that case failed before the fix). An
idle worker's main thread blocks in RQ's BLPOP the same way (up to 45 s; seen in CI): not fixed yet, in the
README's known gaps. Each signal goes to one thread in particular (``tgkill``). The waits are hang guards.
"""

from __future__ import annotations

import ctypes
import os
import platform
import signal
import subprocess

import pytest

from dockbolt.core.monitor import MonitorConfig
from dockbolt.core.redact import Redactor
from dockbolt.core.settings import load_settings
from tests.integration.conftest import StartPipeline
from tests.support.pipeline import TEST_CONFIG, poll_until
from workers import watch_main
from workers.watcher import Watcher

pytestmark = pytest.mark.integration

GUARD = 20.0  # s: far above a prompt stop, below the old wait
SYS_TGKILL = {"x86_64": 234, "aarch64": 131}


def tgkill(pid: int, tid: int, sig: int) -> None:
    """Send ``sig`` to thread ``tid`` of process ``pid`` (Linux's tgkill; Python has no wrapper)."""
    number = SYS_TGKILL.get(platform.machine())
    if number is None:
        pytest.skip(f"tgkill's number on {platform.machine()} is not known here")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(number, pid, tid, sig) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def threads(pid: int) -> list[int]:
    """The process's thread ids, its main thread first."""
    return [pid, *sorted(t for t in map(int, os.listdir(f"/proc/{pid}/task")) if t != pid)]


def stopped(proc: subprocess.Popen[bytes], log: str) -> int:
    try:
        return proc.wait(timeout=GUARD)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"still running {GUARD:g} s after SIGTERM: {log[-2000:]}")


def test_an_idle_worker_stops_on_sigterm(pipelines: StartPipeline) -> None:
    """To its main thread (a SIGTERM handed to another thread can wait for the end of RQ's 45-s idle
    BLPOP: a known gap, in the README)."""
    p = pipelines(TEST_CONFIG, worker=False)
    worker = p.start_worker()
    assert p.send("ps").status == 200  # it has run a job: every thread it keeps is up
    poll_until(lambda: len(threads(worker.pid)) > 1, what="the worker's threads")
    tgkill(worker.pid, worker.pid, signal.SIGTERM)
    assert stopped(worker, p.worker_log()) == 0, p.worker_log()


@pytest.mark.parametrize("to", ["main thread", "another thread"])
def test_a_watcher_on_a_quiet_engine_stops_on_sigterm(pipelines: StartPipeline, to: str) -> None:
    p = pipelines(TEST_CONFIG + '\n[monitor]\ninterval = "1s"\n', worker=False)
    watcher = p.start_watcher()
    main, *others = threads(watcher.pid)
    assert others, "the watcher follows events and samples in threads of its own"
    tgkill(watcher.pid, main if to == "main thread" else others[-1], signal.SIGTERM)
    assert stopped(watcher, p.watcher_log()) == 0, p.watcher_log()


def test_a_watcher_whose_event_loop_crashes_exits_non_zero(monkeypatch: pytest.MonkeyPatch, redis_url: str,
                                                           docker_host: str) -> None:
    """The event loop runs in a thread now: its crash still ends the process with 1 (a supervisor restarts
    it on failure), never a clean 0."""
    def crash(self: Watcher) -> None:
        raise RuntimeError("the event loop crashed")

    monkeypatch.setattr(Watcher, "run", crash)
    monkeypatch.setattr(watch_main.signal, "signal", lambda *_: None)  # leave pytest's handlers alone
    settings = load_settings({"REDIS_URL": redis_url, "DOCKER_HOST": docker_host,
                              "DOCKBOLT_HOST_NAME": "crashing"})
    assert watch_main.run_watch(settings, MonitorConfig(), Redactor()) == 1
