"""`docker stop` and systemd send SIGTERM and SIGKILL a process that has not exited 10 s (90 s) later: a
worker and a watcher stop promptly on SIGTERM, whichever of their threads the kernel hands it to.

Python runs a signal's handler in the main thread, when that thread next runs Python code. The watcher's
main thread used to block in the read of a quiet event stream, so a SIGTERM delivered to another thread
waited for the next engine event or the stream's 30-s read timeout; an idle worker's main thread blocked
the same way in RQ's wait for a job (a 45-s BLMOVE; seen in CI). Both "another thread" cases failed before
their fixes. Each signal goes to one thread in particular (``tgkill``). The waits are hang guards.
"""

from __future__ import annotations

import ctypes
import os
import platform
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from redis import Redis
from rq.worker import Worker, WorkerStatus

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


# The processes run with Python's fault handler: one still running after the guard gets SIGABRT, which
# makes it write every thread's stack into its log before it dies — what it was stuck in.
DUMP_ON_ABORT = {"PYTHONFAULTHANDLER": "1"}


def stopped(proc: subprocess.Popen[bytes], log: Callable[[], str]) -> int:
    try:
        return proc.wait(timeout=GUARD)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        try:
            proc.wait(timeout=GUARD)
        except subprocess.TimeoutExpired:
            proc.kill()
        pytest.fail(f"still running {GUARD:g} s after SIGTERM; its log, then its threads:\n{log()[-8000:]}")


def idle(redis: Redis, pid: int) -> bool:
    """The worker says it is idle (RQ sets that just before it waits) and its main thread is blocked
    waiting for a job (RQ's BLMOVE: a poll in the kernel; True too where the kernel does not say), so a
    signal can reach it only by interrupting that wait."""
    def now() -> bool:
        wchan = Path(f"/proc/{pid}/task/{pid}/wchan").read_text()
        states = [w.get_state() for w in Worker.all(connection=redis) if w.pid == pid]
        return states == [WorkerStatus.IDLE] and (wchan == "0" or "poll" in wchan)

    # Twice, apart: the first time can be the heartbeat's round trip just before the wait.
    return now() and (time.sleep(0.3) or now())


@pytest.mark.parametrize("to", ["main thread", "another thread"])
def test_an_idle_worker_stops_on_sigterm(pipelines: StartPipeline, to: str) -> None:
    p = pipelines(TEST_CONFIG, worker=False)
    worker = p.start_worker(DUMP_ON_ABORT)
    job = p.job_of(p.send("ps"))  # it has run a job: every thread it keeps is up
    p.standin.wait_for(lambda: (card := p.standin.find_card(str(job))) is not None and card.status == "done")
    poll_until(lambda: idle(p.redis, worker.pid), what="the worker waiting for its next job")
    main, *others = threads(worker.pid)
    # "Another thread": the oldest after the main one, an outbox deliverer that lives as long as the
    # worker. This test also caught RQ's teardown hanging in the pubsub thread's join (1 stop in 3 here,
    # whichever thread got the signal): the fault handler's dump on SIGABRT showed where.
    tgkill(worker.pid, main if to == "main thread" else others[0], signal.SIGTERM)
    assert stopped(worker, p.worker_log) == 0, p.worker_log()


@pytest.mark.parametrize("to", ["main thread", "another thread"])
def test_a_watcher_on_a_quiet_engine_stops_on_sigterm(pipelines: StartPipeline, to: str) -> None:
    p = pipelines(TEST_CONFIG + '\n[monitor]\ninterval = "1s"\n', worker=False)
    watcher = p.start_watcher(DUMP_ON_ABORT)
    main, *others = threads(watcher.pid)
    assert others, "the watcher follows events and samples in threads of its own"
    tgkill(watcher.pid, main if to == "main thread" else others[-1], signal.SIGTERM)
    assert stopped(watcher, p.watcher_log) == 0, p.watcher_log()


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
