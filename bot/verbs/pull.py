"""`pull IMAGE[:TAG|@DIGEST]`: fetch an image from its registry onto the host, with the worker's credentials.

The image is checked like `run`'s (docker's reference grammar here; ``[policy] allowed_images`` and the
binding's ``images`` scope by the shared ``run_requirements``); registry credentials never come from chat.
"""

from __future__ import annotations

from typing import Any

from bot.verbs.base import VerbSpec
from bot.verbs.run import image_ref
from dockbolt.core.args import PullArgs


def build(flags: dict[str, Any], positionals: list[str]) -> PullArgs:
    """Build pull args from IMAGE."""
    return PullArgs(image=image_ref(positionals[0]))


SPECS = (
    VerbSpec(
        name="pull",
        summary="Pull an image from a registry (credentials: the worker's docker config)",
        default_role="operator",
        usage="pull IMAGE[:TAG|@DIGEST]",
        min_positionals=1,
        max_positionals=1,
        build=build,
        timeout=600,
    ),
)
