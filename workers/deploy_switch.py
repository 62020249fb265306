"""Replacing an app's container: start the new one, check its health, switch — or put the old one back.

**Stop-first** when the app publishes fixed host ports (the new container could not bind them while the
old one runs): the old container is renamed ``NAME-previous`` and stopped, the new one starts as ``NAME``.
**Start-first** otherwise: the new one starts as ``NAME-next`` and is checked while the old one still
serves; then the old one is stopped and renamed ``NAME-previous`` and the new one renamed ``NAME``.
Either way a start or a health check that fails removes the new container and leaves (or brings back)
the old one as ``NAME``, running: an automatic rollback. One ``NAME-previous`` is kept; an app is never
left without a container.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dockbolt.core.args import LABEL_MANAGED, HealthSpec, RunArgs
from dockbolt.core.errors import DockerError, TargetNotFound, UserError
from dockbolt.core.scopes import LABEL_PROTECTED
from dockbolt.core.service_args import ServiceSpec, UpdatePolicy
from workers import messages
from workers.docker_port import DockerPort
from workers.docker_swarm import SwarmEngine, task_template

HEALTH_POLL = 1.0  # seconds between two health checks


@dataclass
class SwitchResult:
    """How the switch ended: ``outcome`` succeeded | rolled back | failed, why, and how long each phase
    took (start, health, switch: seconds)."""

    outcome: str = "succeeded"
    reason: str = ""
    phases: dict[str, float] = field(default_factory=dict)


def stop_first(spec: RunArgs) -> bool:
    """The app publishes fixed host ports: old and new cannot run side by side."""
    return any(p.host_port for p in spec.ports)


class Switch:
    """One replacement of the container ``name`` by one started from ``spec`` (a ready RunArgs)."""

    def __init__(self, docker: DockerPort, name: str, spec: RunArgs, labels: Mapping[str, str],
                 health: HealthSpec, step: Callable[[str], None]) -> None:
        self.docker = docker
        self.name = name
        self.previous = f"{name}-previous"
        self.spec = spec
        self.labels = labels
        self.health = health
        self.step = step
        self.result = SwitchResult()

    def run(self) -> SwitchResult:
        """Replace the container; never raises for a failed start or health check (see the outcome)."""
        old = self._exists(self.name)
        if stop_first(self.spec):
            self._stop_first(old)
        else:
            self._start_first(old)
        return self.result

    # -- the two ways -------------------------------------------------------------------------------------
    def _stop_first(self, old: bool) -> None:
        stash = f"{self.previous}.old"  # the one before, kept until the new container proves healthy
        self._phase("switch")
        try:
            if old:
                self.step("stopping the running container (the new one needs its ports)…")
                self._remove_if_there(stash)
                if self._exists(self.previous):
                    self.docker.rename(self.previous, stash)
                self.docker.rename(self.name, self.previous)
                self.docker.stop(self.previous)
        except UserError:  # the engine refused a step: the old container goes back before Docker's words
            self._restore(stash)
            raise
        finally:
            self._phase_end("switch")
        if self._start_and_check(self.name):
            self._remove_if_there(stash)
            return
        self.step("rolling back…")
        self._remove_if_there(self.name)
        if old:
            self._restore(stash)
        self.result.outcome = "rolled back" if old else "failed"

    def _restore(self, stash: str) -> None:
        """Bring the old container back as ``name``, running, and the one before it as ``previous``."""
        if not self._exists(self.name) and self._exists(self.previous):
            self.docker.rename(self.previous, self.name)
        if self._exists(self.name):
            self.docker.start(self.name)
        if self._exists(stash) and not self._exists(self.previous):
            self.docker.rename(stash, self.previous)

    def _start_first(self, old: bool) -> None:
        candidate = f"{self.name}-next"
        self._remove_if_there(candidate)
        if not self._start_and_check(candidate):
            self.step("rolling back…")
            self._remove_if_there(candidate)
            self.result.outcome = "rolled back" if old else "failed"
            return
        self.step("switching…")
        self._phase("switch")
        if old:
            self._remove_if_there(self.previous)
            self.docker.stop(self.name)
            self.docker.rename(self.name, self.previous)
        self.docker.rename(candidate, self.name)
        self._phase_end("switch")

    # -- start and health -------------------------------------------------------------------------------
    def _start_and_check(self, name: str) -> bool:
        self.step(f"starting {self.spec.image} as {name}…")
        self._phase("start")
        try:
            self.docker.run(replace(self.spec, name=name), self.labels)
        except UserError as exc:  # DockerError, or a name taken meanwhile: said in Docker's words
            self.result.reason = messages.deploy_start_failed(str(exc))
            return False
        finally:
            self._phase_end("start")
        self.step("health-checking…")
        self._phase("health")
        try:
            problem = self._unhealthy(name)
        finally:
            self._phase_end("health")
        if problem:
            self.result.reason = problem
        return not problem

    def _unhealthy(self, name: str) -> str:
        """"" once the container is healthy; otherwise why not (after the timeout at most)."""
        has_check = not self.health.cmd and bool(self._state(name).get("Health"))  # the image's HEALTHCHECK
        waits = self.health.timeout if self.health.cmd or has_check else self.health.grace
        deadline = time.monotonic() + waits
        said = ""
        while True:
            state = self._state(name)
            if not state.get("Running"):
                return messages.health_exited(state.get("ExitCode"), state.get("Error") or "")
            if self.health.cmd:
                code, said = self.docker.exec(name, self.health.cmd)
                if code == 0:
                    return ""
            elif has_check:
                status = str((state.get("Health") or {}).get("Status") or "")
                if status == "healthy":
                    return ""
                if status == "unhealthy":
                    return messages.health_check_said("the image's HEALTHCHECK", _last_log(state))
            elif time.monotonic() >= deadline:
                return ""  # still running after the grace period
            if time.monotonic() >= deadline:
                what = " ".join(self.health.cmd) or "the image's HEALTHCHECK"
                return messages.health_timed_out(what, self.health.timeout, said)
            time.sleep(HEALTH_POLL)

    # -- helpers ------------------------------------------------------------------------------------------
    def _state(self, name: str) -> dict[str, Any]:
        state = self.docker.inspect(name).get("State") or {}
        return dict(state)

    def _exists(self, name: str) -> bool:
        try:
            self.docker.inspect(name)
        except TargetNotFound:
            return False
        return True

    def _remove_if_there(self, name: str) -> None:
        try:
            self.docker.remove(name, force=True)
        except TargetNotFound:
            pass
        except DockerError as exc:  # "removal already in progress" and the like: Docker's words, raised
            if "No such container" not in str(exc):
                raise

    def _phase(self, name: str) -> None:
        self.result.phases[name] = self.result.phases.get(name, 0.0) - time.monotonic()

    def _phase_end(self, name: str) -> None:
        self.result.phases[name] = self.result.phases.get(name, 0.0) + time.monotonic()


def _last_log(state: Mapping[str, Any]) -> str:
    log = (state.get("Health") or {}).get("Log") or []
    return str(log[-1].get("Output") or "").strip()[-500:] if log else ""


class ServiceSwitch:
    """A deploy of an app whose ``mode`` is "service": a rolling update of the Swarm service ``name`` to
    ``spec`` (or its creation, the first time). Start-first, and Swarm's own health-gated rollback: the
    app's health command is the tasks' HEALTHCHECK, the update's failure action is rollback, and Swarm
    puts the previous spec back by itself when a new task fails — reported as "rolled back"."""

    POLICY = UpdatePolicy(order="start-first", failure_action="rollback")

    def __init__(self, docker: DockerPort, name: str, spec: RunArgs, labels: Mapping[str, str],
                 health: HealthSpec, step: Callable[[str], None], wait: float = 600.0) -> None:
        self.swarm = SwarmEngine.of(docker)
        self.name, self.labels, self.step, self.wait = name, labels, step, wait
        self.spec = ServiceSpec(run=replace(spec, name=name), update=self.POLICY)
        self.template = task_template(self.spec, labels, health)
        self.result = SwitchResult()

    def run(self) -> SwitchResult:
        """Create or update the service and follow Swarm to the end of it."""
        started = time.monotonic()
        try:
            current = self.swarm.service(self.name)
        except TargetNotFound:
            current = None
        if current is None:
            self.step(f"creating the service {self.name}…")
            self.swarm.create_service(self.spec, self.template, self.labels)
            info = self.swarm.wait_converged(self.name, started + self.wait, self.step)
            if info.running != info.desired:
                self.result.outcome = "failed"
                self.result.reason = messages.service_not_converged(self.name, self._errors())
        else:
            self._refuse_if_not_ours(current.labels)
            before = self.swarm.update_started(self.name)
            self.step(f"rolling {self.spec.run.image} out to {self.name} (start-first)…")
            if self.swarm.update(self.name, template=self.template, policy=self.POLICY):
                info = self.swarm.wait_rollout(self.name, before, started + self.wait, self.step)
                if info.update_state != "completed":
                    back = info.update_state == "rollback_completed"
                    self.result.outcome = "rolled back" if back else "failed"
                    self.result.reason = messages.service_rollout(self.name, "update", info.update_state,
                                                                  info.update_message, info.image)
        self.result.phases["rollout"] = time.monotonic() - started
        return self.result

    def _refuse_if_not_ours(self, labels: Mapping[str, str]) -> None:
        if labels.get(LABEL_PROTECTED) == "true":
            raise UserError(f"not allowed: `{self.name}` {messages.SERVICE_REFUSED['protected']}")
        if labels.get(LABEL_MANAGED) != "true":
            raise UserError(f"not allowed: `{self.name}` is a service dockbolt did not create: a deploy "
                            "replaces only its own")

    def _errors(self) -> str:
        return "; ".join(dict.fromkeys(t.error for t in self.swarm.tasks(self.name) if t.error))
