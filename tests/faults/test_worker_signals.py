"""A worker that loses Redis stops cleanly on a SIGTERM that lands as it notices, whichever handlers are in
place then: none of RQ's yet (lost during bootstrap) or RQ's own (lost after work() installed them, whose
handler raises StopRequested outside work()).

The worker runs in a process of its own (a SIGTERM with no handler would kill the test run) on the test's
own Redis, which it shuts down before serving: RQ's bootstrap fails before ``work()`` installs its
handlers, and the signal arrives right as the worker notes the outage — the window in which a worker
used to die of SIGTERM.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.faults.conftest import KillableRedis

pytestmark = pytest.mark.integration

SCRIPT = textwrap.dedent("""
    import logging, os, signal, sys
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError
    from rq import Queue
    from rq.serializers import JSONSerializer
    from workers.main import DockboltWorker, serve

    logging.basicConfig(level=logging.INFO)
    redis = Redis(port=int(sys.argv[1]), socket_connect_timeout=0.2, socket_timeout=0.2)
    q = Queue("signals", connection=redis, serializer=JSONSerializer)
    w = DockboltWorker([q], connection=redis, serializer=JSONSerializer, name="signals-test")
    try:
        redis.shutdown(nosave=True)
    except Exception:
        pass
    noted = w.lost

    def lost(exc):
        reason = noted(exc)
        os.kill(os.getpid(), signal.SIGTERM)  # the signal lands while serve() handles the outage
        return reason

    w.lost = lost
    if sys.argv[2] == "rq-handlers":  # RQ's own handlers were installed when work() ended
        def work(**kwargs):
            w._install_signal_handlers()  # as RQ's work() does before it serves
            raise RedisConnectionError("Redis went away")
        w.work = work
    serve(w)
    print("stopped cleanly")
""")


@pytest.mark.parametrize("handlers", ["none-yet", "rq-handlers"])
def test_sigterm_right_as_redis_is_found_gone_stops_the_worker_cleanly(own_redis: KillableRedis,
                                                                       handlers: str) -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(own_redis.port), handlers],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "stopped cleanly" in proc.stdout
    assert "stopped while waiting for Redis" in proc.stderr
