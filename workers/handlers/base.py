"""What a handler is: a verb, the args type it receives, and the function that runs it in a context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from dockbolt.core.args import Args
from dockbolt.core.buildsrc import BuildConfig
from dockbolt.core.contract import JobRequest
from dockbolt.core.deploys import DeployStore
from dockbolt.core.guardrails import Guardrails
from dockbolt.core.monitor import MonitorConfig
from dockbolt.core.stathistory import StatsHistory
from workers.docker_port import ContainerSummary, DockerPort
from workers.reply import Reply
from workers.reporter import ThreadReporter

A = TypeVar("A", bound=Args)


@dataclass(frozen=True)
class HandlerContext:
    """The job being run, the Docker engine to run it on, and a way to report progress."""

    job: JobRequest
    docker: DockerPort
    progress: Callable[[str], None]
    # The [policy] table: the defaults `run` applies and the host paths it may mount.
    guardrails: Guardrails = field(default_factory=Guardrails)
    # The engine's address as configured (DOCKER_HOST; None: the local socket), for checks on its host.
    docker_host: str | None = None
    # For listings (`ps`, `stats` of every container): whether the caller may see this container.
    visible: Callable[[ContainerSummary], bool] = lambda _: True
    # The [build] table: where build contexts may come from.
    build: BuildConfig = field(default_factory=BuildConfig)
    # For deploys: the apps' locks, deploys in progress and history; the job's reporter (announcements).
    deploys: DeployStore | None = None
    reporter: ThreadReporter | None = None
    # For `stats`: this host's history (the watcher's samples; None: no host name known) and its config.
    stats_history: StatsHistory | None = None
    monitor: MonitorConfig = field(default_factory=MonitorConfig)


@dataclass(frozen=True)
class Handler(Generic[A]):
    """Runs one verb: the runner decodes the job's args into ``args`` and calls ``run`` with them."""

    verb: str
    args: type[A]
    run: Callable[[HandlerContext, A], Reply]
    # A quick read, run in the worker's own process rather than a forked horse (``workers.main``).
    in_process: bool = False
