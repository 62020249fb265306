"""`service ACTION …`: Docker Swarm services, driven from chat (the engine must be a Swarm manager).

The parser knows verbs by their first word, so `service` is one queued verb whose first argument picks
the subcommand; everything after it is parsed again by that subcommand's own spec, registered here too
as `service-ls`, `service-scale`… Those specs carry each subcommand's flags, usage and default role, and
their names are what a role's ``allow`` lists: a command needs a role that allows `service` (viewer's,
like `ps`) and its subcommand (``dockbolt.core.rbac``). Typed under that name (`service-rm web`) a
subcommand is queued as such and runs the same way. Reads are viewer's (like ps/logs); changes are
operator's, like `run`, `stop` and `rm`, whose guardrails `create` and `update` go through.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot.verbs.base import Flag, VerbSpec
from bot.verbs.logs import DEFAULT_TAIL, parse_tail
from bot.verbs.run import image_ref
from bot.verbs.run_flags import parse_env, parse_port
from bot.verbs.values import REF_RE, nano_cpus, whole_number
from dockbolt.core.args import PortSpec, RunArgs
from dockbolt.core.errors import UsageError
from dockbolt.core.mrkdwn import code
from dockbolt.core.rbac import DefaultRole
from dockbolt.core.scopes import subverb
from dockbolt.core.service_args import (
    SERVICE_ACTIONS,
    SWARM_PUBLISH_ADDRESS,
    ServiceAction,
    ServiceArgs,
    ServiceSpec,
    UpdatePolicy,
)
from dockbolt.core.units import duration_seconds, memory_bytes

# swarmkit's rule for service names: a DNS label (letters, digits, "-"), at most 63 characters.
SERVICE_NAME_RE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\Z")
_CONSTRAINT_RE = re.compile(r"^(?:node|engine)\.[A-Za-z0-9_.-]+\s*(?:==|!=)\s*\S+\Z")
_ORDERS = ("start-first", "stop-first")
_FAILURE_ACTIONS = ("pause", "continue", "rollback")
# A rolling update waits for every replica: long, but bounded by the job timeout.
TIMEOUT = 900


def service_name(raw: str) -> str:
    """Check a name for a new service (swarmkit: letters, digits and "-", at most 63 characters)."""
    if not SERVICE_NAME_RE.match(raw):
        raise ValueError(f"invalid service name {code(raw)}: letters, digits and `-`, at most 63 characters")
    return raw


def service_ref(raw: str) -> str:
    """Check a service name or id typed as an argument."""
    if not REF_RE.match(raw):
        raise ValueError(f"{code(raw)} is not a valid service name or id")
    return raw


def swarm_port(raw: str) -> PortSpec:
    """Parse `-p [HOST:]CTR[/proto]`: Swarm publishes on every address, so no IP may be given."""
    port = parse_port(raw)
    if port.host_ip:
        raise ValueError("a service is published on every address of every node (Swarm's routing mesh): "
                         "give HOST:CTR without an IP")
    return port


def constraint(raw: str) -> str:
    """Check `--constraint node.KEY==VALUE` (or `!=`, or `engine.labels.…`)."""
    if not _CONSTRAINT_RE.match(raw):
        raise ValueError("use node.KEY==VALUE or node.KEY!=VALUE (e.g. node.role==manager)")
    return raw


def update_delay(raw: str) -> int:
    """Parse `--update-delay` (`10s`, `1m30s`, `0s`) into seconds."""
    seconds = duration_seconds(raw)
    if seconds is None:
        raise ValueError("must be a duration like `10s` or `1m30s`")
    return seconds


def _choice(options: tuple[str, ...]) -> Callable[[str], str]:
    def check(raw: str) -> str:
        if raw not in options:
            raise ValueError(f"use {' or '.join(options)}")
        return raw
    return check


def scale_pair(raw: str) -> tuple[str, int]:
    """Parse `NAME=N`."""
    name, eq, count = raw.partition("=")
    if not eq or not name:
        raise ValueError(f"{code(raw)}: scale takes SERVICE=REPLICAS pairs")
    try:
        return service_ref(name), whole_number(count)
    except ValueError as exc:
        raise ValueError(f"{code(raw)}: {exc}") from None


def _policy(flags: dict[str, Any]) -> UpdatePolicy:
    return UpdatePolicy(parallelism=flags["parallelism"], delay=flags["delay"], order=flags["order"],
                        failure_action=flags["failure_action"])


def build_create(flags: dict[str, Any], positionals: list[str]) -> ServiceArgs:
    """`service create [flags] IMAGE [CMD…]`: each replica is the `run` these flags make."""
    env: list[str] = flags["env"]
    run = RunArgs(image=image_ref(positionals[0]), command=tuple(positionals[1:]), name=flags["name"],
                  ports=tuple(replace(p, host_ip=SWARM_PUBLISH_ADDRESS) for p in flags["ports"]),
                  env=tuple(e for e in env if "=" in e),
                  secret_env=tuple(dict.fromkeys(e for e in env if "=" not in e)),
                  memory=flags["limit_memory"], nano_cpus=flags["limit_cpu"])
    return ServiceArgs("create", spec=ServiceSpec(
        run=run, replicas=flags["replicas"], reserve_memory=flags["reserve_memory"],
        reserve_nano_cpus=flags["reserve_cpu"], constraints=tuple(flags["constraints"]),
        update=_policy(flags)))


def build_update(flags: dict[str, Any], positionals: list[str]) -> ServiceArgs:
    """`service update [--image IMAGE] [update flags] NAME`."""
    return ServiceArgs("update", names=(service_ref(positionals[0]),), image=flags["image"] or "",
                       update=_policy(flags))


def build_scale(flags: dict[str, Any], positionals: list[str]) -> ServiceArgs:
    """`service scale NAME=N…`."""
    return ServiceArgs("scale", replicas=dict(scale_pair(p) for p in positionals))


def build_logs(flags: dict[str, Any], positionals: list[str]) -> ServiceArgs:
    """`service logs [-n N|all] NAME` (the last DEFAULT_TAIL lines unless told)."""
    tail = flags["tail"]
    return ServiceArgs("logs", names=(service_ref(positionals[0]),),
                       tail=DEFAULT_TAIL if tail is None else None if tail == "all" else tail)


def _named(action: ServiceAction) -> Callable[[dict[str, Any], list[str]], ServiceArgs]:
    def build(flags: dict[str, Any], positionals: list[str]) -> ServiceArgs:
        return ServiceArgs(action, names=tuple(service_ref(p) for p in positionals))
    return build


def build(flags: dict[str, Any], positionals: list[str]) -> ServiceArgs:
    """`service ACTION …`: the rest parsed by the subcommand's own spec."""
    from bot.parsing import parse_words  # the parser imports this registry

    action = positionals[0].lower()
    if action not in SERVICE_ACTIONS:
        raise ValueError(f"unknown subcommand {code(positionals[0])} (use {', '.join(SERVICE_ACTIONS)})")
    name, spec = subverb("service", action), SUBCOMMANDS[action]
    typed = f"service {action}"  # how the user wrote it, in what they are told
    usage = typed + spec.usage[len(name):]
    try:
        parsed = parse_words([name, *positionals[1:]])
    except UsageError as err:
        raise UsageError(str(err).replace(f"`{name}`", f"`{typed}`"), usage) from None
    if not isinstance(parsed.args, ServiceArgs):  # `service scale --help`
        raise UsageError(f"`{typed}`: {spec.summary}", usage)
    return parsed.args


_UPDATE_FLAGS = (
    Flag(("--update-parallelism",), "parallelism", "value", "N", whole_number),
    Flag(("--update-delay",), "delay", "value", "DURATION", update_delay),
    Flag(("--update-order",), "order", "value", "|".join(_ORDERS), _choice(_ORDERS)),
    Flag(("--update-failure-action",), "failure_action", "value", "|".join(_FAILURE_ACTIONS),
         _choice(_FAILURE_ACTIONS)),
)
_UPDATE_USAGE = ("[--update-parallelism N] [--update-delay DURATION] [--update-order start-first|stop-first] "
                 "[--update-failure-action pause|continue|rollback]")


def _sub(action: str, role: DefaultRole, summary: str, usage: str, **kw: Any) -> VerbSpec:
    name = subverb("service", action)
    return VerbSpec(name=name, summary=summary, usage=f"{name} {usage}".rstrip(),
                    default_role=role, timeout=TIMEOUT, **kw)


SUBCOMMANDS: dict[str, VerbSpec] = {spec.name.partition("-")[2]: spec for spec in (
    _sub("ls", "viewer", "List Swarm services", "", build=_named("ls")),
    _sub("ps", "viewer", "List the tasks of services", "NAME…", min_positionals=1, max_positionals=None,
         build=_named("ps")),
    _sub("logs", "viewer", f"Show a service's output (last {DEFAULT_TAIL} lines by default)",
         "[-n|--tail N|all] NAME", flags=(Flag(("-n", "--tail"), "tail", "value", "N|all", parse_tail),),
         min_positionals=1, max_positionals=1, build=build_logs),
    _sub("scale", "operator", "Set the number of replicas of services", "NAME=N…", min_positionals=1,
         max_positionals=None, build=build_scale),
    _sub("update", "operator", "Roll out a new image or update policy to a service",
         f"[--image IMAGE] {_UPDATE_USAGE} NAME",
         flags=(Flag(("--image",), "image", "value", "IMAGE", image_ref), *_UPDATE_FLAGS),
         min_positionals=1, max_positionals=1, build=build_update),
    _sub("rollback", "operator", "Put a service's previous spec back", "NAME", min_positionals=1,
         max_positionals=1, build=_named("rollback")),
    _sub("create", "operator", "Create a Swarm service (replicas of a container)",
         "[--name NAME] [--replicas N] [-p [HOST:]CTR[/PROTO]]… [-e K=V|-e SECRET]… [--limit-cpu N] "
         "[--limit-memory SIZE] [--reserve-cpu N] [--reserve-memory SIZE] [--constraint EXPR]… "
         f"{_UPDATE_USAGE} IMAGE [CMD…]",
         flags=(
             Flag(("--name",), "name", "value", "NAME", service_name),
             Flag(("--replicas",), "replicas", "value", "N", whole_number),
             Flag(("-p", "--publish"), "ports", "multi", "[HOST:]CTR[/PROTO]", swarm_port),
             Flag(("-e", "--env"), "env", "multi", "K=V", parse_env),
             Flag(("--limit-cpu",), "limit_cpu", "value", "N", nano_cpus),
             Flag(("--limit-memory",), "limit_memory", "value", "SIZE", memory_bytes),
             Flag(("--reserve-cpu",), "reserve_cpu", "value", "N", nano_cpus),
             Flag(("--reserve-memory",), "reserve_memory", "value", "SIZE", memory_bytes),
             Flag(("--constraint",), "constraints", "multi", "EXPR", constraint),
             *_UPDATE_FLAGS,
         ),
         min_positionals=1, max_positionals=None, stop_at_first_positional=True, build=build_create),
    _sub("rm", "operator", "Remove services", "NAME…", min_positionals=1, max_positionals=None,
         build=_named("rm")),
)}

SPECS = (
    VerbSpec(
        name="service",
        summary="Docker Swarm services: ls, ps, logs, scale, update, rollback, create, rm",
        usage="service ls | ps NAME… | logs [-n N] NAME | scale NAME=N… | update [--image IMAGE] [flags] NAME"
              " | rollback NAME | create [flags] IMAGE [CMD…] | rm NAME…",
        # What every subcommand needs, besides its own name (above): viewer's, as the listings' check is.
        default_role="viewer",
        min_positionals=1,
        max_positionals=None,
        stop_at_first_positional=True,
        build=build,
        timeout=TIMEOUT,
    ),
    *SUBCOMMANDS.values(),
)
