"""`run`: create and start a container, always detached; everything after IMAGE is its command, verbatim."""

from __future__ import annotations

import ipaddress
import posixpath
import re
from typing import Any

from bot.verbs.base import Flag, VerbSpec
from bot.verbs.values import NEW_NAME_RE, key_value, nano_cpus, new_name, whole_number
from dockbolt.core.args import (
    PORT_PROTOS,
    RESERVED_LABEL_PREFIX,
    RESTART_POLICIES,
    PortProto,
    PortSpec,
    RestartPolicy,
    RestartSpec,
    RunArgs,
    VolumeSpec,
)
from dockbolt.core.mrkdwn import code
from dockbolt.core.units import memory_bytes

# distribution/reference's grammar: optional registry host[:port]/, lowercase path components, :tag, @digest.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})*"
_IMAGE_RE = re.compile(
    rf"^(?:{_DOMAIN}(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
_PORT_RE = re.compile(r"^[0-9]+$")
_NETWORK_RE = re.compile(r"^(?:container:)?[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?$")
# Typed lookups: what the user typed → the contract's literal (None: "no", the engine's default policy).
_PROTOS: dict[str, PortProto] = {p: p for p in PORT_PROTOS}
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


def _port_number(raw: str, what: str) -> str:
    if "-" in raw:
        raise ValueError("port ranges are not supported")
    if not _PORT_RE.match(raw) or not 1 <= int(raw) <= 65535:
        raise ValueError(f"{what} port {code(raw)} must be a number from 1 to 65535")
    return str(int(raw))


def parse_port(raw: str) -> PortSpec:
    """Parse `-p [IP:]HOST:CTR[/proto]` or `-p CTR[/proto]` (IPv6 IP in brackets)."""
    spec, _, typed_proto = raw.partition("/")
    proto = _PROTOS.get((typed_proto or "tcp").lower())
    if proto is None:
        raise ValueError(f"unknown protocol {code(typed_proto)} (use tcp, udp or sctp)")
    host_ip = ""
    if spec.startswith("["):
        close = spec.find("]:")
        if close < 0:
            raise ValueError("write an IPv6 address as [ADDR]:HOST:CTR")
        host_ip, spec = spec[1:close], spec[close + 2 :]
        spec = spec if ":" in spec else ":" + spec
    parts = spec.split(":")
    if len(parts) == 3 and not host_ip:
        host_ip = parts.pop(0)
    if len(parts) == 1:
        parts.insert(0, "")
    if len(parts) != 2:
        raise ValueError("use [IP:]HOST:CTR[/proto] or CTR[/proto]")
    if host_ip:
        try:
            ipaddress.ip_address(host_ip)
        except ValueError:
            raise ValueError(f"{code(host_ip)} is not an IP address") from None
    host_port = _port_number(parts[0], "host") if parts[0] else ""
    return PortSpec(container_port=_port_number(parts[1], "container"), host_port=host_port, host_ip=host_ip,
                    proto=proto)


def parse_env(raw: str) -> str:
    """Check `-e K=V`; a bare `-e K` is refused because docker would copy the bot's own variable."""
    if "=" not in raw:
        raise ValueError(
            f"write {code(raw + '=VALUE')}: a bare `-e NAME` would copy the bot's own environment variable"
        )
    key_value(raw, "an environment variable")
    return raw


def parse_label(raw: str) -> tuple[str, str]:
    """Check `-l K=V`; keys under `dockbolt.` are reserved for the labels the bot sets itself."""
    key, value = key_value(raw, "a label")
    if key.lower().startswith(RESERVED_LABEL_PREFIX):
        raise ValueError(
            f"label {code(key)} is reserved: keys starting with `{RESERVED_LABEL_PREFIX}` belong to the bot"
        )
    return key, value


def parse_volume(raw: str) -> VolumeSpec:
    """Parse `-v SRC:DST[:ro|:rw]`: SRC a volume name or an absolute host path, DST an absolute path."""
    parts = raw.split(":")
    mode = parts.pop() if len(parts) == 3 else "rw"
    if len(parts) != 2 or mode not in ("ro", "rw"):
        raise ValueError("use SRC:DST, SRC:DST:ro or SRC:DST:rw")
    source, target = parts
    if source.startswith("/"):
        # Normalised so that a policy checking the path's prefix cannot be walked around with "..".
        source = "/" + posixpath.normpath(source).lstrip("/")
    elif not NEW_NAME_RE.match(source):
        raise ValueError(f"{code(source)} is neither a volume name nor an absolute host path")
    if not target.startswith("/") or posixpath.normpath(target) == "/":
        raise ValueError(f"mount target {code(target)} must be an absolute path other than /")
    return VolumeSpec(source=source, target=target, read_only=mode == "ro")


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


def build(flags: dict[str, Any], positionals: list[str]) -> RunArgs:
    """Build run args from the flags, IMAGE and the container command."""
    return RunArgs(
        image=image_ref(positionals[0]),
        command=tuple(positionals[1:]),
        name=flags["name"],
        ports=tuple(flags["ports"]),
        env=tuple(flags["env"]),
        labels=dict(flags["labels"]),
        volumes=tuple(flags["volumes"]),
        network=flags["network"],
        restart=flags["restart"],
        memory=flags["memory"],
        nano_cpus=flags["nano_cpus"],
        user=flags["user"],
        workdir=flags["workdir"],
    )


SPECS = (
    VerbSpec(
        name="run",
        summary="Start a new container from an image (always detached)",
        default_role="operator",
        usage=(
            "run [-d] [--name NAME] [-p [IP:]HOST:CTR[/PROTO]]… [-e K=V]… [-l K=V]… [-v SRC:DST[:ro|:rw]]… "
            "[--network NET] [--restart POLICY] [-m SIZE] [--cpus N] [-u USER] [-w DIR] IMAGE [CMD…]"
        ),
        flags=(
            # Detached is the only mode; -d is accepted so that habits from the docker CLI just work.
            Flag(("-d", "--detach"), "detach"),
            Flag(("--name",), "name", "value", "NAME", new_name),
            Flag(("-p", "--publish"), "ports", "multi", "[IP:]HOST:CTR[/PROTO]", parse_port),
            Flag(("-e", "--env"), "env", "multi", "K=V", parse_env),
            Flag(("-l", "--label"), "labels", "multi", "K=V", parse_label),
            Flag(("-v", "--volume"), "volumes", "multi", "SRC:DST[:ro|:rw]", parse_volume),
            Flag(("--network", "--net"), "network", "value", "NET", parse_network),
            Flag(
                ("--restart",), "restart", "value", "no|always|unless-stopped|on-failure[:N]", parse_restart
            ),
            Flag(("-m", "--memory"), "memory", "value", "SIZE", memory_bytes),
            Flag(("--cpus",), "nano_cpus", "value", "N", nano_cpus),
            Flag(("-u", "--user"), "user", "value", "USER[:GROUP]", parse_user),
            Flag(("-w", "--workdir"), "workdir", "value", "DIR", parse_workdir),
        ),
        min_positionals=1,
        max_positionals=None,
        stop_at_first_positional=True,
        build=build,
        timeout=300,
    ),
)
