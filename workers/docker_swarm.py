"""Swarm mode over the docker SDK: services, their tasks and logs, nodes — the edge `service`/`node` use.

``SwarmEngine`` is a ``DockerEngine`` (same client, same error translation: an engine that is not a Swarm
manager answers in Docker's words, "This node is not a swarm manager…") plus the Swarm endpoints. Specs
are sent as the Engine API's JSON, the way the docker CLI (API ≥ 1.30) sends them: the manager never asks
a registry for the image's digest, so images that exist only on the nodes work. Updates and rollbacks
post the whole current spec back with its version, as the CLI does; ``wait_rollout`` follows one to its
end (completed, paused, rolled back) and ``wait_converged`` waits for every replica to run.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dockbolt.core.args import HealthSpec
from dockbolt.core.errors import DockerError
from dockbolt.core.service_args import ServiceSpec, UpdatePolicy
from workers.docker_engine import DockerEngine
from workers.docker_port import DockerPort

POLL = 1.0  # seconds between two looks at a rollout
NANO = 1_000_000_000
# UpdateStatus.State values after which nothing moves by itself any more.
ROLLOUT_ENDS = ("completed", "paused", "rollback_completed", "rollback_paused")


@dataclass(frozen=True)
class ServiceInfo:
    """One service as `docker service ls`/`inspect` show it; ``desired`` None for a global service."""

    id: str
    name: str
    image: str
    desired: int | None
    running: int
    ports: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    update_state: str = ""
    update_message: str = ""


@dataclass(frozen=True)
class TaskInfo:
    """One task of a service, as `docker service ps` shows it."""

    id: str
    name: str
    image: str
    node: str
    desired_state: str
    state: str
    since: str
    error: str = ""


@dataclass(frozen=True)
class NodeInfo:
    """One node, as `docker node ls` shows it."""

    id: str
    hostname: str
    status: str
    availability: str
    manager_status: str
    engine_version: str


def _image(spec: Mapping[str, Any]) -> str:
    image = str(spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get("Image") or "")
    return image.split("@", 1)[0]  # the CLI shows the reference without its pinned digest


def _service(doc: Mapping[str, Any]) -> ServiceInfo:
    spec = doc.get("Spec") or {}
    replicated = (spec.get("Mode") or {}).get("Replicated")
    status = doc.get("ServiceStatus") or {}
    update = doc.get("UpdateStatus") or {}
    ports = tuple(f"*:{p.get('PublishedPort')}->{p.get('TargetPort')}/{p.get('Protocol', 'tcp')}"
                  for p in (doc.get("Endpoint") or {}).get("Ports") or ())
    return ServiceInfo(id=str(doc.get("ID") or ""), name=str(spec.get("Name") or ""), image=_image(spec),
                       desired=int(replicated.get("Replicas") or 0) if replicated is not None else None,
                       running=int(status.get("RunningTasks") or 0), ports=ports,
                       labels=dict(spec.get("Labels") or {}), update_state=str(update.get("State") or ""),
                       update_message=str(update.get("Message") or ""))


def update_config(policy: UpdatePolicy, current: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The UpdateConfig of the `--update-*` flags given, over ``current`` (the service's own)."""
    config = dict(current or {})
    if policy.parallelism is not None:
        config["Parallelism"] = policy.parallelism
    if policy.delay is not None:
        config["Delay"] = policy.delay * NANO
    if policy.order is not None:
        config["Order"] = policy.order
    if policy.failure_action is not None:
        config["FailureAction"] = policy.failure_action
    return config


def task_template(spec: ServiceSpec, labels: Mapping[str, str], health: HealthSpec | None = None
                  ) -> dict[str, Any]:
    """The TaskTemplate of a ready spec (defaults applied, secrets set): what each replica runs, its
    containers labelled ``labels``; ``health.cmd`` becomes its HEALTHCHECK, so that Swarm gates on it."""
    run = spec.run
    container: dict[str, Any] = {"Image": run.image, "Labels": dict(labels), "Env": list(run.env)}
    if run.command:
        container["Args"] = list(run.command)  # like the CLI: the image's entrypoint is kept
    if health is not None and health.cmd:
        container["HealthCheck"] = {"Test": ["CMD", *health.cmd], "Interval": NANO, "Timeout": 10 * NANO,
                                    "Retries": max(1, health.timeout)}
    limits = {"NanoCPUs": run.nano_cpus, "MemoryBytes": run.memory, "Pids": run.pids_limit}
    reserve = {"NanoCPUs": spec.reserve_nano_cpus, "MemoryBytes": spec.reserve_memory}
    template: dict[str, Any] = {"ContainerSpec": container, "Resources": {
        "Limits": {k: v for k, v in limits.items() if v is not None},
        "Reservations": {k: v for k, v in reserve.items() if v is not None}}}
    if spec.constraints:
        template["Placement"] = {"Constraints": list(spec.constraints)}
    return template


def endpoint(spec: ServiceSpec) -> dict[str, Any] | None:
    """The EndpointSpec of `-p` (Swarm's routing mesh: every address of every node)."""
    ports = [{"Protocol": p.proto, "TargetPort": int(p.container_port), "PublishMode": "ingress",
              **({"PublishedPort": int(p.host_port)} if p.host_port else {})} for p in spec.run.ports]
    return {"Ports": ports} if ports else None


def _node(row: Mapping[str, Any]) -> NodeInfo:
    described, manager = row.get("Description") or {}, row.get("ManagerStatus") or {}
    return NodeInfo(id=str(row["ID"]), hostname=str(described.get("Hostname") or ""),
                    status=str((row.get("Status") or {}).get("State") or "").capitalize(),
                    availability=str((row.get("Spec") or {}).get("Availability") or "").capitalize(),
                    manager_status="Leader" if manager.get("Leader") else str(manager.get("Reachability") or
                                                                              "").capitalize(),
                    engine_version=str((described.get("Engine") or {}).get("EngineVersion") or ""))


class SwarmEngine(DockerEngine):
    """A ``DockerEngine`` with the Swarm endpoints (the engine must be a manager)."""

    @classmethod
    def of(cls, port: DockerPort) -> SwarmEngine:
        """The Swarm endpoints of the engine behind ``port`` (same client and connections)."""
        if isinstance(port, SwarmEngine):
            return port
        if not isinstance(port, DockerEngine):
            raise TypeError("Swarm needs the real engine")
        return cls(port._client, port.host)

    @property
    def _swarm(self) -> Any:
        """The SDK's low-level client, untyped where its Swarm methods are (and for the update endpoint)."""
        return self._api

    def services(self) -> list[ServiceInfo]:
        """Every service, with its running/desired task counts."""
        with self._edge():
            return sorted((_service(d) for d in self._swarm.services(status=True)), key=lambda s: s.name)

    def service(self, name: str) -> ServiceInfo:
        """One service by name or id (TargetNotFound in Docker's words when there is none)."""
        with self._edge():
            found = self._swarm.inspect_service(name)  # by name, id or id prefix, like the CLI
            counted = self._swarm.services(filters={"id": [found["ID"]]}, status=True)
            return _service(counted[0] if counted else found)

    def tasks(self, name: str) -> list[TaskInfo]:
        """The tasks of a service, newest first per slot (`docker service ps`)."""
        with self._edge():
            service = self._swarm.inspect_service(name)
            nodes = {str(n["ID"]): str(n.get("Description", {}).get("Hostname") or "")
                     for n in self._swarm.nodes()}
            rows = self._swarm.tasks(filters={"service": [service["ID"]]})
        rows.sort(key=lambda t: (t.get("Slot") or 0, str(t.get("UpdatedAt") or "")), reverse=True)
        rows.sort(key=lambda t: t.get("Slot") or 0)
        svc = str(service["Spec"]["Name"])
        return [TaskInfo(id=str(t["ID"]), name=f"{svc}.{t.get('Slot') or t.get('NodeID', '')}",
                         image=_image({"TaskTemplate": t.get("Spec") or {}}),
                         node=nodes.get(str(t.get("NodeID")), ""),
                         desired_state=str(t.get("DesiredState") or ""),
                         state=str((t.get("Status") or {}).get("State") or ""),
                         since=str((t.get("Status") or {}).get("Timestamp") or ""),
                         error=str((t.get("Status") or {}).get("Err") or "")) for t in rows]

    def create_service(self, spec: ServiceSpec, template: Mapping[str, Any],
                       labels: Mapping[str, str]) -> str:
        """Create a replicated service running ``template``; its id."""
        mode = {"Replicated": {"Replicas": 1 if spec.replicas is None else spec.replicas}}
        with self._edge(not_found=DockerError):
            created = self._swarm.create_service(dict(template), name=spec.run.name, labels=dict(labels),
                                                 mode=mode, update_config=update_config(spec.update) or None,
                                                 endpoint_spec=endpoint(spec))
        return str(created["ID"])

    def _change(self, name: str, edit: Callable[[dict[str, Any]], None], *, rollback: bool = False) -> bool:
        """Post the service's current spec back, as ``edit`` changed it (with ``rollback``: Swarm puts its
        previous spec back); whether the tasks' spec changed (a rollout follows)."""
        with self._edge():
            doc = self._swarm.inspect_service(name)
            spec = copy.deepcopy(dict(doc["Spec"]))
            edit(spec)
            params: dict[str, Any] = {"version": doc["Version"]["Index"]}
            if rollback:
                params["rollback"] = "previous"
            url = self._swarm._url("/services/{0}/update", doc["ID"])
            self._swarm._raise_for_status(self._swarm._post_json(url, data=spec, params=params))
        return rollback or spec.get("TaskTemplate") != doc["Spec"].get("TaskTemplate")

    def set_replicas(self, name: str, replicas: int) -> None:
        """`docker service scale NAME=N`."""
        def edit(spec: dict[str, Any]) -> None:
            replicated = (spec.get("Mode") or {}).get("Replicated")
            if replicated is None:
                raise DockerError(f"{name}: scale can only be used with replicated mode")  # the CLI's words
            replicated["Replicas"] = replicas
        self._change(name, edit)

    def update(self, name: str, *, image: str = "", policy: UpdatePolicy | None = None,
               template: Mapping[str, Any] | None = None) -> bool:
        """`docker service update [--image IMAGE] [--update-*]` (``template``: a whole new TaskTemplate);
        whether a rollout follows (the tasks' spec changed)."""
        def edit(spec: dict[str, Any]) -> None:
            if template is not None:
                spec["TaskTemplate"] = dict(template)
            if image:
                spec["TaskTemplate"]["ContainerSpec"]["Image"] = image
            if policy is not None:
                spec["UpdateConfig"] = update_config(policy, spec.get("UpdateConfig"))
        return self._change(name, edit)

    def rollback(self, name: str) -> None:
        """`docker service rollback NAME`: Swarm's previous spec back, rolled out like an update."""
        self._change(name, lambda spec: None, rollback=True)

    def remove_service(self, name: str) -> None:
        """Remove a service (its tasks stop)."""
        with self._edge():
            self._swarm.remove_service(name)

    def service_logs(self, name: str, *, tail: int | None, max_bytes: int) -> bytes:
        """stdout+stderr of every task; at most the newest ``max_bytes``."""
        buf = bytearray()
        with self._edge():
            for chunk in self._swarm.service_logs(name, stdout=True, stderr=True, follow=False,
                                                tail="all" if tail is None else tail, is_tty=False):
                buf += chunk
                if len(buf) > 2 * max_bytes:
                    del buf[: len(buf) - max_bytes]
        return bytes(buf[-max_bytes:])

    def nodes(self) -> list[NodeInfo]:
        """The Swarm's nodes (`docker node ls`)."""
        with self._edge():
            rows = self._swarm.nodes()
        return [_node(n) for n in rows]

    def wait_rollout(self, name: str, before: str, deadline: float,
                     step: Callable[[str], None]) -> ServiceInfo:
        """Follow an update (or rollback) begun after ``before`` (UpdateStatus.StartedAt then) to its end or
        the deadline; the service then, its ``update_message`` every message Swarm gave on the way (why it
        rolled back is said while it does, not at the end)."""
        said: list[str] = []
        while True:
            with self._edge():
                update = self._swarm.inspect_service(name).get("UpdateStatus") or {}
            state, message = str(update.get("State") or ""), str(update.get("Message") or "")
            if str(update.get("StartedAt") or "") not in ("", before):
                step(f"{name}: {state.replace('_', ' ')}…")
                said += [message] if message and message not in said else []
                if state in ROLLOUT_ENDS or time.monotonic() >= deadline:
                    return replace(self.service(name), update_message="; ".join(said))
            if time.monotonic() >= deadline:
                return self.service(name)
            time.sleep(POLL)

    def wait_converged(self, name: str, deadline: float, step: Callable[[str], None]) -> ServiceInfo:
        """Wait until as many tasks run as are desired (or the deadline); the service as it is then."""
        while True:
            info = self.service(name)
            step(f"{name}: {info.running}/{info.desired} running…")
            if info.desired is None or info.running == info.desired or time.monotonic() >= deadline:
                return info
            time.sleep(POLL)

    def update_started(self, name: str) -> str:
        """When the service's last update began ("" if never): what ``wait_rollout`` compares against."""
        with self._edge():
            update = self._swarm.inspect_service(name).get("UpdateStatus") or {}
        return str(update.get("StartedAt") or "")
