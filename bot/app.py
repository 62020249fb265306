"""Builds the Bolt app: one slash command, wired to the listener, the dispatcher and the job store."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from redis import Redis
from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.actions import ActionListener
from bot.commands import CommandListener
from bot.edge import Edge
from bot.enqueue import Dispatcher
from bot.home import register_home
from bot.metrics import AckTimer
from bot.usergroups import UserGroupCache
from dockbolt.core.audit import AuditLog
from dockbolt.core.buttons import ACTION_PREFIX
from dockbolt.core.config import Config
from dockbolt.core.jobstore import JobStore
from dockbolt.core.settings import Settings

log = logging.getLogger(__name__)
bolt_log = logging.getLogger("slack_bolt")


def create_app(settings: Settings, config: Config, redis: Redis, client: WebClient,
               deliver: Callable[[str], object] | None = None) -> App:
    """Return the Bolt app for HTTP or Socket Mode; calls auth.test once (token check)."""

    def fetch_members(group_id: str) -> list[str]:
        resp = client.usergroups_users_list(usergroup=group_id)
        users: list[object] = resp.get("users") or []
        return [str(u) for u in users]

    store = JobStore(redis)
    dispatcher = Dispatcher(client, redis, settings.job_secret, deliver=deliver)
    listener = CommandListener(config, UserGroupCache(fetch_members), dispatcher, store, AuditLog(redis))
    edge = Edge(redis, config.policy.guardrails, store)
    # Bolt logs a refused request's whole body at INFO ("Invalid request signature detected … body: …");
    # its loggers copy this one's level, so a refusal is the one short line bot.server writes.
    bolt_log.setLevel(logging.WARNING)
    app = App(
        client=client,
        logger=bolt_log,
        signing_secret=settings.slack_signing_secret.value or None,
        # Socket Mode payloads arrive over an authenticated websocket and are not signed.
        request_verification_enabled=not settings.socket_mode,
        # Answer as soon as the ack listener returns (no 10 ms ack polling); slow work is in `lazy`.
        process_before_response=True,
    )
    app.use(AckTimer())  # first of ours: the ack latency includes the edge's refusals
    app.use(edge)  # after Bolt's own middleware: only verified requests reach it

    def dispatch(context: BoltContext, respond: Respond) -> None:
        with edge.admitted(context):
            listener.lazy(context, respond)

    app.command(config.slack.command)(ack=listener.ack, lazy=[dispatch])
    # The bot's buttons: a command run as the clicker, a confirmation, an approval (bot/actions.py).
    clicks = ActionListener(listener, listener.approvals, edge)
    app.action(re.compile(f"^{ACTION_PREFIX}"))(ack=clicks.ack, lazy=[clicks.lazy])

    def unknown_action(ack: Ack, body: dict[str, Any]) -> None:
        # A click on anything else (another app's block, a link button) is acked so Slack shows no
        # error, and changes nothing.
        ack()
        actions = body.get("actions") or [{}]
        log.info("button %r clicked: this bot has no such action; nothing done", actions[0].get("action_id"))

    app.action(re.compile(".*"))(unknown_action)
    register_home(app, config, listener.groups, store)
    return app
