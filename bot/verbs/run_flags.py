"""The value checks of `run`'s flags that carry host resources: ports, env, labels, mounts, privileges.

Each converter mirrors what the docker CLI accepts for one flag and returns the contract's value, or
raises ValueError with a message for the user (the parser names the flag). Accepting a flag here does
not allow it: ``dockbolt.core.run_policy.check_run`` says which grant it needs.
"""

from __future__ import annotations

import ipaddress
import re

from bot.verbs.values import NEW_NAME_RE, REF_RE, key_value, whole_number
from dockbolt.core.args import (
    ENV_NAME_RE,
    MOUNT_TYPES,
    PORT_PROTOS,
    RESERVED_LABEL_PREFIX,
    SECRET_ENV_PREFIX,
    MountSpec,
    MountType,
    PortProto,
    PortSpec,
    VolumeSpec,
)
from dockbolt.core.mrkdwn import code
from dockbolt.core.run_policy import normalise

_PORT_RE = re.compile(r"^[0-9]+\Z")
_PROTOS: dict[str, PortProto] = {p: p for p in PORT_PROTOS}
_MOUNT_TYPES: dict[str, MountType] = {t: t for t in MOUNT_TYPES}
_MOUNT_KEYS = {"type": "type", "source": "source", "src": "source", "target": "target", "dst": "target",
               "destination": "target", "readonly": "readonly", "ro": "readonly"}
_TRUE, _FALSE = ("1", "t", "true"), ("0", "f", "false")
_CAP_RE = re.compile(r"^(?:CAP_)?[A-Z0-9_]+\Z")
_IPC_MODES = ("none", "private", "shareable", "host")
_DEVICE_MODE_RE = re.compile(r"^(?!.*(.).*\1)[rwm]{1,3}\Z")
_LABEL_OPT_RE = re.compile(r"^(?:disable|nested|(?:user|role|type|level|filetype):[A-Za-z0-9_.:,-]+)\Z")
_PROFILE_RE = re.compile(r"^[A-Za-z0-9_.-]+\Z")


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
    """Check `-e K=V`, or a bare `-e NAME`: a secret the worker takes from its DOCKBOLT_SECRET_NAME."""
    if "=" in raw:
        key_value(raw, "an environment variable")
        return raw
    if not ENV_NAME_RE.match(raw):
        raise ValueError(
            "write NAME=VALUE, or a bare NAME (letters, digits, _) to take the value from the worker's "
            f"{code(SECRET_ENV_PREFIX + 'NAME')}"
        )
    return raw


def parse_label(raw: str) -> tuple[str, str]:
    """Check `-l K=V`; keys under `dockbolt.` are reserved for the labels the bot sets itself."""
    key, value = key_value(raw, "a label")
    if key.lower().startswith(RESERVED_LABEL_PREFIX):
        raise ValueError(
            f"label {code(key)} is reserved: keys starting with `{RESERVED_LABEL_PREFIX}` belong to the bot"
        )
    return key, value


def _target(target: str) -> str:
    if not target.startswith("/") or normalise(target) == "/":
        raise ValueError(f"mount target {code(target)} must be an absolute path other than /")
    return target


def parse_volume(raw: str) -> VolumeSpec:
    """Parse `-v SRC:DST[:ro|:rw]`: SRC a volume name or an absolute host path, DST an absolute path."""
    parts = raw.split(":")
    mode = parts.pop() if len(parts) == 3 else "rw"
    if len(parts) != 2 or mode not in ("ro", "rw"):
        raise ValueError("use SRC:DST, SRC:DST:ro or SRC:DST:rw")
    source, target = parts
    if source.startswith("/"):
        # Normalised so that a policy checking the path's prefix cannot be walked around with "..".
        source = normalise(source)
    elif not NEW_NAME_RE.match(source):
        raise ValueError(f"{code(source)} is neither a volume name nor an absolute host path")
    return VolumeSpec(source=source, target=_target(target), read_only=mode == "ro")


def parse_mount(raw: str) -> MountSpec:
    """Parse `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly]` (src, dst, destination, ro)."""
    seen: dict[str, str] = {"type": "volume", "source": "", "target": "", "readonly": "false"}
    for item in raw.split(","):
        typed, eq, value = item.partition("=")
        key = _MOUNT_KEYS.get(typed.strip().lower())
        if key is None:
            exotic = typed.startswith(("volume-", "bind-", "tmpfs-", "consistency"))
            what = "is not supported from chat" if exotic else "is unknown"
            raise ValueError(f"mount option {code(typed)} {what} (use type, source, target and readonly)")
        if not eq and key != "readonly":
            raise ValueError(f"mount option {code(typed)} needs a value ({typed}=…)")
        seen[key] = value if eq else "true"
    kind = _MOUNT_TYPES.get(seen["type"])
    if kind is None:
        raise ValueError(f"unknown mount type {code(seen['type'])} (use bind, volume or tmpfs)")
    if seen["readonly"].lower() not in _TRUE + _FALSE:
        raise ValueError(f"readonly={code(seen['readonly'])} must be true or false")
    if not seen["target"]:
        raise ValueError("a mount needs a target (target=/path/in/container)")
    source = seen["source"]
    if kind == "bind":
        if not source.startswith("/"):
            raise ValueError("a bind mount needs an absolute host path as its source")
        source = normalise(source)
    elif kind == "tmpfs" and source:
        raise ValueError("a tmpfs mount takes no source")
    elif source and not NEW_NAME_RE.match(source):
        raise ValueError(f"{code(source)} is not a volume name")
    return MountSpec(type=kind, target=_target(seen["target"]), source=source,
                     read_only=seen["readonly"].lower() in _TRUE)


def parse_capability(raw: str) -> str:
    """Check `--cap-add`/`--cap-drop NAME` and spell it like docker: `ALL` or `CAP_NAME`, upper case."""
    name = raw.strip().upper()
    if name == "ALL":
        return name
    if not _CAP_RE.match(name):
        raise ValueError("a capability is a name like NET_ADMIN (or ALL)")
    return name if name.startswith("CAP_") else "CAP_" + name


def parse_device(raw: str) -> str:
    """Parse `--device HOST[:CONTAINER][:PERMS]` into docker's full `HOST:CONTAINER:PERMS`."""
    parts = raw.split(":")
    if not 1 <= len(parts) <= 3:
        raise ValueError("use HOST[:CONTAINER][:PERMS]")
    perms = parts.pop() if len(parts) == 3 or (len(parts) == 2 and _DEVICE_MODE_RE.match(parts[1])) else "rwm"
    source, target = parts[0], parts[-1]
    if not _DEVICE_MODE_RE.match(perms):
        raise ValueError(f"device permissions {code(perms)} must be some of r, w and m")
    for path in (source, target):
        if not path.startswith("/"):
            raise ValueError(f"device path {code(path)} must be absolute")
    return f"{normalise(source)}:{normalise(target)}:{perms}"


def parse_pid(raw: str) -> str:
    """Check `--pid host|container:NAME`."""
    return _check_namespace(raw, ("host",), container=True)


def parse_ipc(raw: str) -> str:
    """Check `--ipc none|private|shareable|host|container:NAME`."""
    return _check_namespace(raw, _IPC_MODES, container=True)


def parse_userns(raw: str) -> str:
    """Check `--userns host` (the only mode a container can ask for; remapping is the daemon's)."""
    return _check_namespace(raw, ("host",), container=False)


def _check_namespace(raw: str, modes: tuple[str, ...], *, container: bool) -> str:
    kind, colon, ref = raw.partition(":")
    if raw in modes or (container and colon and kind == "container" and REF_RE.match(ref)):
        return raw
    raise ValueError("use " + " or ".join([", ".join(modes), *(["container:NAME"] if container else [])]))


def parse_security_opt(raw: str) -> str:
    """Check `--security-opt`: no-new-privileges[:BOOL], seccomp=unconfined|builtin, apparmor=PROFILE,
    label=…, systempaths=unconfined; spelled `KEY=VALUE` (`no-new-privileges:true|false`)."""
    key, eq, value = raw.partition("=")
    if not eq and key != "no-new-privileges":
        key, _, value = raw.partition(":")
    if key == "no-new-privileges":
        if value.lower() not in ("", *_TRUE, *_FALSE):
            raise ValueError("no-new-privileges takes true or false")
        return "no-new-privileges:" + ("false" if value.lower() in _FALSE else "true")
    allowed = {
        "seccomp": value in ("unconfined", "builtin"),
        "apparmor": bool(_PROFILE_RE.match(value)),
        "label": bool(_LABEL_OPT_RE.match(value)),
        "systempaths": value == "unconfined",
    }
    if key not in allowed:
        raise ValueError(
            f"unknown option {code(key)} (use no-new-privileges, seccomp, apparmor, label or systempaths)"
        )
    if not allowed[key]:
        hint = " (a profile file cannot be read from chat)" if key == "seccomp" else ""
        raise ValueError(f"invalid value {code(value)} for {key}{hint}")
    return f"{key}={value}"


def parse_pids_limit(raw: str) -> int:
    """Parse `--pids-limit N` (N > 0: without the flag the [policy] default applies; no unlimited)."""
    try:
        limit = whole_number(raw)
    except ValueError:
        limit = 0
    if limit <= 0:
        raise ValueError("must be a whole number > 0 (an unlimited pids limit is not available from chat)")
    return limit
