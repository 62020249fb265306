"""The default config file `dockbolt up` writes on first start: every built-in role described, the
starting user admin, the [policy] guardrails and [build] listed as comments."""

from __future__ import annotations

import json

from dockbolt.core.config import _ID_SHAPES, CHANNEL_ID_RE, USER_ID_RE, Catalog, default_allows

_DEFAULT_CONFIG = """\
# dockbolt configuration (TOML). Written on first start; edit freely, then restart dockbolt.
# Every problem in this file is reported at start-up, one line each, and dockbolt refuses to start.

[slack]
command = "/docker"            # the slash command this bot answers (as registered in the Slack app)
notify_channel = {notify}{pad}# alerts and announcements (a channel id, e.g. "C0123456"); "" = none
delivery_ttl = "1h"            # how long a report on a job is retried while Slack does not take it

[rbac]
# Role for users that no binding names. "" = none: such users may do nothing (deny by default).
default_role = ""

# Built-in roles (each verb says which one it belongs to, so new verbs join them on upgrade):
#   anyone, no role needed: {everyone}
#   viewer:   {viewer}
#   operator: inherits viewer; {operator}
#   deployer: inherits viewer; {deployer}
#   admin:    every verb ("*")
# Define a role of the same name to replace a built-in one, or your own roles next to them. A role lists
# the verbs it allows ("*" = every verb), may inherit other roles' verbs and grants, and may hold grants:
#   privileged     --privileged, --cap-add, --device, --pid/--ipc/--userns host, --security-opt
#   host-mounts    bind mounts of host paths, only under [policy] allowed_host_paths
#   docker-socket  mounting the Docker socket (root on the host: think twice)
#   host-network   --network host / container:NAME
#   root-user      -u 0 / -u root
#   public-ports   -p on an address other than [policy] publish_address
#   unmanaged      acting on containers dockbolt did not create
# No role holds a grant unless this file gives it, admin included:
# [rbac.roles.lead]
# inherits = ["operator"]
# grants = ["host-mounts"]

# A binding grants a role to Slack user ids (U…/W…) and/or user-group ids (S…), optionally only in
# some channels (C…/G…/D…) and only on some containers/images (globs). A user holds every role whose
# bindings match, plus default_role.
[[rbac.bindings]]
role = "admin"
users = [{admin}]

# [[rbac.bindings]]
# role = "viewer"
# groups = ["S0456DEF"]          # user groups need a paid Slack plan; otherwise only users apply
# channels = ["C0123456"]        # optional: the binding holds only in these channels
# containers = ["staging-*"]     # optional: only containers whose name matches
# images = ["registry.local/*"]  # optional: only containers (and `run`s) of matching images

# What `run` may create, and limits. The values shown are the defaults.
[policy]
# allowed_host_paths = []        # host directories that may be bind-mounted (with host-mounts)
# allowed_images = ["*"]         # image globs `run` may use
# memory = "512m"                # applied when `run` gives no -m ("none": no limit)
# pids_limit = 512               # applied when `run` gives no --pids-limit ("none": no limit)
# publish_address = "127.0.0.1"  # where -p HOST:CTR binds; other addresses need public-ports
# no_new_privileges = true
# read_unmanaged = false         # let logs/inspect/stats read containers dockbolt does not manage
# rate = "20/minute"             # commands per user
# max_queued_per_user = 5        # one user's jobs waiting or running at once
# redact = []                    # extra regexes masked in everything posted and logged
# job_ttl = "1h"                 # a queued job older than this is refused by the worker

# Verbs that ask their caller first (a private "are you sure?" with Yes / Cancel): "always", "many" (only
# when the command names more than one container) or "never".
[policy.confirm]
rm = "always"
stop = "many"

# Two-person rule: a matching command is not run when typed; an approval request with Approve / Deny is
# posted in the channel, and the command runs (as its requester) once an approver who is not the
# requester, and whose own roles allow the verb, clicks Approve.
# [[policy.approvals]]
# verbs = ["rm", "deploy"]
# containers = ["prod-*"]        # optional: only commands on these containers (apps = ["api"] for deploy)
# approvers = {{ groups = ["S0456DEF"], users = ["U0123ABC"] }}
# expires = "15m"

# Where `build` may take its context from (checked by the worker). Nothing is allowed until listed.
[build]
# context_roots = []             # absolute directories: contexts and file:// repositories under them
# allow_git_hosts = []           # hosts a git URL (https, ssh, git) may name

# Apps that `deploy NAME` builds and runs (see the README: Deploying apps). For example:
# [apps.web]
# context = "https://git.example.com/acme/web.git"  # git URL or a directory under context_roots
# image = "acme/web"                     # built images are tagged acme/web:REF
# container = "web"                      # the container a deploy replaces (default: the app name)
# channel = "C0DEPLOYS"                  # deployment announcements (default: [slack] notify_channel)
# run = {{ ports = ["8080:80"], memory = "128m", restart = "unless-stopped" }}  # `run`'s options
# health = {{ cmd = "wget -q -O- http://127.0.0.1/healthz", timeout = "60s" }}  # inside the new container
# webhook_secret_env = "WEB_DEPLOY_SECRET"  # env var holding the secret CI signs POST /hooks/deploy with

# The watcher (`dockbolt watch`, started by `dockbolt up`): stats history and container alerts. Defaults:
[monitor]
# interval = "10s"               # every running container's stats are sampled this often
# raw_retention = "24h"          # every sample kept this long, then 1-minute averages…
# minute_retention = "7d"        # …this long, then 15-minute averages…
# quarter_retention = "90d"      # …this long
# cooldown = "15m"               # no second alert for the same container and condition within this
# restart_loop_count = 3         # this many exits…
# restart_loop_window = "5m"     # …within this is one "restart loop" alert, updated in place
# log_lines = 10                 # last log lines quoted by an "exited" alert
# Alerts go to the first route that matches the container, else to [slack] notify_channel:
# [[monitor.routes]]
# channel = "C0PAYMENTS"
# containers = ["pay-*"]         # optional name globs; images = [...] and labels = {{ team = "pay" }} too
"""


def default_config_toml(admin_user_id: str, catalog: Catalog, notify_channel: str = "") -> str:
    """Return a commented default config in which ``admin_user_id`` is admin (built-in roles described)
    and alerts go to ``notify_channel``."""
    if not USER_ID_RE.match(admin_user_id):
        raise ValueError(f"{admin_user_id!r} is not {_ID_SHAPES['users'][1]}")
    if notify_channel and not CHANNEL_ID_RE.match(notify_channel):
        raise ValueError(f"{notify_channel!r} is not {_ID_SHAPES['channels'][1]}")
    notify = json.dumps(notify_channel)
    allows = default_allows(catalog)
    return _DEFAULT_CONFIG.format(
        everyone=" ".join(allows["everyone"]), viewer=" ".join(allows["viewer"]),
        operator=" ".join(allows["operator"]), deployer=" ".join(allows["deployer"]),
        admin=json.dumps(admin_user_id), notify=notify, pad=" " * max(1, 14 - len(notify)),
    )
