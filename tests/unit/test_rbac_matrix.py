"""The RBAC matrix: roles × verbs × scopes × channels × grants × targets, through the pure ``authorize()``.

Every expected outcome below is written from the rules in ``dockbolt.core.rbac`` (module, ``Binding`` and
``authorize`` docstrings) and ``dockbolt.core.scopes`` — never computed by calling ``authorize``:

1. The roles held *here* are every binding naming the user (id or user group) whose ``channels`` (if any)
   include this channel, in config order, plus ``default_role`` (unscoped). Roles inherit transitively,
   ``"*"`` allows every verb; a role of a built-in name replaces the built-in one.
2. ``help``/``whoami`` (default role "everyone") need no role.
3. A requirement without a grant is never allowed; a protected container can be read but changed by
   nobody (admin included).
4. Otherwise the command is allowed when ONE binding's role allows the verb, holds (itself or through
   ``inherits``) every grant the requirements need, and covers every target: its ``containers`` globs
   match the target's name (containers and new containers), its ``images`` globs the target's image
   (fnmatch, case-sensitive, empty = any); a container dockbolt does not manage also needs ``unmanaged``,
   unless the verb only reads and ``[policy] read_unmanaged = true``.
5. A denial names what is missing: the flag and its grant, the target outside the scope, the target that
   is not managed or is protected, the roles that would allow the verb.

Policies are TOML parsed by ``parse_config``, exactly as the bot reads its config file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import pytest

from bot.verbs import CATALOG
from dockbolt.core.config import parse_config
from dockbolt.core.rbac import Policy, authorize
from dockbolt.core.scopes import Target


@dataclass(frozen=True)
class Need:
    """A requirement as ``authorize`` reads it (``dockbolt.core.scopes.Requirement``)."""

    flag: str
    grant: str | None
    reason: str


# --- the policies ----------------------------------------------------------------------------------------

ROLES_AND_BINDINGS = """
[rbac.roles.releaser]             # operator + one grant
inherits = ["operator"]
grants = ["privileged"]

[rbac.roles.grantbag]             # grants, but no verb at all
grants = ["privileged", "unmanaged", "host-mounts"]

[rbac.roles.lead]                 # its grants come only through inherits
inherits = ["operator", "grantbag"]

[rbac.roles.janitor]              # one changing verb, and unmanaged
allow = ["rm"]
grants = ["unmanaged"]

[rbac.roles.scoped-star]
allow = ["*"]

[[rbac.bindings]]                 # 1
role = "viewer"
users = ["UVIEW"]

[[rbac.bindings]]                 # 2
role = "operator"
users = ["UOPS"]

[[rbac.bindings]]                 # 3
role = "admin"
users = ["UADMIN"]

[[rbac.bindings]]                 # 4
role = "releaser"
users = ["UDEPLOY"]

[[rbac.bindings]]                 # 5
role = "lead"
users = ["ULEAD"]

[[rbac.bindings]]                 # 6
role = "operator"
users = ["USTAGE"]
containers = ["staging-*"]

[[rbac.bindings]]                 # 7
role = "operator"
users = ["UACME"]
images = ["acme/*"]

[[rbac.bindings]]                 # 8: both globs on one binding
role = "operator"
users = ["UBOTH"]
containers = ["staging-*"]
images = ["acme/*"]

[[rbac.bindings]]                 # 9
role = "operator"
users = ["UCHAN"]
channels = ["COPS"]

[[rbac.bindings]]                 # 10: channel AND scope
role = "operator"
users = ["UCHANSTAGE"]
channels = ["COPS"]
containers = ["staging-*"]

[[rbac.bindings]]                 # 11, 12: one user, two disjoint scopes
role = "operator"
users = ["USPLIT"]
containers = ["staging-*"]

[[rbac.bindings]]
role = "operator"
users = ["USPLIT"]
containers = ["prod-*"]

[[rbac.bindings]]                 # 13, 14: the verb on one binding, the grants on another
role = "operator"
users = ["UGRANTSPLIT"]

[[rbac.bindings]]
role = "grantbag"
users = ["UGRANTSPLIT"]

[[rbac.bindings]]                 # 15, 16: a granted but scoped binding, and an unscoped one without grant
role = "releaser"
users = ["UMIX"]
containers = ["staging-*"]

[[rbac.bindings]]
role = "operator"
users = ["UMIX"]

[[rbac.bindings]]                 # 17
role = "operator"
groups = ["SOPS"]
channels = ["CDEV"]

[[rbac.bindings]]                 # 18
role = "viewer"
groups = ["SVIEW"]

[[rbac.bindings]]                 # 19
role = "operator"
groups = ["SSTAGE"]
containers = ["staging-*"]

[[rbac.bindings]]                 # 20
role = "scoped-star"
users = ["USTARDEV"]
containers = ["dev-*"]

[[rbac.bindings]]                 # 21, 22
role = "janitor"
users = ["UJAN"]

[[rbac.bindings]]
role = "operator"
users = ["UJAN"]

[[rbac.bindings]]                 # 23: the built-in deployer
role = "deployer"
users = ["UBUILTDEP"]
"""

VARIANTS = {
    "base": "",
    "read_unmanaged": "[policy]\nread_unmanaged = true\n",
    "default_viewer": '[rbac]\ndefault_role = "viewer"\n',
    # A role named like a built-in one replaces it; operator inherits it by name.
    "custom_viewer": '[rbac.roles.viewer]\nallow = ["ps"]\n',
}


@cache
def policy(variant: str) -> Policy:
    text = VARIANTS[variant] + ROLES_AND_BINDINGS
    return parse_config(tomllib.loads(text), f"{variant}.toml", CATALOG).policy


# --- targets and requirements --------------------------------------------------------------------------

WEB = Target("web", "acme/web:1")
STAGING_A = Target("staging-a", "acme/api:2")
STAGING_B = Target("staging-b", "busybox:1.36")
PROD_B = Target("prod-b", "acme/api:2")
DEV_A = Target("dev-a", "busybox:1.36")
LEGACY = Target("legacy-db", "postgres:16", managed=False)
LEGACY_2 = Target("legacy-cache", "redis:7", managed=False)
STAGING_LEGACY = Target("staging-legacy", "acme/old:1", managed=False)
VAULT = Target("vault", "acme/vault:1", protected=True)
LEGACY_VAULT = Target("old-vault", "hashicorp/vault:1", managed=False, protected=True)
IMG_ACME = Target("", "acme/web:1", kind="image")
IMG_BUSYBOX = Target("", "busybox:latest", kind="image")
NEW_WEB = Target("web", "busybox", kind="new")
NEW_STAGING_ACME = Target("staging-x", "acme/app", kind="new")
NEW_STAGING_BUSYBOX = Target("staging-x", "busybox", kind="new")
NEW_UNNAMED_ACME = Target("", "acme/app", kind="new")

PRIV = Need("--privileged", "privileged", "every capability and every host device")
CAP = Need("--cap-add CAP_NET_ADMIN", "privileged", "adds the capability CAP_NET_ADMIN")
HOST_MOUNT = Need("-v /srv/data:/data", "host-mounts", "mounts the host path /srv/data")
SOCKET = Need("-v /var/run/docker.sock:/s", "docker-socket", "the Docker socket: root on the host")
NEVER = Need("-v /etc:/etc", None, "/etc is not under [policy] allowed_host_paths (none)")


@dataclass(frozen=True)
class Row:
    """One matrix row: who, where, what, on what, and the outcome the rules give."""

    id: str
    user: str
    verb: str
    allowed: bool
    # Allowed: the role the reason names (the first binding, in config order, that allows it).
    by: str = ""
    # Denied: substrings the reason must contain (what is missing).
    says: tuple[str, ...] = ()
    # Substrings the reason must NOT contain (e.g. a grant the binding does hold).
    not_says: tuple[str, ...] = ()
    variant: str = "base"
    channel: str = "CANY"
    groups: tuple[str, ...] = ()
    needs: tuple[Need, ...] = ()
    targets: tuple[Target, ...] = ()


def allow(rid: str, user: str, verb: str, by: str = "", *, variant: str = "base", channel: str = "CANY",
          groups: tuple[str, ...] = (), needs: tuple[Need, ...] = (),
          targets: tuple[Target, ...] = ()) -> Row:
    return Row(rid, user, verb, True, by=by, variant=variant, channel=channel, groups=groups, needs=needs,
               targets=targets)


def deny(rid: str, user: str, verb: str, *says: str, not_says: tuple[str, ...] = (), variant: str = "base",
         channel: str = "CANY", groups: tuple[str, ...] = (), needs: tuple[Need, ...] = (),
         targets: tuple[Target, ...] = ()) -> Row:
    return Row(rid, user, verb, False, says=says, not_says=not_says, variant=variant, channel=channel,
               groups=groups, needs=needs, targets=targets)


NO_ROLE = "you have no role in this channel"


def scope_miss(target: str, globs: str) -> str:
    return f"`{target}` is outside your containers scope ({globs})"


def image_miss(image: str, globs: str) -> str:
    return f"image `{image}` is outside your images scope ({globs})"


def unmanaged_miss(target: str) -> str:
    return f"`{target}` is not managed by dockbolt: that needs the grant `unmanaged`"


def grant_miss(flag: str, grant: str) -> str:
    return f"`{flag}` needs the grant `{grant}`"


def protected(target: str) -> str:
    return f"`{target}` is protected"


HAND_ROWS: tuple[Row, ...] = (
    # --- open verbs: no role needed ---------------------------------------------------------------------
    allow("open/stranger-help", "USTRANGER", "help"),
    allow("open/stranger-whoami", "USTRANGER", "whoami", channel="COPS"),
    allow("open/viewer-help", "UVIEW", "help"),
    allow("open/channel-scoped-user-elsewhere-whoami", "UCHAN", "whoami", channel="CDEV"),
    # --- verbs by role, with the denial naming the roles that would do --------------------------------
    deny("verb/stranger-ps", "USTRANGER", "ps", NO_ROLE, "`whoami`"),
    deny("verb/viewer-stop", "UVIEW", "stop", "`stop` needs a role that allows it (", "operator",
         "admin", "you have viewer in this channel", targets=(WEB,)),
    deny("verb/viewer-run", "UVIEW", "run", "`run` needs a role", "you have viewer in this channel",
         targets=(NEW_WEB,)),
    allow("verb/operator-run", "UOPS", "run", "operator", targets=(NEW_WEB,)),
    allow("verb/operator-stop-managed", "UOPS", "stop", "operator", targets=(WEB,)),
    allow("verb/admin-rm-managed", "UADMIN", "rm", "admin", targets=(WEB,)),
    allow("verb/lead-logs-through-two-inherits", "ULEAD", "logs", "lead", targets=(WEB,)),
    allow("verb/janitor-rm", "UJAN", "rm", "janitor", targets=(WEB,)),
    # --- channels -----------------------------------------------------------------------------------------
    allow("chan/in-its-channel", "UCHAN", "stop", "operator", channel="COPS", targets=(WEB,)),
    deny("chan/outside-its-channel", "UCHAN", "stop", NO_ROLE, channel="CDEV", targets=(WEB,)),
    allow("chan/scope-and-channel-both-met", "UCHANSTAGE", "stop", "operator", channel="COPS",
          targets=(STAGING_A,)),
    deny("chan/scope-met-channel-not", "UCHANSTAGE", "stop", NO_ROLE, channel="CDEV", targets=(STAGING_A,)),
    deny("chan/channel-met-scope-not", "UCHANSTAGE", "stop", scope_miss("web", "staging-*"),
         channel="COPS", targets=(WEB,)),
    # --- user groups ----------------------------------------------------------------------------------------
    allow("group/operator-in-its-channel", "UMEMBER", "stop", "operator", channel="CDEV", groups=("SOPS",),
          targets=(WEB,)),
    deny("group/operator-outside-its-channel", "UMEMBER", "stop", NO_ROLE, channel="COPS",
         groups=("SOPS",), targets=(WEB,)),
    allow("group/viewer-reads", "UMEMBER", "logs", "viewer", groups=("SOTHER", "SVIEW"), targets=(WEB,)),
    deny("group/viewer-cannot-stop", "UMEMBER", "stop", "`stop` needs a role",
         "you have viewer in this channel", groups=("SVIEW",), targets=(WEB,)),
    deny("group/unbound-group", "UMEMBER", "ps", NO_ROLE, groups=("SOTHER",)),
    allow("group/scoped-in-scope", "UMEMBER", "restart", "operator", groups=("SSTAGE",),
          targets=(STAGING_A,)),
    deny("group/scoped-out-of-scope", "UMEMBER", "restart", scope_miss("web", "staging-*"),
         groups=("SSTAGE",), targets=(WEB,)),
    allow("group/roles-add-up", "UVIEW", "stop", "operator", channel="CDEV", groups=("SOPS",),
          targets=(WEB,)),
    # --- default_role ---------------------------------------------------------------------------------------
    allow("default/stranger-reads", "USTRANGER", "ps", "viewer", variant="default_viewer"),
    deny("default/stranger-cannot-stop", "USTRANGER", "stop", "`stop` needs a role",
         "you have viewer in this channel", variant="default_viewer", targets=(WEB,)),
    # default_role is unscoped: it covers what the user's scoped binding does not.
    allow("default/unscoped-default-covers", "USTAGE", "logs", "viewer", variant="default_viewer",
          targets=(WEB,)),
    deny("default/only-the-scoped-binding-allows-stop", "USTAGE", "stop", scope_miss("web", "staging-*"),
         variant="default_viewer", targets=(WEB,)),
    deny("default/without-default-the-scope-holds", "USTAGE", "logs", scope_miss("web", "staging-*"),
         targets=(WEB,)),
    # --- a config role of a built-in name replaces it (operator inherits it by name) --------------------
    allow("replace/viewer-ps", "UVIEW", "ps", "viewer", variant="custom_viewer"),
    deny("replace/viewer-logs", "UVIEW", "logs", "`logs` needs a role", "you have viewer in this channel",
         variant="custom_viewer", targets=(WEB,)),
    deny("replace/operator-logs", "UOPS", "logs", "`logs` needs a role", "you have operator in this channel",
         variant="custom_viewer", targets=(WEB,)),
    allow("replace/operator-own-verbs", "UOPS", "stop", "operator", variant="custom_viewer", targets=(WEB,)),
    # --- grants for requirements ---------------------------------------------------------------------------
    deny("grant/operator-privileged", "UOPS", "run", grant_miss("--privileged", "privileged"),
         needs=(PRIV,), targets=(NEW_WEB,)),
    deny("grant/operator-two-flags-both-named", "UOPS", "run", grant_miss("--privileged", "privileged"),
         grant_miss("--cap-add CAP_NET_ADMIN", "privileged"), needs=(PRIV, CAP), targets=(NEW_WEB,)),
    allow("grant/releaser-privileged", "UDEPLOY", "run", "releaser", needs=(PRIV, CAP), targets=(NEW_WEB,)),
    deny("grant/releaser-lacks-host-mounts", "UDEPLOY", "run",
         grant_miss("-v /srv/data:/data", "host-mounts"), not_says=("`privileged`",),
         needs=(PRIV, HOST_MOUNT), targets=(NEW_WEB,)),
    allow("grant/lead-inherits-grants", "ULEAD", "run", "lead", needs=(PRIV, HOST_MOUNT), targets=(NEW_WEB,)),
    deny("grant/lead-lacks-docker-socket", "ULEAD", "run", grant_miss("-v /var/run/docker.sock:/s",
         "docker-socket"), not_says=("`host-mounts`",), needs=(HOST_MOUNT, SOCKET), targets=(NEW_WEB,)),
    # The built-in admin allows "*" but holds no grant.
    deny("grant/admin-holds-no-grant", "UADMIN", "run", grant_miss("--privileged", "privileged"),
         needs=(PRIV,), targets=(NEW_WEB,)),
    deny("grant/never-allowed-for-admin", "UADMIN", "run", "`-v /etc:/etc`", "allowed_host_paths",
         needs=(NEVER,), targets=(NEW_WEB,)),
    deny("grant/never-allowed-for-lead", "ULEAD", "run", "`-v /etc:/etc`", "allowed_host_paths",
         needs=(HOST_MOUNT, NEVER), targets=(NEW_WEB,)),
    # A grant on one binding's role does not help another binding.
    deny("grant/verb-and-grant-on-different-bindings", "UGRANTSPLIT", "run",
         grant_miss("--privileged", "privileged"), needs=(PRIV,), targets=(NEW_WEB,)),
    deny("grant/unmanaged-on-another-binding", "UGRANTSPLIT", "stop", unmanaged_miss("legacy-db"),
         targets=(LEGACY,)),
    allow("grant/scoped-granted-binding-in-scope", "UMIX", "run", "releaser", needs=(PRIV,),
          targets=(NEW_STAGING_BUSYBOX,)),
    deny("grant/scoped-granted-binding-out-of-scope", "UMIX", "run", scope_miss("web", "staging-*"),
         grant_miss("--privileged", "privileged"), "releaser", "operator", needs=(PRIV,), targets=(NEW_WEB,)),
    allow("grant/no-need-unscoped-binding", "UMIX", "run", "operator", targets=(NEW_WEB,)),
    deny("grant/scoped-granted-binding-lacks-second-grant", "UMIX", "run",
         grant_miss("-v /srv/data:/data", "host-mounts"), needs=(PRIV, HOST_MOUNT),
         targets=(NEW_STAGING_BUSYBOX,)),
    # --- containers dockbolt does not manage ---------------------------------------------------------------
    deny("unmanaged/operator-stop", "UOPS", "stop", unmanaged_miss("legacy-db"), targets=(LEGACY,)),
    deny("unmanaged/admin-stop", "UADMIN", "stop", unmanaged_miss("legacy-db"), targets=(LEGACY,)),
    deny("unmanaged/viewer-logs-by-default", "UVIEW", "logs", unmanaged_miss("legacy-db"), targets=(LEGACY,)),
    allow("unmanaged/viewer-logs-read-unmanaged", "UVIEW", "logs", "viewer", variant="read_unmanaged",
          targets=(LEGACY,)),
    allow("unmanaged/viewer-inspect-read-unmanaged", "UVIEW", "inspect", "viewer", variant="read_unmanaged",
          targets=(LEGACY,)),
    allow("unmanaged/viewer-stats-two-read-unmanaged", "UVIEW", "stats", "viewer", variant="read_unmanaged",
          targets=(LEGACY, LEGACY_2)),
    deny("unmanaged/operator-stop-read-unmanaged", "UOPS", "stop", unmanaged_miss("legacy-db"),
         variant="read_unmanaged", targets=(LEGACY,)),
    deny("unmanaged/names-the-unmanaged-one", "UOPS", "restart", unmanaged_miss("legacy-db"),
         not_says=("`web`",), targets=(WEB, LEGACY)),
    allow("unmanaged/lead-inherits-unmanaged", "ULEAD", "stop", "lead", targets=(LEGACY,)),
    allow("unmanaged/janitor-rm", "UJAN", "rm", "janitor", targets=(LEGACY,)),
    deny("unmanaged/janitor-does-not-stop", "UJAN", "stop", unmanaged_miss("legacy-db"), targets=(LEGACY,)),
    # read_unmanaged lifts only the grant, not the scope.
    deny("unmanaged/read-unmanaged-keeps-scope", "USTAGE", "logs", scope_miss("legacy-db", "staging-*"),
         variant="read_unmanaged", targets=(LEGACY,)),
    allow("unmanaged/read-unmanaged-in-scope", "USTAGE", "logs", "operator", variant="read_unmanaged",
          targets=(STAGING_LEGACY,)),
    deny("unmanaged/in-scope-still-needs-grant", "USTAGE", "logs", unmanaged_miss("staging-legacy"),
         targets=(STAGING_LEGACY,)),
    # Only containers can be unmanaged.
    allow("unmanaged/image-is-never-unmanaged", "UVIEW", "inspect", "viewer",
          targets=(Target("", "busybox:latest", kind="image", managed=False),)),
    # --- protected containers: read, never changed ---------------------------------------------------------
    deny("protected/admin-stop", "UADMIN", "stop", protected("vault"), targets=(VAULT,)),
    deny("protected/lead-rm", "ULEAD", "rm", protected("vault"), targets=(VAULT,)),
    deny("protected/operator-one-of-two", "UOPS", "restart", protected("vault"), targets=(WEB, VAULT)),
    deny("protected/janitor-rm-unmanaged", "UJAN", "rm", protected("old-vault"), targets=(LEGACY_VAULT,)),
    deny("protected/admin-start", "UADMIN", "start", protected("vault"), targets=(VAULT,)),
    allow("protected/viewer-inspect", "UVIEW", "inspect", "viewer", targets=(VAULT,)),
    allow("protected/viewer-logs", "UVIEW", "logs", "viewer", targets=(VAULT,)),
    allow("protected/admin-stats", "UADMIN", "stats", "admin", targets=(VAULT, WEB)),
    allow("protected/read-unmanaged-protected", "UVIEW", "logs", "viewer", variant="read_unmanaged",
          targets=(LEGACY_VAULT,)),
    deny("protected/readable-but-unmanaged", "UVIEW", "logs", unmanaged_miss("old-vault"),
         targets=(LEGACY_VAULT,)),
    # --- scope globs ----------------------------------------------------------------------------------------
    allow("scope/containers-match", "USTAGE", "stop", "operator", targets=(STAGING_A,)),
    deny("scope/containers-miss", "USTAGE", "stop", scope_miss("web", "staging-*"), targets=(WEB,)),
    allow("scope/all-targets-match", "USTAGE", "stop", "operator", targets=(STAGING_A, STAGING_B)),
    deny("scope/one-target-misses", "USTAGE", "stop", scope_miss("web", "staging-*"),
         not_says=("staging-a`",), targets=(STAGING_A, WEB)),
    deny("scope/glob-is-case-sensitive", "USTAGE", "stop", scope_miss("Staging-A", "staging-*"),
         targets=(Target("Staging-A", "acme/api:2"),)),
    deny("scope/glob-matches-the-whole-name", "USTAGE", "stop", scope_miss("old-staging-a", "staging-*"),
         targets=(Target("old-staging-a", "acme/api:2"),)),
    allow("scope/no-targets-nothing-to-cover", "USTAGE", "ps", "operator"),
    allow("scope/images-match", "UACME", "stop", "operator", targets=(WEB,)),
    deny("scope/images-miss", "UACME", "stop", image_miss("busybox:1.36", "acme/*"), targets=(STAGING_B,)),
    allow("scope/images-star-crosses-slash", "UACME", "stop", "operator",
          targets=(Target("deep", "acme/team/app:1"),)),
    deny("scope/images-other-registry", "UACME", "stop", image_miss("docker.io/acme/app", "acme/*"),
         targets=(Target("reg", "docker.io/acme/app"),)),
    deny("scope/images-prefix-is-not-a-match", "UACME", "stop", image_miss("acmecorp/app", "acme/*"),
         targets=(Target("corp", "acmecorp/app"),)),
    allow("scope/both-globs-match", "UBOTH", "stop", "operator", targets=(STAGING_A,)),
    deny("scope/both-globs-image-misses", "UBOTH", "stop", image_miss("busybox:1.36", "acme/*"),
         targets=(STAGING_B,)),
    deny("scope/both-globs-name-misses", "UBOTH", "stop", scope_miss("web", "staging-*"), targets=(WEB,)),
    allow("scope/image-target-in-images-scope", "UACME", "inspect", "operator", targets=(IMG_ACME,)),
    deny("scope/image-target-outside-images-scope", "UACME", "inspect",
         image_miss("busybox:latest", "acme/*"), targets=(IMG_BUSYBOX,)),
    # containers globs are about container names; an image has none (scopes.uncovered skips them).
    allow("scope/containers-globs-do-not-apply-to-images", "USTAGE", "inspect", "operator",
          targets=(IMG_BUSYBOX,)),
    allow("scope/new-container-named-in-scope", "USTAGE", "run", "operator", targets=(NEW_STAGING_BUSYBOX,)),
    deny("scope/new-container-named-out-of-scope", "USTAGE", "run", scope_miss("web", "staging-*"),
         targets=(NEW_WEB,)),
    deny("scope/new-container-unnamed", "USTAGE", "run", "give `--name` matching staging-*",
         targets=(NEW_UNNAMED_ACME,)),
    deny("scope/new-container-image-out-of-scope", "UACME", "run", image_miss("busybox", "acme/*"),
         targets=(NEW_WEB,)),
    allow("scope/new-container-unnamed-images-only", "UACME", "run", "operator", targets=(NEW_UNNAMED_ACME,)),
    allow("scope/new-container-both-globs", "UBOTH", "run", "operator", targets=(NEW_STAGING_ACME,)),
    deny("scope/new-container-both-globs-image-misses", "UBOTH", "run", image_miss("busybox", "acme/*"),
         targets=(NEW_STAGING_BUSYBOX,)),
    allow("scope/star-role-in-scope", "USTARDEV", "rm", "scoped-star", targets=(DEV_A,)),
    deny("scope/star-role-out-of-scope", "USTARDEV", "rm", scope_miss("web", "dev-*"), targets=(WEB,)),
    # --- several targets: ONE binding must cover all of them -----------------------------------------------
    deny("multi/two-bindings-split-the-targets", "USPLIT", "stop", scope_miss("prod-b", "staging-*"),
         scope_miss("staging-a", "prod-*"), targets=(STAGING_A, PROD_B)),
    allow("multi/first-binding-covers-all", "USPLIT", "stop", "operator", targets=(STAGING_A, STAGING_B)),
    allow("multi/second-binding-covers-all", "USPLIT", "stop", "operator", targets=(PROD_B,)),
    allow("multi/scoped-binding-first-in-config-order", "UMIX", "stop", "releaser", targets=(STAGING_A,)),
    allow("multi/unscoped-binding-covers-the-rest", "UMIX", "stop", "operator", targets=(STAGING_A, WEB)),
)


# --- the role × verb × channel grid, from each verb's default role --------------------------------------

# What each built-in role holds: operator and deployer each inherit viewer; admin allows "*".
HOLDS = {"viewer": {"viewer"}, "operator": {"operator", "viewer"}, "deployer": {"deployer", "viewer"},
         "admin": {"viewer", "operator", "deployer", "admin"}}
# (user, groups) → the one built-in role they hold in each channel (None: no role there).
GRID_USERS: dict[tuple[str, tuple[str, ...]], dict[str, str | None]] = {
    ("USTRANGER", ()): {"CDEV": None, "COPS": None},
    ("UVIEW", ()): {"CDEV": "viewer", "COPS": "viewer"},
    ("UOPS", ()): {"CDEV": "operator", "COPS": "operator"},
    ("UADMIN", ()): {"CDEV": "admin", "COPS": "admin"},
    ("UBUILTDEP", ()): {"CDEV": "deployer", "COPS": "deployer"},
    ("UCHAN", ()): {"CDEV": None, "COPS": "operator"},
    ("UMEMBER", ("SVIEW",)): {"CDEV": "viewer", "COPS": "viewer"},
    ("UMEMBER", ("SOPS",)): {"CDEV": "operator", "COPS": None},
}


def grid_rows() -> Iterator[Row]:
    """Every verb for every built-in role (and none) in two channels, no targets: allowed iff the role is
    the verb's default role or holds it (operator and deployer inherit viewer, admin allows "*", "everyone"
    is open)."""
    for (user, groups), by_channel in GRID_USERS.items():
        for channel, role in by_channel.items():
            for verb, default in CATALOG.items():
                rid = f"grid/{user}{''.join('+' + g for g in groups)}/{channel}/{verb}"
                if default == "everyone" or (role is not None and default in HOLDS[role]):
                    by = (role or "") if default != "everyone" else ""
                    yield allow(rid, user, verb, by, channel=channel, groups=groups)
                elif role is None:
                    yield deny(rid, user, verb, NO_ROLE, channel=channel, groups=groups)
                else:
                    yield deny(rid, user, verb, f"`{verb}` needs a role that allows it",
                               f"you have {role} in this channel", channel=channel, groups=groups)


ROWS = (*HAND_ROWS, *grid_rows())


def test_row_ids_are_unique() -> None:
    ids = [r.id for r in ROWS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_matrix(row: Row) -> None:
    d = authorize(policy(row.variant), user_id=row.user, user_groups=row.groups, channel_id=row.channel,
                  verb=row.verb, needs=row.needs, targets=row.targets)
    assert (d.verb, d.user_id, d.channel_id) == (row.verb, row.user, row.channel)
    assert d.allowed is row.allowed, d.reason
    if row.allowed:
        assert d.reason.startswith("allowed: ")
        if CATALOG[row.verb] == "everyone":
            assert f"`{row.verb}`" in d.reason and "anyone" in d.reason
        else:
            assert f"allowed: {row.by} allows `{row.verb}`" == d.reason
    else:
        assert d.reason.startswith("not allowed: ")
        assert row.says, "a denial row must say what the reason names"
    for part in row.says:
        assert part in d.reason
    for part in row.not_says:
        assert part not in d.reason


def test_the_grid_covers_every_verb_and_every_built_in_role() -> None:
    grid = [r for r in ROWS if r.id.startswith("grid/")]
    assert {r.verb for r in grid} == set(CATALOG)
    held = {role for by_channel in GRID_USERS.values() for role in by_channel.values()}
    assert held == {None, "viewer", "operator", "deployer", "admin"}
    assert {r.allowed for r in grid} == {True, False}


def test_a_denial_with_several_bindings_lists_each() -> None:
    d = authorize(policy("base"), user_id="USPLIT", user_groups=(), channel_id="CANY", verb="stop",
                  targets=(STAGING_A, PROD_B))
    lines = d.reason.removeprefix("not allowed: ").split("\n")
    assert len(lines) == 2
    assert all("operator" in line for line in lines)  # one line per binding that allows the verb
    assert scope_miss("prod-b", "staging-*") in lines[0] and scope_miss("staging-a", "prod-*") in lines[1]
