"""The handler signature and the context a handler runs in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dockbolt.core.contract import JobRequest
from workers.docker_port import DockerPort
from workers.reply import Reply


@dataclass(frozen=True)
class HandlerContext:
    """The job being run, the Docker engine to run it on, and a way to report progress."""

    job: JobRequest
    docker: DockerPort
    progress: Callable[[str], None]


Handler = Callable[[HandlerContext, Mapping[str, Any]], Reply]
