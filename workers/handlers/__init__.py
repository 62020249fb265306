"""The worker's verb registry: one line per verb, each handler in its own module."""

from __future__ import annotations

from workers.handlers import images, inspect, logs, ps, restart, rm, run, start, stats, stop
from workers.handlers.base import Handler

HANDLERS: dict[str, Handler] = {
    "ps": ps.handle,
    "images": images.handle,
    "inspect": inspect.handle,
    "run": run.handle,
    "stop": stop.handle,
    "start": start.handle,
    "restart": restart.handle,
    "rm": rm.handle,
    "logs": logs.handle,
    "stats": stats.handle,
}
