"""What the worker checks of a `run` itself, before anything is created, on the host it runs on.

The bot checks host paths as they are spelled; only the worker's host can say where a path really
leads. With a local engine (a unix socket) every host bind source is resolved here (``realpath``) and
must not need more than its spelling showed: a symlink under an allowed directory that leads to the
Docker socket, to a unix socket, or out of ``allowed_host_paths`` is refused, and the engine is given
the resolved path (what was checked is what gets mounted). The check is as good as
the worker's view of the host: run the worker on the engine's host (not in a container that lacks the
allowed directories). A bare `-e NAME` takes its value from the worker's ``DOCKBOLT_SECRET_NAME``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import replace

from dockbolt.core.args import SECRET_ENV_PREFIX, RunArgs
from dockbolt.core.errors import UserError
from dockbolt.core.guardrails import Guardrails
from dockbolt.core.run_policy import (
    DOCKER_SOCKETS,
    Need,
    apply_defaults,
    host_path_needs,
    mount_flag,
    normalise,
    volume_flag,
)
from workers import messages

DEFAULT_SOCKET = "/var/run/docker.sock"


class RunRefused(UserError):
    """A `run` the worker will not create; the message says why and what to do instead."""


def engine_socket(docker_host: str | None) -> str | None:
    """The local engine's unix socket path (DOCKER_HOST unset: the default one); None for a remote engine."""
    if not docker_host:
        return DEFAULT_SOCKET
    return docker_host.removeprefix("unix://") if docker_host.startswith("unix://") else None


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def resolved_needs(flag: str, source: str, guardrails: Guardrails, socket: str) -> list[Need]:
    """What bind-mounting ``source`` takes once this host resolved it (symlinks followed, sockets seen)."""
    real = os.path.realpath(source)
    needs = host_path_needs(flag, real, guardrails, (*DOCKER_SOCKETS, socket, os.path.realpath(socket)))
    if _is_socket(real) and all(n.grant != "docker-socket" for n in needs):
        needs.append(Need(flag, "docker-socket", f"{real} is a unix socket, treated as the Docker socket"))
    return needs


def _checked(flag: str, source: str, guardrails: Guardrails, socket: str) -> str:
    """``source`` resolved on this host, once it needs nothing its spelling did not show; else RunRefused."""
    spelled = {n.grant for n in host_path_needs(flag, source, guardrails)}
    real = os.path.realpath(source)
    for need in resolved_needs(flag, source, guardrails, socket):
        if need.grant is None or need.grant not in spelled:
            shown = None if real == normalise(source) else real
            raise RunRefused(messages.host_path_refused(flag, shown, need.reason))
    return real


def resolve_host_paths(args: RunArgs, guardrails: Guardrails, socket: str | None) -> RunArgs:
    """The args with every host bind source resolved on this host, after checking where it leads.

    A source that, resolved, needs a grant its spelling did not show (or that nothing allows) raises
    RunRefused. The engine then mounts the very path that was checked, not a symlink that could be
    pointed elsewhere in between. ``socket`` is the local engine's socket; None (a remote engine): the
    args are returned as they are, this host is not the one whose paths would be mounted.
    """
    if socket is None:
        return args
    volumes = tuple(
        replace(v, source=_checked(volume_flag(v), v.source, guardrails, socket)) if v.source.startswith("/")
        else v
        for v in args.volumes
    )
    mounts = tuple(
        replace(m, source=_checked(mount_flag(m), m.source, guardrails, socket)) if m.type == "bind" else m
        for m in args.mounts
    )
    return replace(args, volumes=volumes, mounts=mounts)


def resolve_secrets(args: RunArgs, environ: Mapping[str, str]) -> RunArgs:
    """The args with each bare `-e NAME` set from ``environ[DOCKBOLT_SECRET_NAME]``; RunRefused if unset."""
    missing = [SECRET_ENV_PREFIX + n for n in args.secret_env if SECRET_ENV_PREFIX + n not in environ]
    if missing:
        raise RunRefused(messages.secrets_missing(missing))
    values = tuple(f"{n}={environ[SECRET_ENV_PREFIX + n]}" for n in args.secret_env)
    return replace(args, env=args.env + values, secret_env=())


def ready(args: RunArgs, guardrails: Guardrails, docker_host: str | None) -> RunArgs:
    """The run args as the engine gets them: [policy] defaults filled in, host bind sources checked and
    resolved on this host, bare `-e NAME` secrets set (RunRefused when one of these refuses)."""
    spec = apply_defaults(args, guardrails)
    spec = resolve_host_paths(spec, guardrails, engine_socket(docker_host))
    return resolve_secrets(spec, os.environ)
