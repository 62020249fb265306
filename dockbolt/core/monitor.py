"""The ``[monitor]`` table: how often the watcher samples, how long history is kept, when alerts fire and
where they go (``[[monitor.routes]]``, first match wins, else ``[slack] notify_channel``).

Durations are written like everywhere else in the file (``"10s"``, ``"15m"``, ``"7d"``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dockbolt.core.units import duration_seconds

if TYPE_CHECKING:
    from dockbolt.core.config import _Checker

KEYS = ("interval", "raw_retention", "minute_retention", "quarter_retention", "cooldown",
        "restart_loop_count", "restart_loop_window", "log_lines", "routes")
ROUTE_KEYS = ("channel", "containers", "images", "labels")
NOTIFY_LABEL = "dockbolt.notify"  # "false" on a container: no alerts for it
_CHANNEL_RE = re.compile(r"^[CG][A-Z0-9]+\Z")
_DURATIONS = {  # key → (default seconds, least allowed)
    "interval": (10, 1), "raw_retention": (24 * 3600, 60), "minute_retention": (7 * 86400, 3600),
    "quarter_retention": (90 * 86400, 86400), "cooldown": (15 * 60, 0), "restart_loop_window": (5 * 60, 10),
}


@dataclass(frozen=True)
class Route:
    """Alerts for containers matching every given filter go to ``channel``."""

    channel: str
    containers: tuple[str, ...] = ()  # name globs ("web-*"); empty = any
    images: tuple[str, ...] = ()  # image globs ("acme/*"); empty = any
    labels: Mapping[str, str] = field(default_factory=dict)  # each must be set to this value

    def matches(self, name: str, image: str, labels: Mapping[str, str]) -> bool:
        """Whether a container with this name, image and labels is routed here."""
        return ((not self.containers or any(fnmatch.fnmatchcase(name, g) for g in self.containers))
                and (not self.images or any(fnmatch.fnmatchcase(image, g) for g in self.images))
                and all(labels.get(k) == v for k, v in self.labels.items()))


@dataclass(frozen=True)
class MonitorConfig:
    """The validated ``[monitor]`` table (seconds for every duration)."""

    interval: int = 10  # seconds between two stats samples of every running container
    raw_retention: int = 24 * 3600  # every sample is kept this long…
    minute_retention: int = 7 * 86400  # …1-minute averages this long…
    quarter_retention: int = 90 * 86400  # …and 15-minute averages this long
    cooldown: int = 15 * 60  # no second alert for the same container and condition within this
    restart_loop_count: int = 3  # this many exits…
    restart_loop_window: int = 5 * 60  # …within this many seconds is a restart loop
    log_lines: int = 10  # the last log lines quoted by an exit alert
    routes: tuple[Route, ...] = ()
    notify_channel: str = ""  # [slack] notify_channel: where alerts go when no route matches

    def channel_for(self, name: str, image: str, labels: Mapping[str, str]) -> str:
        """The channel an alert about this container goes to ("" = nowhere: no route, no notify channel)."""
        for route in self.routes:
            if route.matches(name, image, labels):
                return route.channel
        return self.notify_channel


def parse_monitor(c: _Checker, data: object, notify_channel: str) -> MonitorConfig:
    """Validate the ``[monitor]`` table; problems go to ``c``."""
    t = c.table(data, "monitor", KEYS)
    seconds: dict[str, int] = {}
    for key, (default, least) in _DURATIONS.items():
        raw = c.string(t, "monitor", key, None) if key in t else None
        value = default if raw is None else duration_seconds(raw)
        if value is None or value < least:
            c.add(f"monitor.{key}", f'"{raw}" is not a duration of at least {least} s ("10s", "15m", "7d")')
            value = default
        seconds[key] = value
    if seconds["minute_retention"] < seconds["raw_retention"] or (
            seconds["quarter_retention"] < seconds["minute_retention"]):
        c.add("monitor", "retention must grow: raw_retention ≤ minute_retention ≤ quarter_retention")
    counts = {key: _count(c, t, key, default, least)
              for key, default, least in (("restart_loop_count", 3, 2), ("log_lines", 10, 0))}
    routes = tuple(r for i, body in enumerate(_array(c, t.get("routes", []), "monitor.routes"))
                   if (r := _route(c, body, f"monitor.routes[{i}]")) is not None)
    return MonitorConfig(routes=routes, notify_channel=notify_channel, **seconds, **counts)


def _count(c: _Checker, t: Mapping[str, Any], key: str, default: int, least: int) -> int:
    value = t.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= 1000:
        c.add(f"monitor.{key}", f"must be a whole number from {least} to 1000")
        return default
    return value


def _array(c: _Checker, value: object, key: str) -> list[Any]:
    if not isinstance(value, list):
        c.add(key, "must be an array of tables ([[monitor.routes]])")
        return []
    return value


def _route(c: _Checker, body: object, key: str) -> Route | None:
    t = c.table(body, key, ROUTE_KEYS)
    channel = c.string(t, key, "channel", None) or ""
    if channel and not _CHANNEL_RE.match(channel):
        c.add(f"{key}.channel", f'"{channel}" is not a Slack channel id (starts with C or G)')
    containers = c.strings(t, key, "containers")
    images = c.strings(t, key, "images")
    labels = t.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        c.add(f"{key}.labels", 'must be a table of strings, like { team = "payments" }')
        labels = {}
    if not channel or not _CHANNEL_RE.match(channel):
        return None
    return Route(channel=channel, containers=containers, images=images, labels=dict(labels))
