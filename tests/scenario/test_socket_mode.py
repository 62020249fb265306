"""Socket Mode end to end: the real `dockbolt bot` process with SLACK_APP_TOKEN set calls
apps.connections.open on the stand-in, connects to the websocket it names, and gets every slash command
and click as an envelope there; its acks come back over the same socket. Jobs run on real workers.

No timing claims: each wait has a guard only so that a broken bot fails instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from bot.messages import accepted_job_id, already_received
from dockbolt.console.slack_standin import Message, SlackStandIn
from dockbolt.console.standin.socket_messages import slash_command
from dockbolt.core.contract import JobStatus
from dockbolt.core.jobstore import JobStore
from tests.support.pipeline import CHANNEL, children, gone
from tests.support.socket_bot import (
    CONNECT_GUARD,
    SocketBot,
    app_token,
    require_docker_engine,
    start_socket_bot,
)

pytestmark = pytest.mark.scenario

ACK_DEADLINE = 3.0  # Slack's: an ack later than this is an error shown to the user


@pytest.fixture
def bot(socket_bot: SocketBot) -> SocketBot:
    """`dockbolt bot` in Socket Mode, connected to the stand-in (connection 1 open)."""
    return socket_bot


@pytest.fixture
def worker(bot: SocketBot) -> None:
    """A real worker on the real Docker engine."""
    require_docker_engine()
    bot.start_worker()


def socket_job(bot: SocketBot, response_url: str) -> str:
    """The job recorded (before the quiet ack) for the command sent with ``response_url``."""
    found = [r.request.job_id for r in JobStore(bot.redis).recent_for_user("UOPERATOR", 50)
             if r.request.response_url == response_url]
    assert len(found) == 1, found
    return found[0]


def done_card(bot: SocketBot, job_id: str) -> Message:
    """Wait until the job's card says it is done."""
    def card() -> Message | None:
        found = bot.standin.find_card(job_id)
        return found if found is not None and found.status == JobStatus.DONE else None

    return bot.standin.wait_for(card, timeout=CONNECT_GUARD)


def test_slash_command_over_the_socket_is_acked_and_its_job_done(bot: SocketBot, worker: None) -> None:
    url = bot.standin.new_response_url()
    ack = bot.socket.slash_command("ps -a", user_id="UOPERATOR", channel_id=CHANNEL, response_url=url)
    assert ack.kind == "slash_commands" and ack.connection == 1
    assert ack.text == "" and accepted_job_id(ack.payload) is None, ack.payload  # quiet: the card says it
    job_id = socket_job(bot, url)
    card = done_card(bot, job_id)
    assert card.channel == CHANNEL and "<@UOPERATOR>" in card.text
    bot.standin.wait_for(lambda: bot.standin.thread(CHANNEL, card.ts) or None, timeout=CONNECT_GUARD)
    (opened,) = bot.standin.calls_to("apps.connections.open")
    assert opened.error is None  # the xapp- token opened the socket; nothing else came over HTTP


def test_a_refused_command_is_acked_with_the_reason_and_runs_nothing(bot: SocketBot) -> None:
    ack = bot.socket.slash_command("stop web", user_id="UVIEWER", channel_id=CHANNEL)
    assert "not allowed" in ack.text and "viewer" in ack.text
    assert accepted_job_id(ack.payload) is None
    assert bot.standin.messages() == []


def test_a_redelivered_envelope_is_answered_but_not_run_again(bot: SocketBot) -> None:
    # Slack redelivers an envelope it got no ack for: the same payload (same trigger_id), a new envelope.
    payload = slash_command("whoami", user_id="UVIEWER", channel_id=CHANNEL)
    first = bot.socket.deliver("slash_commands", payload, accepts_response_payload=True)
    again = bot.socket.deliver("slash_commands", payload, accepts_response_payload=True)
    assert "UVIEWER" in first.text and "viewer" in first.text
    assert again.text == already_received()


@pytest.fixture
def card(bot: SocketBot, worker: None) -> Message:
    """A job card the bot posted for a command that came over the socket."""
    url = bot.standin.new_response_url()
    ack = bot.socket.slash_command("ps", user_id="UOPERATOR", channel_id=CHANNEL, response_url=url)
    assert ack.text == "", ack.payload
    return done_card(bot, socket_job(bot, url))


def test_a_button_click_over_the_socket_is_acked_and_changes_nothing(bot: SocketBot, card: Message) -> None:
    # The bot's messages have no buttons yet (README, Known gaps): a click on one it does not know is
    # acked (or Slack would show the user an error) and does nothing.
    before = bot.standin.messages()
    ack = bot.socket.button(action_id="cancel", value=str(card.job_id), user_id="UOPERATOR",
                            channel_id=CHANNEL, message_ts=card.ts, timeout=ACK_DEADLINE)
    assert ack.kind == "interactive"
    assert bot.standin.messages() == before


def test_disconnect_makes_the_bot_reconnect_and_commands_still_work(bot: SocketBot) -> None:
    first = bot.socket.disconnect("refresh_requested")
    assert first == 1
    bot.wait_connected(2)  # apps.connections.open again, a new websocket…
    bot.socket.wait_closed(1, timeout=CONNECT_GUARD)  # …and the old one closed by the bot itself
    assert [c.error for c in bot.standin.calls_to("apps.connections.open")] == [None, None]
    ack = bot.socket.slash_command("whoami", user_id="UOPERATOR", channel_id=CHANNEL)
    assert ack.connection == 2 and "UOPERATOR" in ack.text and "operator" in ack.text


def test_a_dropped_connection_is_opened_again(bot: SocketBot) -> None:
    bot.socket.drop()  # Slack restarting: a close frame, no notice
    bot.wait_connected(2)
    ack = bot.socket.slash_command("whoami", user_id="UADMIN", channel_id=CHANNEL)
    assert ack.connection == 2 and "admin" in ack.text


def test_sigterm_closes_the_socket_and_exits_cleanly(bot: SocketBot) -> None:
    assert bot.stop_bot() == 0
    bot.socket.wait_closed(1, timeout=CONNECT_GUARD)
    assert "stopped" in bot.log()


def test_a_wrong_app_token_is_refused(redis_url: str, tmp_path: Path) -> None:
    b = start_socket_bot(redis_url, tmp_path, bot_app_token=app_token())
    try:
        code = b.proc.wait(timeout=CONNECT_GUARD)
    finally:
        b.close()
    assert code == 2
    assert [c.error for c in b.standin.calls_to("apps.connections.open")] == ["invalid_auth"]
    assert b.socket.links == [] and "Slack refused SLACK_APP_TOKEN: invalid_auth" in b.log()
    assert "Traceback" not in b.log()  # one clear line, as `dockbolt check` would say it


def test_dockbolt_up_with_slack_tokens_runs_the_bot_in_socket_mode(redis_url: str, tmp_path: Path) -> None:
    require_docker_engine()  # `up` checks the engine before it starts its worker and watcher
    up = start_socket_bot(redis_url, tmp_path, command="up")
    started: list[int] = []
    try:
        up.wait_connected(1)
        started += children(up.proc.pid)  # its worker and watcher
        assert len(started) == 2, up.log()
        ack = up.socket.slash_command("whoami", user_id="UADMIN", channel_id=CHANNEL)
        assert "UADMIN" in ack.text and "admin" in ack.text
        assert up.stop_bot() == 0
        assert all(gone(pid) for pid in started), "SIGTERM to `up` stops its worker and watcher too"
    finally:
        up.close()
        for pid in started:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)


def test_apps_connections_open_takes_only_the_app_token() -> None:
    token = app_token()
    with SlackStandIn(token="xoxb-standin", app_token=token) as standin:
        client = WebClient(base_url=standin.base_url)
        url = client.apps_connections_open(app_token=token)["url"]
        assert str(url).startswith(f"ws://127.0.0.1:{urlsplit(str(url)).port}/link/?ticket=")
        for wrong, error in ((app_token(), "invalid_auth"), ("xoxb-standin", "not_allowed_token_type")):
            with pytest.raises(SlackApiError) as refused:
                client.apps_connections_open(app_token=wrong)
            assert refused.value.response["error"] == error
    with SlackStandIn(token="xoxb-standin") as no_socket_mode, pytest.raises(SlackApiError) as refused:
        WebClient(base_url=no_socket_mode.base_url).apps_connections_open(app_token=token)
    assert refused.value.response["error"] == "invalid_auth"


def test_a_url_opens_one_connection_which_starts_with_hello() -> None:
    token = app_token()
    with SlackStandIn(token="xoxb-standin", app_token=token) as standin:
        url = str(WebClient(base_url=standin.base_url).apps_connections_open(app_token=token)["url"])
        with connect(url) as ws:
            hello = json.loads(ws.recv(timeout=CONNECT_GUARD))
            assert hello["type"] == "hello" and hello["num_connections"] == 1
            with pytest.raises(InvalidStatus) as again:
                connect(url)
            assert again.value.response.status_code == 401
        assert [link.number for link in standin.socket_mode.links] == [1]
