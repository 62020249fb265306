"""`deploy APP [--ref REF | --image IMAGE:TAG]` and `rollback APP`: queued, for the app's config entry.

The parser knows only what was typed (the app's name, a ref or an image); ``complete`` fills in the rest
from ``[apps.APP]`` before the command is authorized, so the app's run options are checked like `run`'s
(guardrails, grants, scopes). ``refusal`` turns a deploy away privately, before anything is queued, while
someone else holds the app's lock or another deploy of it runs (the worker checks both again).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.suggest import closest_verbs
from bot.verbs.base import Flag, VerbSpec
from bot.verbs.run import image_ref
from dockbolt.core.apps import AppConfig
from dockbolt.core.args import APP_NAME_RE, GIT_REF_RE, DeployArgs, RunArgs
from dockbolt.core.deploys import DeployStore, busy_text, locked_text
from dockbolt.core.errors import UsageError
from dockbolt.core.mrkdwn import code

DEPLOY_TIMEOUT = 1800  # a clone, a build, a start and a health check of a real application


def parse_ref(raw: str) -> str:
    """`--ref REF`: a branch, tag or commit."""
    if not GIT_REF_RE.match(raw):
        raise ValueError("must be a branch, tag or commit name (no `..`, no leading `-`)")
    return raw


def parse_app(raw: str) -> str:
    """An app name as the config spells it."""
    if not APP_NAME_RE.match(raw):
        raise ValueError(f"{code(raw)} is not an app name")
    return raw


def build(flags: dict[str, Any], positionals: list[str]) -> DeployArgs:
    """What was typed; ``complete`` adds the app's config."""
    if flags.get("ref") and flags.get("image"):
        raise ValueError("give `--ref` or `--image`, not both")
    app = parse_app(positionals[0])
    return DeployArgs(app=app, container=app, repository=app, run=RunArgs(image=app),
                      ref=flags.get("ref") or "", image=flags.get("image") or "")


def complete(args: DeployArgs, apps: Mapping[str, AppConfig], user_id: str) -> DeployArgs:
    """The job args of ``args.app`` as its config entry says; UsageError for an app not in the config."""
    app = apps.get(args.app)
    if app is None:
        known = ", ".join(code(a) for a in apps) or "none are configured"
        near = closest_verbs(args.app, apps)
        hint = f" Did you mean {code(near[0])}?" if near else ""
        raise UsageError(f"no app {code(args.app)} in the config ([apps.NAME]; apps: {known}).{hint}")
    return app.deploy_args(by=f"<@{user_id}>", ref=args.ref, image=args.image)


def refusal(args: DeployArgs, user_id: str, deploys: DeployStore) -> str | None:
    """Why this deploy cannot start now (the app is locked by someone else, or being deployed)."""
    lock = deploys.lock_of(args.app)
    if lock is not None and lock.user != user_id:
        return locked_text(args.app, lock)
    held = deploys.deploying(args.app)
    return busy_text(args.app, held) if held is not None else None


SPECS = (
    VerbSpec(
        name="deploy",
        summary="Build an app at a ref (or take an image), replace its container, check health, switch",
        usage="deploy APP [--ref REF | --image IMAGE:TAG]",
        default_role="deployer",
        flags=(Flag(("--ref",), "ref", "value", "REF", parse_ref),
               Flag(("--image",), "image", "value", "IMAGE:TAG", image_ref)),
        min_positionals=1,
        max_positionals=1,
        build=build,
        timeout=DEPLOY_TIMEOUT,
    ),
    VerbSpec(
        name="rollback",
        summary="Put an app's previous good image back (the same checked switch)",
        usage="rollback APP",
        default_role="deployer",
        min_positionals=1,
        max_positionals=1,
        build=build,
        timeout=DEPLOY_TIMEOUT,
    ),
)
