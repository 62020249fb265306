#!/opt/dockbolt/bin/python
"""Container health check of the dockbolt image: ``dockbolt-health [bot|worker|watch]``.

Without an argument the role is that of the ``dockbolt ROLE`` process running in this container (found in
/proc, so it works under an init process too). Exit 0 when healthy, else 1 with one line saying why.

- bot: ``GET http://127.0.0.1:PORT/healthz`` answers 200 — Redis answers and a live worker serves every
  queue (PORT from the bot's ``--port``, default 3000).
- worker: this container's worker process has a live RQ worker record in Redis (its heartbeat renews it;
  Redis expires it when the heartbeats stop), found by this container's host name and the worker's pid.
- watch: the watcher process runs and its host's beat (``dockbolt:watcher:<host>``, renewed every
  sampling interval) is in Redis; the host as the watcher names it: ``--host-name``, else
  DOCKBOLT_HOST_NAME, else the engine's Name.
"""

from __future__ import annotations

import os
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROLES = ("bot", "worker", "watch")


def _processes() -> list[tuple[int, list[str]]]:
    out = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        out.append((int(entry.name), [a.decode(errors="replace") for a in argv if a]))
    return out


def _dockbolt_role(argv: list[str]) -> str | None:
    """``bot``/``worker``/``watch`` when ``argv`` runs ``dockbolt ROLE`` (the console script, also through
    its interpreter, or ``python -m dockbolt``); None for anything else, e.g. an init wrapping it."""
    args = argv[1:] if argv and os.path.basename(argv[0]).startswith("python") else argv
    if args[:2] == ["-m", "dockbolt"]:
        rest = args[2:]
    elif args and os.path.basename(args[0]) == "dockbolt":
        rest = args[1:]
    else:
        return None
    return rest[0] if rest and rest[0] in ROLES else None


def _find(role: str | None) -> tuple[str, int, list[str]]:
    for pid, argv in sorted(_processes()):  # the lowest pid: a worker before its work horse
        found = _dockbolt_role(argv)
        if found and (role is None or found == role):
            return found, pid, argv
    raise SystemExit(f"unhealthy: no `dockbolt {role or 'bot|worker|watch'}` process in this container")


def _redis():  # type: ignore[no-untyped-def]
    from redis import Redis

    from dockbolt.core.settings import load_settings

    return Redis.from_url(load_settings().redis_location, socket_timeout=5, socket_connect_timeout=5)


def check_bot(argv: list[str]) -> str:
    port = int(_flag(argv, "--port") or 3000)
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return f"bot: {url} {resp.status} {resp.read(300).decode(errors='replace')}"
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"unhealthy: {url} {exc.code} {exc.read(300).decode(errors='replace')}") from None
    except OSError as exc:
        raise SystemExit(f"unhealthy: {url}: {exc}") from None


def check_worker(pid: int) -> str:
    from redis.exceptions import RedisError

    me = socket.gethostname()
    try:
        redis = _redis()
        for raw in redis.smembers("rq:workers"):
            key = raw.decode()
            fields = {k.decode(): v.decode(errors="replace") for k, v in redis.hgetall(key).items()}
            if fields.get("hostname") == me and fields.get("pid") == str(pid) and redis.pttl(key) != -2:
                return f"worker: {key.removeprefix('rq:worker:')} registered and beating"
    except RedisError as exc:
        raise SystemExit(f"unhealthy: Redis: {exc}") from None
    raise SystemExit(f"unhealthy: no live RQ worker record for pid {pid} on {me}")


def _flag(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.partition("=")[2]
    return None


def check_watch(argv: list[str]) -> str:
    from redis.exceptions import RedisError

    from dockbolt.core.incidents import WATCHERS
    from dockbolt.core.settings import load_settings

    # The watcher's own rule: --host-name, else DOCKBOLT_HOST_NAME, else the engine's Name.
    settings = load_settings()
    host = _flag(argv, "--host-name") or os.environ.get("DOCKBOLT_HOST_NAME", "").strip()
    if not host:
        from workers.docker_monitor import connect_monitor

        try:
            host = connect_monitor(settings.docker_host, timeout=5, tls=settings.docker_tls).host_name()
        except Exception as exc:  # the engine unreachable, in whichever form the SDK says it
            raise SystemExit(f"unhealthy: Docker engine: {exc}") from None
    try:
        if _redis().exists(f"{WATCHERS}{host}"):
            return f"watch: host {host} beating"
    except RedisError as exc:
        raise SystemExit(f"unhealthy: Redis: {exc}") from None
    raise SystemExit(f"unhealthy: no beat of the watcher of host {host} in Redis")


def main(args: list[str]) -> int:
    wanted = args[0] if args else None
    if wanted is not None and wanted not in ROLES:
        raise SystemExit(f"usage: dockbolt-health [{'|'.join(ROLES)}]")
    role, pid, argv = _find(wanted)
    if role == "bot":
        print(check_bot(argv))
    elif role == "worker":
        print(check_worker(pid))
    else:
        print(check_watch(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
