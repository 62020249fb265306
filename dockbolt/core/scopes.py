"""What a command touches, and whether a binding covers it: targets, scope globs, requirements.

A *target* is a container a verb acts on (resolved by the worker to its full name, id, image and labels),
an image (`inspect IMAGE`), or, for `run`, the container about to be created (its name and image). A
binding's ``containers``/``images`` globs (``fnmatch``, case-sensitive) narrow where its role applies;
an empty list means "any". A *requirement* is something in the command that needs a grant (or that
nothing may allow): `run`'s guardrail flags (``dockbolt.core.run_policy``), and a ``Subcommand``: a verb
whose subcommands differ in power (`service ls` reads, `service rm` removes) names the one typed, which
a role must allow by its name (``service-rm``, ``dockbolt.core.rbac``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Literal, Protocol

from dockbolt.core.args import (
    LABEL_MANAGED,
    Args,
    BuildArgs,
    DeployArgs,
    NameArgs,
    NamesArgs,
    PullArgs,
    RunArgs,
    StatsArgs,
)
from dockbolt.core.guardrails import Guardrails
from dockbolt.core.run_policy import check_run
from dockbolt.core.service_args import ServiceArgs

LABEL_PROTECTED = "dockbolt.protected"
# Docker accepts any unique id prefix; a short one picks a container nobody meant (1 character did).
MIN_ID_PREFIX = 12

TargetKind = Literal["container", "image", "new", "service"]


class Requirement(Protocol):
    """Something a command asks for: the flag as typed, the grant it needs (None: never allowed), why."""

    @property
    def flag(self) -> str: ...
    @property
    def grant(self) -> str | None: ...
    @property
    def reason(self) -> str: ...


def subverb(verb: str, sub: str) -> str:
    """A subcommand's name in the registry and in roles' ``allow`` (`service scale`: service-scale)."""
    return f"{verb}-{sub}"


@dataclass(frozen=True)
class Subcommand:
    """The subcommand a command runs (``service-scale``): roles allow it by this name, as they allow verbs.

    A Requirement so that it travels with the others; ``grant`` is its name, never None (it is not a
    guardrail), and ``authorize`` takes it out before grants are looked at.
    """

    flag: str

    @property
    def grant(self) -> str:
        """The subcommand's name (what a role's ``allow`` must list)."""
        return self.flag

    @property
    def reason(self) -> str:
        """What it is, for a denial."""
        return f"`{self.flag}` is a subcommand a role must allow"


@dataclass(frozen=True)
class Target:
    """A container or image a verb acts on (``kind="new"``: the container `run` will create)."""

    name: str  # container name without the leading "/" ("" for an image or an unnamed new container)
    image: str | None  # the image reference; None when not known yet (`why`: the worker checks it)
    id: str = ""
    kind: TargetKind = "container"
    managed: bool = True
    protected: bool = False

    @property
    def shown(self) -> str:
        """How the target is named to the user."""
        return self.name or self.image or self.id[:12]

    @classmethod
    def from_inspect(cls, data: dict[str, object]) -> Target:
        """Build a target from ``docker inspect`` output (a container, else an image)."""
        config = data.get("Config")
        config = config if isinstance(config, dict) else {}
        labels = config.get("Labels") or {}
        labels = labels if isinstance(labels, dict) else {}
        if "State" not in data:  # an image
            tags = data.get("RepoTags") or []
            first = str(tags[0]) if isinstance(tags, list) and tags else ""
            return cls(name="", image=first, id=str(data.get("Id") or ""), kind="image")
        return cls(
            name=str(data.get("Name") or "").lstrip("/"), image=str(config.get("Image") or ""),
            id=str(data.get("Id") or ""), managed=labels.get(LABEL_MANAGED) == "true",
            protected=labels.get(LABEL_PROTECTED) == "true",
        )


def _matches(value: str, globs: tuple[str, ...]) -> bool:
    return not globs or any(fnmatchcase(value, g) for g in globs)


def host_uncovered(hosts: tuple[str, ...], host: str) -> str | None:
    """Why the ``hosts`` scope globs do not cover ``host`` (None when they do, or no host is named)."""
    if not host or _matches(host, hosts):
        return None
    return f"host `{host}` is outside your hosts scope ({', '.join(hosts)})"


def uncovered(containers: tuple[str, ...], images: tuple[str, ...], target: Target) -> str | None:
    """Why the scope globs do not cover ``target`` (None when they do)."""
    if target.kind != "image" and not _matches(target.name, containers):
        if target.kind == "new" and not target.name:
            return f"give `--name` matching {', '.join(containers)}"
        return f"`{target.shown}` is outside your containers scope ({', '.join(containers)})"
    if target.image is not None and not _matches(target.image, images):
        return f"image `{target.image}` is outside your images scope ({', '.join(images)})"
    return None


def short_prefix(typed: str, target: Target) -> bool:
    """True when ``typed`` picked ``target`` only as an id prefix shorter than MIN_ID_PREFIX."""
    return (typed != target.name and target.id.startswith(typed) and len(typed) < MIN_ID_PREFIX
            and typed != target.image)


def typed_targets(args: Args) -> tuple[str, ...]:
    """The container (or image) names and ids a verb's args point at, as the user typed them."""
    if isinstance(args, NameArgs):
        return (args.name,)
    if isinstance(args, NamesArgs | StatsArgs):
        return tuple(args.names)
    if isinstance(args, DeployArgs):  # the container a deploy replaces (protected, unmanaged: checked)
        return (args.container,)
    return ()


def run_requirements(
    args: Args, guardrails: Guardrails
) -> tuple[tuple[Requirement, ...], tuple[Target, ...]]:
    """For `run`: what its flags need, and the container it will create as a target; for `build`, the
    image it will tag (the images scope must cover it); for `pull`, the image it fetches (as `run`'s image:
    ``[policy] allowed_images`` and the images scope); for `deploy`/`rollback`, what the app's run
    options need and the container it will create from its repository; nothing otherwise.

    The same on both sides: the bot checks it before accepting, the worker again before creating.
    """
    if isinstance(args, RunArgs):
        return check_run(args, guardrails), (Target(name=args.name or "", image=args.image, kind="new"),)
    if isinstance(args, BuildArgs):
        return (), (Target(name="", image=args.tag, kind="image"),)
    if isinstance(args, PullArgs):
        fetched = Target(name="", image=args.image, kind="image")
        return check_run(RunArgs(image=args.image), guardrails), (fetched,)
    if isinstance(args, DeployArgs):  # what it runs: the image given, or one built into the repository
        image = args.image or args.repository
        creates = Target(name=args.container, image=image, kind="new")
        return check_run(replace(args.run, image=image), guardrails), (creates,)
    if isinstance(args, ServiceArgs):
        return service_requirements(args, guardrails)
    return (), ()


def service_targets(args: ServiceArgs) -> tuple[str, ...]:
    """The existing services a `service` command names (scale's NAME=N names, or its NAMEs)."""
    return tuple(args.replicas) if args.action == "scale" else args.names


def service_requirements(
    args: ServiceArgs, guardrails: Guardrails
) -> tuple[tuple[Requirement, ...], tuple[Target, ...]]:
    """For `service ACTION`: the subcommand, what `run` would need for the replicas it creates (image,
    ports, resources) or for the image an update rolls out, and the services it names (their names against
    the containers scope; the worker checks the rest on the engine: managed, protected, image)."""
    sub = Subcommand(subverb("service", args.action))
    if args.spec is not None:
        new = Target(name=args.spec.run.name or "", image=args.spec.run.image, kind="new")
        return (sub, *check_run(args.spec.run, guardrails)), (new,)
    image = args.image or None
    needs = check_run(RunArgs(image=args.image), guardrails) if args.image else ()
    return (sub, *needs), tuple(Target(name=n, image=image, kind="service") for n in service_targets(args))
