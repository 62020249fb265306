"""The worker side of `service`, without an engine: the check on each named service as the engine has it,
what a replica runs (the TaskTemplate and EndpointSpec sent), how `--update-*` merge into the service's
own UpdateConfig, and how a rollout's end is told. The engine's side is tests/integration/test_swarm.py."""

from __future__ import annotations

import time

import pytest

from dockbolt.core.args import HealthSpec, PortSpec, RunArgs
from dockbolt.core.contract import JobRequest
from dockbolt.core.guardrails import Guardrails
from dockbolt.core.service_args import ServiceSpec, UpdatePolicy
from tests.support.recording_docker import RecordingDocker
from workers import messages
from workers.docker_port import ContainerSummary
from workers.docker_swarm import ServiceInfo, endpoint, task_template, update_config
from workers.handlers.base import HandlerContext
from workers.handlers.service import refusal

SERVICE_ID = "k1tm68qmwa0zt403gxq97iz1g"
MANAGED = {"dockbolt.managed": "true"}


def context(visible: bool = True, read_unmanaged: bool = False,
            seen: list[ContainerSummary] | None = None) -> HandlerContext:
    """A context whose visibility check answers ``visible`` and records what it was asked about."""
    job = JobRequest(job_id="j1", verb="service", args={}, user_id="U1", channel_id="C1", command_text="x",
                     queued_at=time.time())

    def visible_to_caller(row: ContainerSummary) -> bool:
        (seen if seen is not None else []).append(row)
        return visible

    return HandlerContext(job=job, docker=RecordingDocker(), progress=lambda _: None,
                          guardrails=Guardrails(read_unmanaged=read_unmanaged), visible=visible_to_caller)


def info(**labels: str) -> ServiceInfo:
    return ServiceInfo(id=SERVICE_ID, name="web", image="acme/web:1", desired=2, running=2, labels=labels)


def test_a_service_is_checked_by_name_image_and_labels_like_a_container() -> None:
    seen: list[ContainerSummary] = []
    assert refusal(context(seen=seen), "web", info(**MANAGED), changes=True) is None
    assert [(row.name, row.image, row.labels) for row in seen] == [("web", "acme/web:1", MANAGED)]
    assert refusal(context(visible=False), "web", info(**MANAGED), changes=False) == \
        messages.SERVICE_REFUSED["reach"]


@pytest.mark.parametrize(("labels", "read_unmanaged", "changes", "why"), [
    ({**MANAGED, "dockbolt.protected": "true"}, False, True, "protected"),
    ({**MANAGED, "dockbolt.protected": "true"}, False, False, None),  # a protected service can be read
    ({}, True, True, "unmanaged"),  # read_unmanaged lets chat read, never change
    ({}, True, False, None),
])
def test_protected_and_unmanaged_services_are_not_changed(labels: dict[str, str], read_unmanaged: bool,
                                                          changes: bool, why: str | None) -> None:
    got = refusal(context(read_unmanaged=read_unmanaged), "web", info(**labels), changes=changes)
    assert got == (messages.SERVICE_REFUSED[why] if why else None)


def test_a_short_id_prefix_is_refused() -> None:
    short = refusal(context(), SERVICE_ID[:4], info(**MANAGED), changes=False)
    assert short == messages.SERVICE_REFUSED["prefix"]
    assert refusal(context(), SERVICE_ID[:12], info(**MANAGED), changes=False) is None


def test_the_task_template_carries_limits_labels_command_and_health() -> None:
    spec = ServiceSpec(run=RunArgs(image="acme/web:1", command=("sh", "-c", "x"), env=("A=1",),
                                   memory=64 << 20, nano_cpus=500_000_000, pids_limit=512),
                       reserve_memory=32 << 20, constraints=("node.role==manager",))
    template = task_template(spec, MANAGED, HealthSpec(cmd=("test", "-e", "/ok"), timeout=7))
    assert template["ContainerSpec"] == {
        "Image": "acme/web:1", "Labels": MANAGED, "Env": ["A=1"], "Args": ["sh", "-c", "x"],
        "HealthCheck": {"Test": ["CMD", "test", "-e", "/ok"], "Interval": 10**9, "Timeout": 10 * 10**9,
                        "Retries": 7}}
    assert template["Resources"] == {
        "Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 64 << 20, "Pids": 512},
        "Reservations": {"MemoryBytes": 32 << 20}}
    assert template["Placement"] == {"Constraints": ["node.role==manager"]}
    bare = task_template(ServiceSpec(run=RunArgs(image="busybox")), {})
    assert "Args" not in bare["ContainerSpec"] and "HealthCheck" not in bare["ContainerSpec"]


def test_published_ports_go_to_the_routing_mesh() -> None:
    spec = ServiceSpec(run=RunArgs(image="busybox", ports=(PortSpec("80", "8080", "0.0.0.0"),
                                                           PortSpec("53", "", "0.0.0.0", "udp"))))
    assert endpoint(spec) == {"Ports": [
        {"Protocol": "tcp", "TargetPort": 80, "PublishMode": "ingress", "PublishedPort": 8080},
        {"Protocol": "udp", "TargetPort": 53, "PublishMode": "ingress"}]}
    assert endpoint(ServiceSpec(run=RunArgs(image="busybox"))) is None


def test_update_flags_merge_into_the_services_own_config() -> None:
    current = {"Parallelism": 1, "Order": "stop-first", "Monitor": 5 * 10**9}
    merged = update_config(UpdatePolicy(delay=10, order="start-first", failure_action="rollback"), current)
    assert merged == {"Parallelism": 1, "Order": "start-first", "Monitor": 5 * 10**9, "Delay": 10 * 10**9,
                      "FailureAction": "rollback"}
    assert current["Order"] == "stop-first"  # the service's own document is not changed in place
    assert update_config(UpdatePolicy()) == {}


@pytest.mark.parametrize(("verb", "state", "says"), [
    ("update", "completed", "Update of `web`: rolled out; it runs `acme/web:2`."),
    ("update", "rollback_completed", "rolled back by Swarm; it runs `acme/web:2`.\n> task failed"),
    ("rollback", "rollback_completed", "Rollback of `web`: rolled back; it runs `acme/web:2`."),
    ("update", "paused", "Update of `web`: paused; it runs `acme/web:2`.\n> task failed"),
    ("update", "unchanged", "nothing to roll out (its tasks did not change)"),
])
def test_how_a_rollout_ended_is_told(verb: str, state: str, says: str) -> None:
    said = "task failed" if state in ("rollback_completed", "paused") and verb == "update" else ""
    assert says in messages.service_rollout("web", verb, state, said, "acme/web:2")
