"""`build`: build an image from a git repository or a directory on the worker, tagged as asked.

Which contexts are allowed (directories and `file://` repositories under `[build] context_roots`, git
hosts in `allow_git_hosts`) is the worker's to check: it is the one that clones and reads them.
"""

from __future__ import annotations

from typing import Any

from bot.verbs.base import Flag, VerbSpec
from dockbolt.core.args import ENV_NAME_RE, IMAGE_TAG_RE, BuildArgs

BUILD_TIMEOUT = 900  # seconds: a clone and a build of a real application


def parse_tag(raw: str) -> str:
    """`-t NAME[:TAG]`."""
    if not IMAGE_TAG_RE.match(raw):
        raise ValueError("must be an image name like `web:v2` or `registry.local:5000/acme/web:v2`")
    return raw


def parse_build_arg(raw: str) -> tuple[str, str]:
    """`--build-arg K=V`."""
    key, eq, value = raw.partition("=")
    if not eq or not ENV_NAME_RE.match(key):
        raise ValueError("must be KEY=VALUE with KEY a variable name")
    return key, value


def build(flags: dict[str, Any], positionals: list[str]) -> BuildArgs:
    """Build the args: tag (required), context, Dockerfile, build args, no-cache."""
    if flags["tag"] is None:
        raise ValueError("`-t NAME[:TAG]` is required: the image needs a name")
    return BuildArgs(tag=flags["tag"], context=positionals[0], dockerfile=flags["dockerfile"] or "Dockerfile",
                     build_args=dict(flags["build_args"]), no_cache=flags["no_cache"])


SPECS = (
    VerbSpec(
        name="build",
        summary="Build an image from a git repository (URL#ref) or a directory on the worker",
        usage="build -t NAME[:TAG] [-f DOCKERFILE] [--build-arg K=V]… [--no-cache] CONTEXT",
        # A Dockerfile runs any command the engine's builder allows: deployers and admins.
        default_role="deployer",
        flags=(
            Flag(("-t", "--tag"), "tag", "value", "NAME[:TAG]", parse_tag),
            Flag(("-f", "--file"), "dockerfile", "value", "DOCKERFILE"),
            Flag(("--build-arg",), "build_args", "multi", "K=V", parse_build_arg),
            Flag(("--no-cache",), "no_cache"),
        ),
        min_positionals=1,
        max_positionals=1,
        build=build,
        timeout=BUILD_TIMEOUT,
    ),
)
