"""The ``[apps.NAME]`` tables: what `deploy NAME` builds, how it runs, how its health is checked.

Read with the rest of the config (``dockbolt.core.config``) and validated all at once: every problem is
reported as ``<file>: apps.NAME.KEY: <problem>``. The ``run`` table takes the options of the `run` verb,
spelled as its long flags (``ports = ["8080:80"]`` is ``-p 8080:80``) and checked by the very parser
`run` uses, which the composition root hands in (``RunWords``): same validation, same guardrails at
deploy time. Secrets never sit in the file: ``webhook_secret_env`` names the variable that holds one.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from dockbolt.core.args import APP_NAME_RE, ENV_NAME_RE, IMAGE_TAG_RE, DeployArgs, HealthSpec, RunArgs
from dockbolt.core.buildsrc import BuildConfig, source_of
from dockbolt.core.errors import UsageError
from dockbolt.core.service_args import SWARM_PUBLISH_ADDRESS
from dockbolt.core.units import duration_seconds

if TYPE_CHECKING:
    from dockbolt.core.config import _Checker

# `run` flags as words (["-p", "8080:80", "busybox"]) → RunArgs, or ValueError/UsageError saying why.
RunWords = Callable[[list[str]], RunArgs]

KEYS = ("context", "dockerfile", "image", "container", "channel", "run", "health", "build_args",
        "webhook_secret_env", "mode")
# How an app runs: one container replaced by a deploy, or a Swarm service a deploy updates (rolling).
MODES = ("container", "service")
# The run table's keys and the `run` flag each stands for (arrays repeat the flag; "command" is the
# container's command after the image).
RUN_FLAGS: Mapping[str, str] = MappingProxyType({
    "ports": "--publish", "env": "--env", "labels": "--label", "volumes": "--volume", "mounts": "--mount",
    "network": "--network", "restart": "--restart", "memory": "--memory", "cpus": "--cpus",
    "pids_limit": "--pids-limit", "user": "--user", "workdir": "--workdir", "read_only": "--read-only",
    "cap_add": "--cap-add", "cap_drop": "--cap-drop", "security_opt": "--security-opt", "command": "",
})
HEALTH_KEYS = ("cmd", "timeout", "grace")
_CONTAINER_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+\Z")
_CHANNEL_RE = re.compile(r"^[CG][A-Z0-9]+\Z")


@dataclass(frozen=True)
class AppConfig:
    """One validated ``[apps.NAME]`` table."""

    name: str
    context: str  # git URL (optionally #ref) or a directory under [build] context_roots
    image: str  # the repository built images go to; the tag is the ref
    container: str
    run: RunArgs  # its image is ``image``; the deploy sets the tag and the name
    channel: str = ""  # where deployments are announced ("" = [slack] notify_channel was empty too)
    dockerfile: str = "Dockerfile"
    health: HealthSpec = field(default_factory=HealthSpec)
    build_args: Mapping[str, str] = field(default_factory=dict)
    webhook_secret_env: str = ""
    mode: str = "container"  # or "service": ``container`` is then the name of a Swarm service

    def own_image(self, image: str) -> bool:
        """``image`` is a tag or digest of this app's repository (all a webhook may deploy)."""
        return image.startswith((f"{self.image}:", f"{self.image}@"))

    def deploy_args(self, *, by: str, ref: str = "", image: str = "") -> DeployArgs:
        """The job args of a deploy (``ref``/``image`` as asked) or a rollback (neither)."""
        return DeployArgs(app=self.name, container=self.container, repository=self.image, run=self.run,
                          channel=self.channel, ref=ref, image=image, context=self.context,
                          dockerfile=self.dockerfile, build_args=dict(self.build_args), health=self.health,
                          by=by, mode="service" if self.mode == "service" else "container")


def run_words(run: Mapping[str, Any], image: str) -> tuple[list[str], list[str]]:
    """The `run` words a run table stands for, and the problems of its shape (wrong types)."""
    words: list[str] = []
    problems: list[str] = []
    for key, value in run.items():
        flag = RUN_FLAGS.get(key)
        if flag is None:
            continue  # reported by the caller's table check
        items = value if isinstance(value, list) else [value]
        if key == "read_only":
            if not isinstance(value, bool):
                problems.append(f"{key}: must be true or false")
            elif value:
                words.append(flag)
            continue
        if not all(isinstance(i, str | int | float) and not isinstance(i, bool) for i in items):
            problems.append(f"{key}: must be a string or an array of strings")
            continue
        if flag:
            for item in items:
                words += [flag, str(item)]
    command = run.get("command", [])
    command = shlex.split(command) if isinstance(command, str) else [str(c) for c in command]
    return [*words, "--", image, *command], problems


def parse_apps(c: _Checker, data: object, build: BuildConfig, notify_channel: str,
               run_parser: RunWords | None) -> dict[str, AppConfig]:
    """Validate the ``[apps]`` table; problems go to ``c``."""
    apps: dict[str, AppConfig] = {}
    for name, body in c.table(data, "apps", None).items():
        key = f"apps.{name}"
        if not APP_NAME_RE.match(name):
            c.add(key, 'an app name is lower-case letters, digits, ".", "_" and "-"')
        t = c.table(body, key, KEYS)
        app = _parse_app(c, key, name, t, build, notify_channel, run_parser)
        if app is not None:
            apps[name] = app
    return apps


def _parse_app(c: _Checker, key: str, name: str, t: Mapping[str, Any], build: BuildConfig,
               notify_channel: str, run_parser: RunWords | None) -> AppConfig | None:
    context = c.string(t, key, "context", None) or ""
    if context:
        try:
            source_of(context, build, any_git_host=True)
        except ValueError as exc:
            c.add(f"{key}.context", str(exc).replace("`", '"'))
    image = c.string(t, key, "image", None) or ""
    if image and (not IMAGE_TAG_RE.match(image) or ":" in image.rsplit("/", 1)[-1]):
        c.add(f"{key}.image", f'"{image}" is not an image repository like "acme/web" (no tag: the ref is)')
        image = ""  # reported once, here (not again by the run table's check)
    container = c.string(t, key, "container", name) or name
    if not _CONTAINER_RE.match(container):
        c.add(f"{key}.container", f'"{container}" is not a container name')
    channel = c.string(t, key, "channel", notify_channel) or ""
    if channel and not _CHANNEL_RE.match(channel):
        c.add(f"{key}.channel", f'"{channel}" is not a Slack channel id (starts with C or G)')
    dockerfile = c.string(t, key, "dockerfile", "Dockerfile") or "Dockerfile"
    secret_env = c.string(t, key, "webhook_secret_env", "") or ""
    if secret_env and not ENV_NAME_RE.match(secret_env):
        c.add(f"{key}.webhook_secret_env", "must be the name of an environment variable (not the secret)")
    elif secret_env and not channel:
        c.add(f"{key}.channel", "a webhook deploy is announced here: set it (or [slack] notify_channel)")
    build_args = _string_table(c, t.get("build_args", {}), f"{key}.build_args")
    health = _parse_health(c, t.get("health", {}), f"{key}.health")
    run = _parse_run(c, t.get("run", {}), f"{key}.run", image or "image", run_parser)
    mode = c.string(t, key, "mode", "container") or "container"
    if mode not in MODES:
        c.add(f"{key}.mode", f'"{mode}" is not one of {", ".join(MODES)}')
    elif mode == "service" and run is not None:
        run = _swarm_ports(c, f"{key}.run.ports", run)
    if run is None or health is None:
        return None
    try:
        return AppConfig(name=name, context=context, image=image, container=container, run=run,
                         channel=channel, dockerfile=dockerfile, health=health, build_args=build_args,
                         webhook_secret_env=secret_env, mode=mode)
    except ValueError as exc:
        c.add(key, str(exc))
        return None


def _swarm_ports(c: _Checker, key: str, run: RunArgs) -> RunArgs:
    """A service's ports as the guardrails must see them: Swarm publishes on every address of every node."""
    if any(p.host_ip for p in run.ports):
        c.add(key, "a service is published on every address (Swarm's routing mesh): give HOST:CTR, no IP")
    return replace(run, ports=tuple(replace(p, host_ip=SWARM_PUBLISH_ADDRESS) for p in run.ports))


def _string_table(c: _Checker, data: object, key: str) -> dict[str, str]:
    t = c.table(data, key, None)
    for k, v in t.items():
        if not ENV_NAME_RE.match(k) or not isinstance(v, str):
            c.add(f"{key}.{k}", "must be NAME = \"value\" (a variable name and a string)")
    return {k: v for k, v in t.items() if isinstance(v, str)}


def _parse_health(c: _Checker, data: object, key: str) -> HealthSpec | None:
    t = c.table(data, key, HEALTH_KEYS)
    cmd = c.string(t, key, "cmd", "") or ""
    seconds = {}
    for name, default in (("timeout", "60s"), ("grace", "5s")):
        raw = c.string(t, key, name, default) or default
        value = duration_seconds(raw)
        if value is None:
            c.add(f"{key}.{name}", f'"{raw}" is not a duration like "60s" or "2m"')
        seconds[name] = value or 1
    try:
        return HealthSpec(cmd=tuple(shlex.split(cmd)), timeout=seconds["timeout"], grace=seconds["grace"])
    except ValueError as exc:
        c.add(key, str(exc))
        return None


def _parse_run(c: _Checker, data: object, key: str, image: str,
               run_parser: RunWords | None) -> RunArgs | None:
    t = c.table(data, key, tuple(RUN_FLAGS))
    words, problems = run_words(t, image)
    for problem in problems:
        c.add(f"{key}.{problem.partition(':')[0]}", problem.partition(": ")[2])
    if problems:
        return None
    if run_parser is None:
        if t:
            c.add(key, "cannot be checked without the run verb's parser")
            return None
        return RunArgs(image=image)
    try:
        return run_parser(words)
    except (ValueError, UsageError) as exc:
        c.add(key, str(exc))
        return None
