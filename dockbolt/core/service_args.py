"""The `service …` verb's args (Swarm mode): what `service create` runs and the `--update-*` policy.

Part of the job contract like ``dockbolt.core.args`` (same codec, same rules); a replica is a checked
``RunArgs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from dockbolt.core.args import Args, RunArgs

# `service …` (Swarm mode): its subcommands (those that only read first) and the `--update-*` values.
ServiceAction = Literal["ls", "ps", "logs", "scale", "update", "rollback", "create", "rm"]
SERVICE_ACTIONS: tuple[ServiceAction, ...] = ("ls", "ps", "logs", "scale", "update", "rollback", "create",
                                               "rm")
UpdateOrder = Literal["start-first", "stop-first"]
FailureAction = Literal["pause", "continue", "rollback"]
SWARM_PUBLISH_ADDRESS = "0.0.0.0"  # noqa: S104 (Swarm's routing mesh publishes on every address)


@dataclass(frozen=True)
class UpdatePolicy(Args):
    """The `--update-*` flags (delay in seconds; None: the service's current value or the engine's)."""

    parallelism: int | None = None
    delay: int | None = None
    order: UpdateOrder | None = None
    failure_action: FailureAction | None = None


@dataclass(frozen=True)
class ServiceSpec(Args):
    """`service create`: the `run` each replica is — checked by the same guardrails; its memory and
    nano_cpus are `--limit-memory`/`--limit-cpu`, its ports on SWARM_PUBLISH_ADDRESS — plus what only a
    service has: replicas, reservations, placement constraints (`node.role==manager`), update policy."""

    run: RunArgs
    replicas: int | None = None
    reserve_memory: int | None = None
    reserve_nano_cpus: int | None = None
    constraints: tuple[str, ...] = ()
    update: UpdatePolicy = field(default_factory=UpdatePolicy)


@dataclass(frozen=True)
class ServiceArgs(Args):
    """`service ACTION …`: ``names`` for ps, logs, rollback, rm and update; ``replicas`` (NAME → N) for
    scale; ``spec`` for create; ``image`` ("" = unchanged) and ``update`` for update; ``tail`` for logs."""

    action: ServiceAction
    names: tuple[str, ...] = ()
    replicas: Mapping[str, int] = field(default_factory=dict)
    spec: ServiceSpec | None = None
    image: str = ""
    update: UpdatePolicy = field(default_factory=UpdatePolicy)
    tail: int | None = None

    def __post_init__(self) -> None:
        if (self.action == "create") != (self.spec is not None):
            raise ValueError("spec is given for create, and only for create")
        if self.action == "scale" and (not self.replicas or min(self.replicas.values()) < 0):
            raise ValueError("scale needs NAME=N pairs with N ≥ 0")
        if self.action not in ("ls", "scale", "create") and not all(self.names or ("",)):
            raise ValueError(f"{self.action} needs service names")
