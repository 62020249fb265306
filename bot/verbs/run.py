"""`run`: create and start a container, always detached; everything after IMAGE is its command, verbatim."""

from __future__ import annotations

import re
from typing import Any

from bot.verbs.base import Flag, VerbSpec
from bot.verbs.run_flags import (
    parse_capability,
    parse_device,
    parse_env,
    parse_ipc,
    parse_label,
    parse_mount,
    parse_pid,
    parse_pids_limit,
    parse_port,
    parse_security_opt,
    parse_userns,
    parse_volume,
)
from bot.verbs.values import nano_cpus, new_name, whole_number
from dockbolt.core.args import (
    PULL_POLICIES,
    RESTART_POLICIES,
    PullPolicy,
    RestartPolicy,
    RestartSpec,
    RunArgs,
)
from dockbolt.core.mrkdwn import code
from dockbolt.core.units import memory_bytes

# distribution/reference's grammar: optional registry host[:port]/, lowercase path components, :tag, @digest.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})*"
_IMAGE_RE = re.compile(
    rf"^(?:{_DOMAIN}(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?\Z"
)
_NETWORK_RE = re.compile(r"^(?:container:)?[a-zA-Z0-9][a-zA-Z0-9_.-]*\Z")
_USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?\Z")
# What the user typed → the contract's literal (None: "no", the engine's default policy).
_POLICIES: dict[str, RestartPolicy | None] = {"no": None, **{p: p for p in RESTART_POLICIES}}


def image_ref(raw: str) -> str:
    """Check IMAGE against docker's reference format (`busybox`, `busybox:1.36`, `host:5000/a/b@sha256:…`)."""
    if len(raw) > 255:
        raise ValueError("invalid image: repository name must not be more than 255 characters")
    if _IMAGE_RE.match(raw):
        return raw
    if _IMAGE_RE.match(raw.lower()):
        raise ValueError(f"invalid image {code(raw)}: repository name must be lowercase")
    raise ValueError(f"invalid image {code(raw)}: invalid reference format")


def parse_restart(raw: str) -> RestartSpec | None:
    """Parse `--restart no|always|unless-stopped|on-failure[:N]`."""
    name, colon, count = raw.partition(":")
    if name not in _POLICIES:
        raise ValueError(f"unknown policy {code(name)} (use {', '.join(_POLICIES)}[:N])")
    if colon and name != "on-failure":
        raise ValueError(f"maximum retry count cannot be used with restart policy {code(name)}")
    policy = _POLICIES[name]
    if policy is None:
        # "no" is the engine's default, so it travels as null like an absent flag.
        return None
    try:
        retries = whole_number(count) if colon else 0
    except ValueError:
        raise ValueError("maximum retry count must be a whole number ≥ 0") from None
    return RestartSpec(name=policy, max_retries=retries)


def parse_pull(raw: str) -> PullPolicy:
    """Check `--pull missing|always|never`, in the docker CLI's words."""
    for policy in PULL_POLICIES:
        if raw == policy:
            return policy
    raise ValueError(f"invalid pull option: '{raw}': must be one of \"always\", \"missing\" or \"never\"")


def parse_network(raw: str) -> str:
    """Check `--network NAME` (or `container:NAME`)."""
    if not _NETWORK_RE.match(raw):
        raise ValueError(f"invalid network name {code(raw)}")
    return raw


def parse_user(raw: str) -> str:
    """Check `-u name|uid[:group|gid]`."""
    if not _USER_RE.match(raw):
        raise ValueError("use NAME|UID[:GROUP|GID]")
    return raw


def parse_workdir(raw: str) -> str:
    """Check `-w DIR`: docker requires an absolute path."""
    if not raw.startswith("/"):
        raise ValueError("the working directory must be an absolute path")
    return raw


def _unique(values: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def build(flags: dict[str, Any], positionals: list[str]) -> RunArgs:
    """Build run args from the flags, IMAGE and the container command."""
    env: list[str] = flags["env"]
    return RunArgs(
        image=image_ref(positionals[0]),
        command=tuple(positionals[1:]),
        name=flags["name"],
        ports=tuple(flags["ports"]),
        env=tuple(e for e in env if "=" in e),
        secret_env=_unique([e for e in env if "=" not in e]),
        labels=dict(flags["labels"]),
        volumes=tuple(flags["volumes"]),
        mounts=tuple(flags["mounts"]),
        network=flags["network"],
        restart=flags["restart"],
        memory=flags["memory"],
        nano_cpus=flags["nano_cpus"],
        pids_limit=flags["pids_limit"],
        user=flags["user"],
        workdir=flags["workdir"],
        privileged=flags["privileged"],
        # Sorted and once each, as the docker CLI sends them.
        cap_add=tuple(sorted(set(flags["cap_add"]))),
        cap_drop=tuple(sorted(set(flags["cap_drop"]))),
        devices=tuple(flags["devices"]),
        pid_mode=flags["pid_mode"],
        ipc_mode=flags["ipc_mode"],
        userns_mode=flags["userns_mode"],
        security_opt=_unique(flags["security_opt"]),
        read_only=flags["read_only"],
        pull=flags["pull"] or "missing",
    )


SPECS = (
    VerbSpec(
        name="run",
        summary="Start a new container from an image (always detached)",
        default_role="operator",
        usage=(
            "run [-d] [--name NAME] [-p [IP:]HOST:CTR[/PROTO]]… [-e K=V|-e SECRET]… [-l K=V]… "
            "[-v SRC:DST[:ro|:rw]]… [--mount type=bind|volume|tmpfs,source=…,target=…[,readonly]]… "
            "[--network NET] [--restart POLICY] [-m SIZE] [--cpus N] [--pids-limit N] [-u USER] [-w DIR] "
            "[--read-only] [--privileged] [--cap-add CAP]… [--cap-drop CAP]… [--device HOST[:CTR][:PERMS]]… "
            "[--pid MODE] [--ipc MODE] [--userns host] [--security-opt OPT]… [--pull missing|always|never] "
            "IMAGE [CMD…]"
        ),
        flags=(
            # Detached is the only mode; -d is accepted so that habits from the docker CLI just work.
            Flag(("-d", "--detach"), "detach"),
            Flag(("--name",), "name", "value", "NAME", new_name),
            Flag(("-p", "--publish"), "ports", "multi", "[IP:]HOST:CTR[/PROTO]", parse_port),
            Flag(("-e", "--env"), "env", "multi", "K=V", parse_env),
            Flag(("-l", "--label"), "labels", "multi", "K=V", parse_label),
            Flag(("-v", "--volume"), "volumes", "multi", "SRC:DST[:ro|:rw]", parse_volume),
            Flag(("--mount",), "mounts", "multi", "type=…,source=…,target=…[,readonly]", parse_mount),
            Flag(("--network", "--net"), "network", "value", "NET", parse_network),
            Flag(
                ("--restart",), "restart", "value", "no|always|unless-stopped|on-failure[:N]", parse_restart
            ),
            Flag(("-m", "--memory"), "memory", "value", "SIZE", memory_bytes),
            Flag(("--cpus",), "nano_cpus", "value", "N", nano_cpus),
            Flag(("-u", "--user"), "user", "value", "USER[:GROUP]", parse_user),
            Flag(("-w", "--workdir"), "workdir", "value", "DIR", parse_workdir),
            Flag(("--pids-limit",), "pids_limit", "value", "N", parse_pids_limit),
            Flag(("--read-only",), "read_only"),
            # Accepted so that they can be granted (run_policy names the grant each needs), never implied.
            Flag(("--privileged",), "privileged"),
            Flag(("--cap-add",), "cap_add", "multi", "CAP", parse_capability),
            Flag(("--cap-drop",), "cap_drop", "multi", "CAP", parse_capability),
            Flag(("--device",), "devices", "multi", "HOST[:CTR][:PERMS]", parse_device),
            Flag(("--pid",), "pid_mode", "value", "host|container:NAME", parse_pid),
            Flag(("--ipc",), "ipc_mode", "value", "MODE", parse_ipc),
            Flag(("--userns",), "userns_mode", "value", "host", parse_userns),
            Flag(("--security-opt",), "security_opt", "multi", "OPT", parse_security_opt),
            # As the CLI: a missing image is pulled first (on the worker, after authorization) by default.
            Flag(("--pull",), "pull", "value", "missing|always|never", parse_pull),
        ),
        min_positionals=1,
        max_positionals=None,
        stop_at_first_positional=True,
        build=build,
        timeout=300,
    ),
)
