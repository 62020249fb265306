"""What a `run` may create: the grant each dangerous flag needs, and the defaults every container gets.

Pure functions over ``RunArgs`` and the ``[policy]`` table (``Guardrails``). ``check_run`` lists a ``Need``
per dangerous flag: the grant (a ``dockbolt.core.rbac.GRANTS`` key) a role must hold for it, or no grant
at all when nothing may allow it (a host path outside ``allowed_host_paths``, an image outside
``allowed_images``). The bot denies unless every need is met (``unmet``); the worker applies
``apply_defaults`` before it creates the container, and re-checks host paths on its own filesystem.
"""

from __future__ import annotations

import ipaddress
import posixpath
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase

from dockbolt.core.args import MountSpec, PortSpec, RunArgs, VolumeSpec
from dockbolt.core.guardrails import Guardrails

# Where the Docker engine's (and containerd's, just as good) socket lives on a usual host; /var/run is
# normally a symlink to /run, which the bot cannot see, so both spellings are listed.
DOCKER_SOCKETS = (
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/containerd/containerd.sock",
    "/run/containerd/containerd.sock",
)
SOCKET_NAMES = ("docker.sock", "containerd.sock")
NO_NEW_PRIVILEGES = "no-new-privileges:true"
_HARMLESS_SECURITY_OPTS = ("no-new-privileges", NO_NEW_PRIVILEGES)
_ROOT_USERS = ("root",)


@dataclass(frozen=True)
class Need:
    """One flag of a `run` and what it takes: ``grant`` (a GRANTS key), or None when nothing may allow it.

    ``flag`` is the flag as the user would write it, with its value (``-v /:/host``, ``-p 0.0.0.0:80:80``,
    ``--privileged``); ``reason`` says what it gives the container, or why nothing may allow it.
    """

    flag: str
    grant: str | None
    reason: str


def normalise(path: str) -> str:
    """An absolute path with `.`, `..` and repeated slashes resolved lexically (never through symlinks)."""
    return "/" + posixpath.normpath("/" + path).lstrip("/")


def under(path: str, roots: Iterable[str]) -> bool:
    """True when ``path`` is one of ``roots`` or inside one of them (both normalised first)."""
    path = normalise(path)
    for root in roots:
        root = normalise(root)
        if path == root or path.startswith(root.rstrip("/") + "/"):
            return True
    return False


def is_docker_socket(path: str, sockets: Iterable[str] = DOCKER_SOCKETS) -> bool:
    """True when ``path`` is an engine socket (by location or name) or a directory that holds one."""
    path = normalise(path)
    return posixpath.basename(path) in SOCKET_NAMES or any(under(s, (path,)) for s in sockets)


def host_path_needs(flag: str, source: str, guardrails: Guardrails,
                    sockets: Iterable[str] = DOCKER_SOCKETS) -> list[Need]:
    """What bind-mounting the host path ``source`` takes: host-mounts, maybe docker-socket, allowed path."""
    path = normalise(source)
    needs = [Need(flag, "host-mounts", f"mounts the host path {path} into the container")]
    if is_docker_socket(path, sockets):
        needs.append(Need(flag, "docker-socket", f"{path} is (or holds) the Docker socket: root on the host"))
    if not under(path, guardrails.allowed_host_paths):
        allowed = ", ".join(guardrails.allowed_host_paths) or "none"
        needs.append(Need(flag, None, f"{path} is not under [policy] allowed_host_paths ({allowed})"))
    return needs


def volume_flag(volume: VolumeSpec) -> str:
    """``-v SRC:DST[:ro]`` as the user would write it."""
    return f"-v {volume.bind}"


def mount_flag(mount: MountSpec) -> str:
    """``--mount type=…,source=…,target=…[,readonly]`` as the user would write it."""
    parts = [f"type={mount.type}", *([f"source={mount.source}"] if mount.source else []),
             f"target={mount.target}", *(["readonly"] if mount.read_only else [])]
    return "--mount " + ",".join(parts)


def port_flag(port: PortSpec) -> str:
    """``-p [IP:]HOST:CTR[/proto]`` as the user would write it."""
    ip = f"[{port.host_ip}]" if ":" in port.host_ip else port.host_ip
    spec = f"{ip}:{port.host_port}:{port.container_port}" if ip else (
        f"{port.host_port}:{port.container_port}" if port.host_port else port.container_port)
    return f"-p {spec}" + ("" if port.proto == "tcp" else f"/{port.proto}")


def device_flag(device: str) -> str:
    """``--device HOST[:CTR][:PERMS]`` as the user would write it (only the parts that are not defaults)."""
    parts = device.split(":")
    if len(parts) != 3:
        return f"--device {device}"
    host, ctr, perms = parts
    return "--device " + host + (f":{ctr}" if ctr != host else "") + (f":{perms}" if perms != "rwm" else "")


def host_sources(args: RunArgs) -> list[tuple[str, str]]:
    """(flag, host path) for every host bind mount, from `-v /abs:…` and `--mount type=bind`."""
    out = [(volume_flag(v), v.source) for v in args.volumes if v.source.startswith("/")]
    out += [(mount_flag(m), m.source) for m in args.mounts if m.type == "bind"]
    return out


def _namespace_needs(args: RunArgs) -> list[Need]:
    shared = "shares the host's (or another container's)"
    out: list[Need] = []
    for flag, mode, what in (("--pid", args.pid_mode, "PID"), ("--ipc", args.ipc_mode, "IPC")):
        if mode and (mode == "host" or mode.startswith("container:")):
            out.append(Need(f"{flag} {mode}", "privileged", f"{shared} {what} namespace"))
    if args.userns_mode == "host":
        out.append(Need("--userns host", "privileged", "turns off user-namespace remapping"))
    return out


def _privilege_needs(args: RunArgs) -> list[Need]:
    out: list[Need] = []
    if args.privileged:
        out.append(Need("--privileged", "privileged", "every capability and host device: root on the host"))
    out += [Need(f"--cap-add {c}", "privileged", f"adds the capability {c}") for c in args.cap_add]
    out += [Need(device_flag(d), "privileged", "gives the container a host device") for d in args.devices]
    out += _namespace_needs(args)
    out += [
        Need(f"--security-opt {o}", "privileged", "changes the container's confinement")
        for o in args.security_opt
        if o not in _HARMLESS_SECURITY_OPTS
    ]
    return out


def is_root_user(user: str | None) -> bool:
    """True for `-u 0`, `-u root`, `-u 0:GROUP`, `-u root:GROUP` (and `-u 00`, which is uid 0 too)."""
    name = (user or "").partition(":")[0]
    return name in _ROOT_USERS or (name.isdigit() and int(name) == 0)


def is_public(host_ip: str, guardrails: Guardrails) -> bool:
    """True when publishing on ``host_ip`` needs public-ports: given, not publish_address, not loopback."""
    if not host_ip:
        return False
    ip = ipaddress.ip_address(host_ip)
    return not ip.is_loopback and ip != ipaddress.ip_address(guardrails.publish_address)


def image_allowed(image: str, guardrails: Guardrails) -> bool:
    """True when the image (as typed, or with ``:latest`` when it names no tag) matches an allowed glob."""
    last = image.rsplit("/", 1)[-1]
    spellings = (image,) if ":" in last or "@" in last else (image, f"{image}:latest")
    return any(fnmatchcase(s, glob) for s in spellings for glob in guardrails.allowed_images)


def check_run(args: RunArgs, guardrails: Guardrails) -> tuple[Need, ...]:
    """Every dangerous flag of this `run` with the grant it needs (None: nothing may allow it), in order."""
    needs: list[Need] = []
    if not image_allowed(args.image, guardrails):
        globs = ", ".join(guardrails.allowed_images) or "none"
        needs.append(Need(args.image, None, f"the image is not in [policy] allowed_images ({globs})"))
    needs += _privilege_needs(args)
    for flag, source in host_sources(args):
        needs += host_path_needs(flag, source, guardrails)
    if args.network == "host" or (args.network or "").startswith("container:"):
        needs.append(Need(f"--network {args.network}", "host-network", "shares a network stack not its own"))
    if is_root_user(args.user):
        needs.append(Need(f"-u {args.user}", "root-user", "runs the container's processes as root"))
    needs += [
        Need(port_flag(p), "public-ports", f"publishes on {p.host_ip}, not {guardrails.publish_address}")
        for p in args.ports
        if is_public(p.host_ip, guardrails)
    ]
    return tuple(needs)


def unmet(needs: Iterable[Need], grants: Collection[str]) -> tuple[Need, ...]:
    """The needs the held ``grants`` do not cover (a need without a grant is never covered)."""
    return tuple(n for n in needs if n.grant is None or n.grant not in grants)


def apply_defaults(args: RunArgs, guardrails: Guardrails) -> RunArgs:
    """The args with the [policy] defaults filled in where `run` did not say: memory, pids limit, the
    publish address of ports given without an IP, and no-new-privileges (unless it was set either way).
    """
    nnp = guardrails.no_new_privileges and not any(
        o.startswith("no-new-privileges") for o in args.security_opt
    )
    return replace(
        args,
        memory=guardrails.memory if args.memory is None else args.memory,
        pids_limit=guardrails.pids_limit if args.pids_limit is None else args.pids_limit,
        ports=tuple(p if p.host_ip else replace(p, host_ip=guardrails.publish_address) for p in args.ports),
        security_opt=args.security_opt + ((NO_NEW_PRIVILEGES,) if nnp else ()),
    )
