"""The App Home tab: on ``app_home_opened`` (tab "home") the bot publishes a view of the viewer's roles,
their recent jobs and the Docker hosts — what `whoami`, `jobs` and `hosts` tell the same user, no more.

Home has no channel, so it is authorized as a channel no binding names: the roles that hold everywhere
(bindings without a channel list, and ``default_role``). Channel-bound roles are listed with their
channels, but only the everywhere roles decide whether the jobs and hosts sections are shown, exactly as
``authorize`` decides the verbs. The event is acked at once; the view is built and published after.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError
from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot import messages
from bot.usergroups import UserGroupCache
from dockbolt.core.config import Config
from dockbolt.core.hosts import HostRegistry, HostState
from dockbolt.core.jobstore import JobStore
from dockbolt.core.rbac import (
    Held,
    Policy,
    allowed_verbs,
    authorize,
    grants_of,
    referenced_groups,
    roles_for,
)

log = logging.getLogger(__name__)

MAX_JOBS = 10
MAX_BLOCKS = 100  # Slack's limit for a Home view
SECTION_TEXT = 2900  # a section's text may hold 3,000 characters; lines are packed into sections below it
GIB = 1024**3


@dataclass(frozen=True)
class HomeSources:
    """What the Home tab reads: the policy, the job store, the host registry, the command's name."""

    policy: Policy
    store: JobStore
    hosts: HostRegistry
    command: str = "/docker"
    clock: Callable[[], float] = time.time


def held_anywhere(policy: Policy, user_id: str, groups: frozenset[str]) -> list[tuple[Held, tuple[str, ...]]]:
    """Every role the user holds in some channel, with the channels it is bound to (() everywhere):
    bindings in config order, then ``default_role``."""
    out = [(Held(b.role, f"binding #{n} ({'users' if user_id in b.users else 'groups'})", b.containers,
                 b.images, b.hosts), tuple(sorted(b.channels)))
           for n, b in enumerate(policy.bindings, 1) if user_id in b.users or b.groups & groups]
    if policy.default_role:
        out.append((Held(policy.default_role, "default_role"), ()))
    return [(h, where) for h, where in out if h.role in policy.roles]


def _role_lines(policy: Policy, user_id: str, groups: frozenset[str]) -> list[str]:
    held = held_anywhere(policy, user_id, groups)
    if not held:  # as `whoami`: whom to ask, and the verbs open to everyone
        return [messages.home_no_roles(user_id), messages.home_may_run(allowed_verbs(policy, ()))]
    lines = [messages.home_role(
        h.role, h.how, where, [("containers", h.containers), ("images", h.images), ("hosts", h.hosts)],
        [v for v in allowed_verbs(policy, (h.role,)) if v not in policy.open_verbs],
        sorted(grants_of(policy, h.role))) for h, where in held]
    everywhere = roles_for(policy, user_id=user_id, user_groups=groups, channel_id="")
    return [*lines, messages.home_may_run(allowed_verbs(policy, everywhere))]


def _job_lines(src: HomeSources, user_id: str) -> list[str]:
    records = sorted(src.store.recent_for_user(user_id, limit=MAX_JOBS),
                     key=lambda r: r.request.queued_at, reverse=True)
    now = src.clock()
    lines = [messages.home_job(r.request.job_id, r.request.command_text, str(r.status), r.request.host,
                               messages.ago(max(0.0, now - r.request.queued_at)), r.request.channel_id)
             for r in records[:MAX_JOBS]]
    return [messages.HOME_JOBS, *(lines or [messages.HOME_NO_JOBS])]


def _host_line(h: HostState) -> str:
    i = h.info
    load = (f"{i.running}/{i.containers} running · {i.cpus} CPUs · {i.memory / GIB:.1f}GiB"
            f" · engine {i.engine or '?'}")
    return messages.home_host(i.name, h.workers, load, messages.ago(h.age))


def _sections(lines: list[str]) -> list[Block]:
    """``lines`` packed into as few sections as fit Slack's per-section limit."""
    chunks: list[str] = []
    for line in lines:
        if chunks and len(chunks[-1]) + 1 + len(line) <= SECTION_TEXT:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line[:SECTION_TEXT])
    return [SectionBlock(text=MarkdownTextObject(text=c)) for c in chunks]


def _section(title: str, read: Callable[[], list[str]], what: str) -> list[Block]:
    """A divider, then ``read()``'s lines (its own title first), or ``title`` and why it is unavailable."""
    try:
        lines = read()
    except RedisError as exc:
        log.warning("home tab: %s not read: %s", what, exc)
        lines = [title, messages.home_unavailable(what)]
    return [DividerBlock(), *_sections(lines)]


def build_home(src: HomeSources, user_id: str, groups: frozenset[str]) -> View:
    """The Home view of ``user_id`` (member of ``groups``), authorized as the verbs are outside a channel."""
    policy = src.policy
    when = datetime.fromtimestamp(src.clock(), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    blocks: list[Block] = [
        HeaderBlock(text=messages.HOME_HEADER),
        ContextBlock(elements=[MarkdownTextObject(text=messages.home_intro(user_id, src.command, when))]),
        DividerBlock(), *_sections([messages.HOME_ROLES, *_role_lines(policy, user_id, groups)])]
    reads = {"jobs": (messages.HOME_JOBS, lambda: _job_lines(src, user_id), "your jobs"),
             "hosts": (messages.HOME_HOSTS, lambda: _host_lines(src), "the hosts")}
    for verb, (title, read, what) in reads.items():
        if authorize(policy, user_id=user_id, user_groups=groups, channel_id="", verb=verb).allowed:
            blocks += _section(title, read, what)
        else:  # as the verb would answer: nothing of what it shows
            blocks += [DividerBlock(), *_sections([title, messages.home_not_allowed(verb)])]
    return View(type="home", blocks=blocks[:MAX_BLOCKS])


def _host_lines(src: HomeSources) -> list[str]:
    listed = src.hosts.all()
    lines = [_host_line(h) for h in listed] or [messages.HOME_NO_HOSTS]
    return [messages.HOME_HOSTS, *lines]


def register_home(app: App, config: Config, groups: UserGroupCache, store: JobStore) -> None:
    """Publish the Home tab whenever a user opens it (the event is acked first, the view published after)."""
    src = HomeSources(policy=config.policy, store=store, hosts=HostRegistry(store.redis),
                      command=config.slack.command)
    referenced = referenced_groups(config.policy)

    def ack_event(ack: Ack) -> None:
        ack()

    def publish(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages or About tab: nothing to publish
        user_id = str(event.get("user") or context.user_id or "")
        if not user_id:
            return
        try:
            mine = groups.groups_of(user_id, referenced) if referenced else frozenset()
            client.views_publish(user_id=user_id, view=build_home(src, user_id, frozenset(mine)))
        except SlackApiError as exc:
            log.warning("home tab of %s not published: %s", user_id, exc.response.get("error"))

    app.event("app_home_opened")(ack=ack_event, lazy=[publish])
