"""Builds the Bolt app: one slash command, wired to the listener, the dispatcher and the job store."""

from __future__ import annotations

import logging

from redis import Redis
from slack_bolt import App
from slack_sdk import WebClient

from bot.commands import CommandListener
from bot.enqueue import Dispatcher
from bot.usergroups import UserGroupCache
from dockbolt.core.config import Config
from dockbolt.core.jobstore import JobStore
from dockbolt.core.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings, config: Config, redis: Redis, client: WebClient) -> App:
    """Return the Bolt app for HTTP or Socket Mode; calls auth.test once (token check)."""

    def fetch_members(group_id: str) -> list[str]:
        resp = client.usergroups_users_list(usergroup=group_id)
        users: list[object] = resp.get("users") or []
        return [str(u) for u in users]

    listener = CommandListener(config, UserGroupCache(fetch_members), Dispatcher(client, redis),
                               JobStore(redis))
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret.value or None,
        # Socket Mode payloads arrive over an authenticated websocket and are not signed.
        request_verification_enabled=not settings.socket_mode,
        # Answer as soon as the ack listener returns (no 10 ms ack polling); slow work is in `lazy`.
        process_before_response=True,
    )
    app.command(config.slack.command)(ack=listener.ack, lazy=[listener.lazy])
    return app
