"""The bot in the foreground (`dockbolt bot`, and `dockbolt up` with Slack tokens).

Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP mode (waitress) on --host/--port. SIGTERM or
SIGINT stops it gracefully: no new requests, the ones being handled finish (up to the server's drain
time), then the reaper and the deliverer stop. Nothing accepted is lost even without that (a SIGKILL):
every accepted job, its card and its reports are in Redis before the ack, for any deliverer to send.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError

from bot.server import HttpServer, make_wsgi
from dockbolt.cli.wiring import build_bot, load_bot_config, redis_from
from dockbolt.core.settings import Settings

log = logging.getLogger(__name__)


def run_bot(settings: Settings, *, host: str, port: int) -> int:
    """Run the bot in the foreground until interrupted."""
    config = load_bot_config(settings)
    if not settings.slack_bot_token:
        print("dockbolt bot: SLACK_BOT_TOKEN is not set (try `dockbolt up` for the local console)",
              file=sys.stderr)
        return 2
    if not settings.socket_mode and not settings.slack_signing_secret:
        print("dockbolt bot: HTTP mode needs SLACK_SIGNING_SECRET (or set SLACK_APP_TOKEN for Socket Mode)",
              file=sys.stderr)
        return 2
    try:
        redis_from(settings).ping()
    except RedisError as exc:
        print(f"dockbolt bot: Redis unreachable ({exc}): start redis-server or set REDIS_URL",
              file=sys.stderr)
        return 2
    try:
        rt = build_bot(settings, config)  # Bolt asks Slack who the bot token is (auth.test)
    except SlackApiError as exc:
        return _refused("SLACK_BOT_TOKEN", exc)
    rt.start_background()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        if settings.socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            log.info("connecting to Slack over Socket Mode")
            handler = SocketModeHandler(rt.app, settings.slack_app_token.value)
            # Slack comes over the socket; CI's webhook and /healthz still need an HTTP port.
            rt.server = HttpServer(make_wsgi(None, rt.redis, hook=rt.hook), host=host, port=port).start()
            log.info("serving /healthz and /hooks/deploy on http://%s:%d", host, rt.server.port)
            try:
                handler.connect()  # type: ignore[no-untyped-call]
            except SlackApiError as exc:
                return _refused("SLACK_APP_TOKEN", exc)
            _wait(stop)
            handler.close()  # type: ignore[no-untyped-call]
        else:
            rt.server = HttpServer(make_wsgi(rt.app, rt.redis, hook=rt.hook), host=host, port=port).start()
            log.info("serving Slack events on http://%s:%d/slack/events", host, rt.server.port)
            _wait(stop)
    finally:
        rt.close()
    log.info("stopped")
    return 0


def _refused(variable: str, exc: SlackApiError) -> int:
    print(f"dockbolt bot: Slack refused {variable}: {exc.response.get('error') or exc} (check the token; "
          "`dockbolt check` tests them)", file=sys.stderr)
    return 2


def _wait(stop: threading.Event) -> None:
    while not stop.wait(1.0):
        pass
    log.info("stopping: no new requests; finishing the ones in flight")
