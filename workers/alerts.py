"""From a container event to an alert in Slack: one incident per container and condition, no noise.

Conditions: ``crash`` (exited with a non-zero code; it becomes a *restart loop* when the container exits
``restart_loop_count`` times within ``restart_loop_window``), ``oom`` (killed for memory) and
``unhealthy`` (recovered when its health check passes again). An incident's first message is an
announcement sent through the outbox; what happens next is said in its thread or by editing it, never by
a new alert, until ``cooldown`` after its last event. Not alerts: containers labelled
``dockbolt.notify=false``, exits that follow a ``kill`` through the engine's API (a `stop`, `rm -f` or a
deploy's switch — by dockbolt or anyone with the socket), and containers held by a mute (counted).
Log lines and health-check output are quoted (masked) only for containers chat may read: managed by
dockbolt, or any with ``[policy] read_unmanaged``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from redis import Redis

from dockbolt.core.args import LABEL_MANAGED
from dockbolt.core.contract import JobRequest, new_job_id
from dockbolt.core.errors import DockerError, TargetNotFound
from dockbolt.core.incidents import WATCHER_USER, Incident, IncidentStore, MuteStore, note
from dockbolt.core.monitor import NOTIFY_LABEL, MonitorConfig
from dockbolt.core.outbox import Outbox
from dockbolt.core.redact import Redactor
from workers import messages
from workers.formatting import human_duration

log = logging.getLogger(__name__)

LOG_BYTES = 16 * 1024  # of the last log lines an exit alert quotes
# Event attributes that are not the container's labels.
NOT_LABELS = frozenset({"name", "image", "exitCode", "signal", "execDuration"})


class Engine(Protocol):
    """What the alerter asks the engine (``workers.docker_monitor.EngineMonitor``)."""

    def inspect(self, name: str) -> dict[str, Any]: ...
    def logs(self, name: str, *, tail: int | None = None, since_unix: int | None = None,
             timestamps: bool = False, max_bytes: int) -> bytes: ...


@dataclass(frozen=True)
class Event:
    """One container event, as the engine sent it."""

    nano: int  # timeNano: the engine's clock
    action: str  # "die", "oom", "health_status: unhealthy", …
    id: str
    name: str
    image: str
    attributes: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Tells two events of the same nanosecond apart."""
        return f"{self.id}:{self.action}"

    @property
    def labels(self) -> dict[str, str]:
        """The container's labels (the engine sends them among the attributes)."""
        return {k: v for k, v in self.attributes.items() if k not in NOT_LABELS}

    @classmethod
    def from_docker(cls, raw: Mapping[str, Any]) -> Event | None:
        """Read an event of the engine's stream (None for anything that is not a container event)."""
        actor = raw.get("Actor") or {}
        attrs = {str(k): str(v) for k, v in (actor.get("Attributes") or {}).items()}
        if raw.get("Type") != "container" or not actor.get("ID") or not raw.get("timeNano"):
            return None
        return cls(nano=int(raw["timeNano"]), action=str(raw.get("Action") or ""), id=str(actor["ID"]),
                   name=attrs.get("name", str(actor["ID"])[:12]), image=attrs.get("image", ""),
                   attributes=attrs)


def _time(value: object) -> float | None:
    try:
        return datetime.fromisoformat(str(value)[:26].rstrip("Z") + "+00:00").timestamp()
    except ValueError:
        return None


def _ran_for(state: Mapping[str, Any]) -> str:
    started, finished = _time(state.get("StartedAt")), _time(state.get("FinishedAt"))
    if started is None or finished is None or finished < started:
        return "an unknown time"
    return human_duration(finished - started).lower()


class Alerter:
    """Turns events into incidents (see the module docstring); one per watcher, called in event order."""

    def __init__(self, engine: Engine, redis: Redis, host: str, config: MonitorConfig, redactor: Redactor,
                 *, peak: Callable[[str], float] = lambda name: 0.0,
                 counted: Callable[[str], None] = lambda condition: None,
                 read_unmanaged: bool = False) -> None:
        self.engine, self.redis, self.host, self.config = engine, redis, host, config
        self.redactor, self.peak, self.counted = redactor, peak, counted
        self.read_unmanaged = read_unmanaged  # [policy] read_unmanaged: quote logs of any container
        self.incidents, self.mutes, self.outbox = IncidentStore(redis, host), MuteStore(redis), Outbox(redis)
        self._killed: set[str] = set()  # containers a kill was sent to: their next exit is a stop

    def handle(self, ev: Event) -> None:
        """Act on one event (DockerUnavailable and RedisError propagate: the event is tried again)."""
        if ev.action == "kill":
            self._killed.add(ev.id)
        elif ev.action in ("start", "destroy"):
            self._killed.discard(ev.id)
        if ev.labels.get(NOTIFY_LABEL, "").lower() == "false":
            return
        if ev.action == "die":
            self._died(ev)
        elif ev.action == "oom":
            self._oom(ev, self._inspect(ev))
        elif ev.action == "health_status: unhealthy":
            self._unhealthy(ev)
        elif ev.action == "health_status: healthy":
            self._healthy(ev)

    def _inspect(self, ev: Event) -> dict[str, Any]:
        try:
            return self.engine.inspect(ev.id)
        except (TargetNotFound, DockerError):  # removed already (--rm): the event's attributes must do
            return {}

    def _died(self, ev: Event) -> None:
        if ev.id in self._killed:
            self._killed.discard(ev.id)
            log.info("%s exited after a kill through the engine API (a stop): no alert", ev.name)
            return
        doc = self._inspect(ev)
        state = doc.get("State") or {}
        if state.get("OOMKilled"):
            self._oom(ev, doc)
            return
        code = int(ev.attributes.get("exitCode") or state.get("ExitCode") or 0)
        policy = str(((doc.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name") or "no")
        restarts = policy in ("always", "unless-stopped") or (policy == "on-failure" and code != 0)
        now = ev.nano / 1e9
        exits = self.incidents.exits(ev.name, now, self.config.restart_loop_window) if restarts else 1
        looping = exits >= self.config.restart_loop_count
        inc = self.incidents.get(ev.name, "crash")
        if inc is not None:
            self._crash_again(ev, inc, exits if restarts else 0, looping, code)
        elif code != 0 or looping:
            ran = _ran_for(state)
            text = (self._loop_text(ev, exits, code) if looping else
                    messages.alert_exited(ev.name, ev.image, self.host, code, ran, self._logs(ev)))
            self._open(ev, "loop" if looping else "crash", text, key="crash",
                       state="loop" if looping else "open")

    def _crash_again(self, ev: Event, inc: Incident, exits: int, looping: bool, code: int) -> None:
        """The same container exited again within the cooldown: a loop (edited in place), or said in the
        thread; a container that restarts by itself is only counted until it loops (``exits``: 0 when it
        does not restart by itself)."""
        cooldown = self.config.cooldown
        if looping:
            text = self._loop_text(ev, exits, code)
            self.incidents.update(ev.name, "crash", cooldown, state="loop", text=text)
            self.outbox.announce(inc.job_id, inc.channel, text)
            if inc.state != "loop":
                self.outbox.post(inc.job_id, messages.alert_again(ev.name, "exited (a restart loop now)"),
                                 to="announce")
        elif exits:
            self.incidents.update(ev.name, "crash", cooldown)
        elif code != 0:
            self.incidents.update(ev.name, "crash", cooldown)
            again = messages.alert_again(ev.name, f"exited with code {code}")
            self.outbox.post(inc.job_id, again, to="announce")

    def _loop_text(self, ev: Event, exits: int, code: int) -> str:
        return messages.alert_loop(ev.name, ev.image, self.host, exits, self.config.restart_loop_window, code)

    def _oom(self, ev: Event, doc: Mapping[str, Any]) -> None:
        if self.incidents.get(ev.name, "oom") is not None:  # the engine says oom more than once, then die
            self.incidents.update(ev.name, "oom", self.config.cooldown)
            return
        limit = float((doc.get("HostConfig") or {}).get("Memory") or 0)
        text = messages.alert_oom(ev.name, ev.image, self.host, limit, self.peak(ev.name))
        self._open(ev, "oom", text)

    def _unhealthy(self, ev: Event) -> None:
        inc = self.incidents.get(ev.name, "unhealthy")
        if inc is not None and inc.state == "open":
            self.incidents.update(ev.name, "unhealthy", self.config.cooldown)
            return
        health = ((self._inspect(ev).get("State") or {}).get("Health") or {})
        checks = health.get("Log") or [{}]
        output = (self.redactor.redact(str(checks[-1].get("Output") or "").strip()[-1500:])
                  if self._may_quote(ev) else None)
        text = messages.alert_unhealthy(ev.name, ev.image, self.host, int(health.get("FailingStreak") or 1),
                                        output)
        if inc is not None:  # recovered a moment ago, failing again: the same incident, reopened
            self.incidents.update(ev.name, "unhealthy", self.config.cooldown, state="open", text=text)
            self.outbox.announce(inc.job_id, inc.channel, text)
            self.outbox.post(inc.job_id, messages.alert_again(ev.name, "unhealthy"), to="announce")
            return
        self._open(ev, "unhealthy", text)

    def _healthy(self, ev: Event) -> None:
        inc = self.incidents.get(ev.name, "unhealthy")
        if inc is None or inc.state != "open":
            return
        after = human_duration(max(0.0, ev.nano / 1e9 - inc.opened)).lower()
        self.incidents.update(ev.name, "unhealthy", self.config.cooldown, state="resolved")
        self.outbox.post(inc.job_id, messages.alert_recovered(ev.name, after), to="announce")
        self.outbox.announce(inc.job_id, inc.channel, messages.alert_resolved(inc.text, after))

    def _may_quote(self, ev: Event) -> bool:
        """What a container says is quoted only where chat may read it: dockbolt manages it, or the
        policy lets chat read every container (`[policy] read_unmanaged`, as for `logs`)."""
        return self.read_unmanaged or ev.labels.get(LABEL_MANAGED) == "true"

    def _logs(self, ev: Event) -> str | None:
        if not self._may_quote(ev):
            return None
        if self.config.log_lines <= 0:
            return ""
        try:
            raw = self.engine.logs(ev.id, tail=self.config.log_lines, max_bytes=LOG_BYTES)
        except (TargetNotFound, DockerError):
            return ""
        return self.redactor.redact(raw.decode(errors="replace"))

    def _open(self, ev: Event, condition: str, text: str, *, key: str = "", state: str = "open") -> None:
        """Post a new incident, unless a mute holds it or nobody is to be told."""
        key = key or condition
        mute = self.mutes.holding(ev.name, time.time())
        if mute is not None:
            self.mutes.hold(mute, condition)
            log.info("%s alert for %s held by the mute of %s", condition, ev.name, mute.pattern)
            return
        channel = self.config.channel_for(ev.name, ev.image, ev.labels)
        if not channel:
            log.warning("%s alert for %s: no route and no [slack] notify_channel; not posted", condition,
                        ev.name)
            return
        job = JobRequest(job_id=f"alert-{new_job_id()}", verb="alert", args={}, user_id=WATCHER_USER,
                         channel_id=channel, command_text=f"alert {condition} {ev.name}", announce_in=channel)
        inc = Incident(job_id=job.job_id, channel=channel, opened=ev.nano / 1e9, state=state, text=text)
        if self.incidents.open(ev.name, key, inc, self.config.cooldown):
            note(self.redis, job, text)
            self.counted(condition)
