"""`node ls`: the nodes of the Swarm the engine manages (a read, like `ps`)."""

from __future__ import annotations

from typing import Any

from bot.verbs.base import VerbSpec
from dockbolt.core.args import NoArgs
from dockbolt.core.mrkdwn import code


def build(flags: dict[str, Any], positionals: list[str]) -> NoArgs:
    """`node ls` (the only subcommand chat offers: nodes are joined and promoted on the hosts)."""
    if positionals != ["ls"]:
        raise ValueError(f"unknown subcommand {code(' '.join(positionals))} (use `node ls`)")
    return NoArgs()


SPECS = (
    VerbSpec(
        name="node",
        summary="List the nodes of the Swarm",
        usage="node ls",
        default_role="viewer",
        min_positionals=1,
        max_positionals=1,
        build=build,
        timeout=60,
    ),
)
