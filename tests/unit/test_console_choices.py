"""Buttons and menus in the console: numbered choices, and the block_actions click Slack would send."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_bolt import Ack, App, BoltRequest
from slack_bolt.request.payload_utils import is_block_actions, to_action
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from dockbolt.console.block_actions import ClickSource, block_actions
from dockbolt.console.choices import Choices, confirm_question
from dockbolt.console.clicking import Clicker
from dockbolt.console.render import body
from dockbolt.console.repl import run_console
from dockbolt.console.slack_standin import Message, SlackStandIn
from dockbolt.console.slash_client import SlashClient
from dockbolt.console.standin.response_urls import ResponseUrls
from dockbolt.console.standin.state import StandInState
from dockbolt.console.view import ConsoleView, Printer
from dockbolt.core.card import build_card
from dockbolt.core.contract import JobStatus
from tests.support.fake_endpoint import serving

SECRET = "choices-test-secret"
CHANNEL = "CCONSOLE"
USER = "UME"


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def button(action_id: str, label: str, value: str, **extra: Any) -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": plain(label), "value": value, **extra}


STOP_CONFIRM = {"title": plain("Stop web?"), "text": {"type": "mrkdwn", "text": "The container *web* stops."},
                "confirm": plain("Stop"), "deny": plain("Cancel")}
JOB_BUTTONS = {"type": "actions", "block_id": "dockbolt_job:4f2a", "elements": [
    button("dockbolt_logs", "Logs", "web"),
    button("dockbolt_restart", "Restart", "web", style="primary"),
    button("dockbolt_stop", "Stop", "web", style="danger", confirm=STOP_CONFIRM),
]}
GROUPED_MENU = {"type": "actions", "block_id": "dockbolt_ps", "elements": [{
    "type": "static_select", "action_id": "dockbolt_container", "placeholder": plain("Container action"),
    "option_groups": [
        {"label": plain("web"), "options": [{"text": plain("Logs"), "value": "logs:web"},
                                            {"text": plain("Restart"), "value": "restart:web"}]},
        {"label": plain("db"), "options": [{"text": plain("Logs"), "value": "logs:db"}]},
    ],
}]}
FLAT_MENU = {"type": "actions", "block_id": "dockbolt_host", "elements": [{
    "type": "static_select", "action_id": "dockbolt_host", "placeholder": plain("Host"),
    "options": [{"text": plain("local"), "value": "local"}, {"text": plain("edge-1"), "value": "edge-1"}],
}]}
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*web* is up"}}


def reply(ts: str = "1764170000.000300", blocks: list[Any] | None = None) -> Message:
    return Message(channel=CHANNEL, ts=ts, thread_ts="1764170000.000100", text="web is up",
                   blocks=blocks or [SECTION, JOB_BUTTONS, GROUPED_MENU])


# -- numbering -------------------------------------------------------------------------------------


def test_buttons_and_menu_options_get_numbers_in_order() -> None:
    choices = Choices()
    message = reply()
    shown = body(message.text, message.blocks, lambda b: choices.line(b, ClickSource.of_message(message)))
    assert shown.splitlines() == [
        "*web* is up",
        "[1] Logs  [2] Restart  [3] Stop",
        "web: [4] Logs [5] Restart",
        "db: [6] Logs",
    ]
    assert [choices.get(n).label for n in range(1, 7)] == [  # type: ignore[union-attr]
        "Logs", "Restart", "Stop", "web: Logs", "web: Restart", "db: Logs"]
    assert choices.get(0) is None and choices.get(7) is None
    flat = Message(channel=CHANNEL, ts="1764170000.000400", text="", blocks=[FLAT_MENU])
    assert choices.line(FLAT_MENU, ClickSource.of_message(flat)) == "Host: [7] local [8] edge-1"


def test_an_edited_message_keeps_its_numbers_and_a_new_one_gets_new_ones() -> None:
    choices = Choices()
    first = reply()
    assert choices.line(JOB_BUTTONS, ClickSource.of_message(first)) == "[1] Logs  [2] Restart  [3] Stop"
    edited = Message(**{**first.__dict__, "text": "web restarted", "updates": 1})
    assert choices.line(JOB_BUTTONS, ClickSource.of_message(edited)) == "[1] Logs  [2] Restart  [3] Stop"
    assert choices.get(2).source.message["text"] == "web restarted"  # type: ignore[union-attr,index]
    other = reply(ts="1764170000.000500")
    assert choices.line(JOB_BUTTONS, ClickSource.of_message(other)) == "[4] Logs  [5] Restart  [6] Stop"
    assert choices.get(1).source.ts == first.ts  # type: ignore[union-attr]  # earlier ones stay pickable


def test_the_confirm_dialog_becomes_a_yes_no_question() -> None:
    choices = Choices()
    choices.line(JOB_BUTTONS, ClickSource.of_message(reply()))
    assert confirm_question(choices.get(1)) is None  # type: ignore[arg-type]
    assert confirm_question(choices.get(3)) == "Stop web?: The container *web* stops. [y/N]"  # type: ignore[arg-type]


# -- the payload -----------------------------------------------------------------------------------


def test_a_click_on_a_thread_reply_has_slacks_block_actions_shape() -> None:
    choices = Choices()
    message = reply()
    choices.line(JOB_BUTTONS, ClickSource.of_message(message))
    choice = choices.get(2)
    assert choice is not None
    payload = block_actions(action=choice.action, source=choice.source, user_id=USER,
                            response_url="http://127.0.0.1:1/response/abc", token="tok")
    assert payload["type"] == "block_actions" and is_block_actions(payload)
    assert payload["user"] == {"id": USER, "username": "ume", "name": "ume", "team_id": "T0LOCAL"}
    assert payload["team"] == {"id": "T0LOCAL", "domain": "dockbolt-local"}
    assert payload["api_app_id"] == "A0LOCAL" and payload["token"] == "tok" and payload["trigger_id"]
    assert payload["container"] == {"type": "message", "message_ts": message.ts, "channel_id": CHANNEL,
                                    "is_ephemeral": False, "thread_ts": message.thread_ts}
    assert payload["channel"] == {"id": CHANNEL, "name": "cconsole"}
    assert payload["message"]["ts"] == message.ts and payload["message"]["thread_ts"] == message.thread_ts
    assert payload["message"]["blocks"] == message.blocks and payload["message"]["bot_id"]
    assert payload["response_url"] == "http://127.0.0.1:1/response/abc"
    assert len(payload["actions"]) == 1
    action: dict[str, Any] = payload["actions"][0]
    assert to_action(payload) is payload["actions"][0]  # what Bolt routes on
    assert action == {"action_id": "dockbolt_restart", "block_id": "dockbolt_job:4f2a", "type": "button",
                      "text": plain("Restart"), "value": "web", "action_ts": action["action_ts"]}
    assert float(action["action_ts"]) > 0


def test_picking_a_menu_option_sends_the_selected_option() -> None:
    choices = Choices()
    choices.line(GROUPED_MENU, ClickSource.of_message(reply()))
    choice = choices.get(2)
    assert choice is not None
    payload = block_actions(action=choice.action, source=choice.source, user_id=USER, response_url="")
    [action] = payload["actions"]
    assert action["type"] == "static_select" and action["action_id"] == "dockbolt_container"
    assert action["selected_option"] == {"text": plain("Restart"), "value": "restart:web"}
    assert action["block_id"] == "dockbolt_ps" and "value" not in action


def test_a_click_on_an_ephemeral_message_has_no_message_object() -> None:
    source = ClickSource.of_answer(CHANNEL, "1764170000.000900", in_channel=False, text="", blocks=None)
    choices = Choices()
    choices.line(JOB_BUTTONS, source)
    payload = block_actions(action=choices.get(1).action, source=source, user_id=USER,  # type: ignore[union-attr]
                            response_url="")
    assert "message" not in payload
    assert payload["container"] == {"type": "message", "message_ts": "1764170000.000900",
                                    "channel_id": CHANNEL, "is_ephemeral": True}


# -- over HTTP -------------------------------------------------------------------------------------


@dataclass
class FakeBot:
    """Answers slash commands with buttons; records the clicks and answers them through response_url."""

    interactions: list[dict[str, Any]] = field(default_factory=list)
    raw: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    client: WebClient | None = None  # set for the "deploy" command, which acks nothing and posts a card
    jobs: list[threading.Thread] = field(default_factory=list)

    def handle(self, headers: dict[str, str], raw: bytes) -> tuple[int, bytes]:
        self.raw.append((headers, raw))
        if not SignatureVerifier(SECRET).is_valid(raw, headers.get("x-slack-request-timestamp", ""),
                                                  headers.get("x-slack-signature", "")):
            return 401, b"invalid request"
        form = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        if "payload" in form:
            payload = json.loads(form["payload"])
            self.interactions.append(payload)
            if payload["response_url"]:
                WebhookClient(payload["response_url"]).send(
                    text=f"you clicked {payload['actions'][0]['action_id']}",
                    blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "stopping *web*"}},
                            {"type": "actions", "elements": [button("dockbolt_undo", "Undo", "web")]}])
            return 200, b""
        if form["text"] == "deploy" and self.client is not None:
            self.jobs.append(threading.Thread(target=self.deploy, args=(self.client,)))
            self.jobs[-1].start()
            return 200, b""  # as the bot acks a job: nothing; its card (posted right after) says it all
        return 200, json.dumps({"response_type": "ephemeral", "text": "web",
                                "blocks": [SECTION, JOB_BUTTONS]}).encode()

    def deploy(self, client: WebClient) -> None:
        def card(status: JobStatus, extra: list[Any]) -> dict[str, Any]:
            c = build_card(job_id="d3e4", user_id=USER, command="/docker", command_text="deploy",
                           status=status)
            return {"text": c.text, "blocks": [*c.blocks, *extra], "metadata": c.metadata}

        time.sleep(0.02)
        ts = client.chat_postMessage(channel=CHANNEL, **card(JobStatus.RUNNING, []))["ts"]
        time.sleep(0.4)
        client.chat_update(channel=CHANNEL, ts=ts, **card(JobStatus.DONE, [JOB_BUTTONS]))


@pytest.fixture
def bot() -> Iterator[tuple[str, FakeBot]]:
    fake = FakeBot()
    with serving(lambda headers, raw: fake.handle(headers, raw)) as url:  # looked up per request
        yield url, fake


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(token="xoxb-choices-test") as s:
        yield s


def session(url: str, standin: SlackStandIn, text: str, settle: float = 0.05) -> list[str]:
    out = io.StringIO()
    run_console(bot_url=url, signing_secret=SECRET, standin=standin, user_id=USER, channel_id=CHANNEL,
                stdin=io.StringIO(text), stdout=out, settle=settle)
    return out.getvalue().splitlines()


def test_a_click_is_a_signed_form_post_that_bolt_verifies_and_routes(standin: SlackStandIn,
                                                                     bot: tuple[str, FakeBot]) -> None:
    url, fake = bot
    choices = Choices()
    choices.line(JOB_BUTTONS, ClickSource.of_message(reply()))
    choice = choices.get(1)
    assert choice is not None
    client = SlashClient(url, SECRET)
    payload = block_actions(action=choice.action, source=choice.source, user_id=USER, response_url="",
                            token=client.verification_token)
    assert client.send_interaction(payload).status == 200
    [(headers, raw)] = fake.raw
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert SignatureVerifier(SECRET).is_valid(raw, headers["x-slack-request-timestamp"],
                                              headers["x-slack-signature"])
    form = dict(parse_qsl(raw.decode()))
    assert list(form) == ["payload"] and json.loads(form["payload"]) == payload

    clicked: list[str] = []
    app = App(client=WebClient(token=standin.token, base_url=standin.base_url), signing_secret=SECRET,
              process_before_response=True)

    @app.action("dockbolt_logs")
    def on_logs(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        clicked.append(body["actions"][0]["value"])

    def dispatch(raw_body: bytes, signature: str) -> int:
        request_headers: dict[str, str | Sequence[str]] = {**headers, "x-slack-signature": signature}
        return app.dispatch(BoltRequest(body=raw_body.decode(), headers=request_headers)).status

    assert dispatch(raw, headers["x-slack-signature"]) == 200 and clicked == ["web"]
    assert dispatch(raw, "v0=" + "0" * 64) == 401 and clicked == ["web"]


def test_confirm_declined_sends_nothing_and_yes_sends_the_click(standin: SlackStandIn,
                                                                bot: tuple[str, FakeBot]) -> None:
    url, fake = bot
    lines = session(url, standin, "status web\n3\nn\n99\n3\ny\n4\n")
    assert "  (only you) [1] Logs  [2] Restart  [3] Stop" in lines
    assert "Stop web?: The container *web* stops. [y/N] n" in lines
    assert "  (not sent: [3] Stop)" in lines
    assert any("no choice [99]" in line for line in lines)
    assert "Stop web?: The container *web* stops. [y/N] y" in lines
    assert "  (clicked [3] Stop)" in lines
    assert "  (only you) [4] Undo" in lines  # the choices of the bot's answer through the response_url
    assert "  (clicked [4] Undo)" in lines
    assert [p["actions"][0]["action_id"] for p in fake.interactions] == ["dockbolt_stop", "dockbolt_undo"]
    stop = fake.interactions[0]
    assert stop["container"]["is_ephemeral"] is True and "message" not in stop
    assert stop["response_url"].startswith(standin.base_url.removesuffix("api/") + "response/")
    assert lines.index("  (not sent: [3] Stop)") < lines.index("  (clicked [3] Stop)")


def test_a_bad_signature_on_a_click_is_reported(standin: SlackStandIn, bot: tuple[str, FakeBot]) -> None:
    url, fake = bot
    out = io.StringIO()
    view = ConsoleView(Printer(out), channel_id=CHANNEL, user_id=USER)
    view.choices.line(JOB_BUTTONS, ClickSource.of_message(reply()))
    clicker = Clicker(SlashClient(url, "wrong-secret"), standin, view, Printer(out), user_id=USER, settle=0)
    assert clicker.click(1, lambda question: True) is False
    assert "  ! the bot answered HTTP 401 to [1] Logs: invalid request" in out.getvalue().splitlines()
    assert fake.interactions == []


def test_a_job_card_shows_its_choices_once_and_again_when_they_change(standin: SlackStandIn) -> None:
    out = io.StringIO()
    view = ConsoleView(Printer(out), channel_id=CHANNEL, user_id=USER)
    unsubscribe = standin.subscribe(view.on_event)
    client = WebClient(token=standin.token, base_url=standin.base_url)

    def card(status: JobStatus, buttons: dict[str, Any]) -> dict[str, Any]:
        c = build_card(job_id="4f2a", user_id=USER, command="/docker", command_text="run -d --name web nginx",
                       status=status)
        return {"text": c.text, "blocks": [*c.blocks, buttons], "metadata": c.metadata}

    try:
        ts = client.chat_postMessage(channel=CHANNEL, **card(JobStatus.RUNNING, JOB_BUTTONS))["ts"]
        client.chat_update(channel=CHANNEL, ts=ts, **card(JobStatus.RUNNING, JOB_BUTTONS))
        restarted = {"type": "actions", "elements": [button("dockbolt_logs", "Logs", "web"),
                                                     button("dockbolt_start", "Start", "web")]}
        client.chat_update(channel=CHANNEL, ts=ts, **card(JobStatus.DONE, restarted))
    finally:
        unsubscribe()
    lines = out.getvalue().splitlines()
    assert lines[1:] == ["    [1] Logs  [2] Restart  [3] Stop", lines[2], "    [1] Logs  [4] Start"], lines
    assert lines[0].startswith("  [job 4f2a] running") and lines[2].startswith("  [job 4f2a] running → done")
    assert view.choices.get(4).source.message["ts"] == ts  # type: ignore[union-attr,index]


def test_a_clicked_job_card_in_a_thread_shows_as_a_card_and_owns_the_replies_after_it(
    standin: SlackStandIn,
) -> None:
    out = io.StringIO()
    view = ConsoleView(Printer(out), channel_id=CHANNEL, user_id=USER)
    unsubscribe = standin.subscribe(view.on_event)
    client = WebClient(token=standin.token, base_url=standin.base_url)

    def card(job_id: str, text: str, status: JobStatus) -> dict[str, Any]:
        c = build_card(job_id=job_id, user_id=USER, command="/docker", command_text=text, status=status)
        return {"text": c.text, "blocks": c.blocks, "metadata": c.metadata}

    try:
        root = client.chat_postMessage(channel=CHANNEL, **card("aaaa", "run web", JobStatus.DONE))["ts"]
        client.chat_postMessage(channel=CHANNEL, thread_ts=root, text="started web")
        view.new_command()
        clicked = client.chat_postMessage(channel=CHANNEL, thread_ts=root,
                                          **card("bbbb", "logs web", JobStatus.RUNNING))["ts"]
        client.chat_postMessage(channel=CHANNEL, thread_ts=root, text="log line")
        client.chat_update(channel=CHANNEL, ts=clicked, **card("bbbb", "logs web", JobStatus.DONE))
    finally:
        unsubscribe()
    lines = out.getvalue().splitlines()
    assert lines[1:3] == ["    started web", "  [job bbbb] running — @UME ran `/docker logs web`"], lines
    assert lines[3] == "    log line" and lines[4].startswith("  [job bbbb] running → done")


def test_a_clicks_response_url_replaces_the_message_clicked() -> None:
    state = StandInState()
    urls = ResponseUrls(state, "UBOT")
    state.put_message(Message(channel=CHANNEL, ts="1764170000.000100", text="up", blocks=[JOB_BUTTONS]))
    url = urls.new_url(CHANNEL, original_ts="1764170000.000100")
    assert urls.post(url.rsplit("/", 1)[1], {"text": "web stopped", "response_type": "in_channel",
                                             "replace_original": True}) == (200, '{"ok": true}')
    [message] = state.messages(CHANNEL)
    assert message.ts == "1764170000.000100" and message.text == "web stopped" and message.updates == 1


def test_after_an_empty_ack_the_console_follows_the_job_whose_card_appears(
    standin: SlackStandIn, bot: tuple[str, FakeBot]
) -> None:
    url, fake = bot
    fake.client = WebClient(token=standin.token, base_url=standin.base_url)
    lines = session(url, standin, "deploy\n1\n", settle=0.2)
    for job in fake.jobs:
        job.join()
    # The number typed next is read once the job is done, so its buttons are there to pick.
    assert lines.index("    [1] Logs  [2] Restart  [3] Stop") < lines.index("/docker> 1")
    assert "  (clicked [1] Logs)" in lines
    assert [p["actions"][0]["action_id"] for p in fake.interactions] == ["dockbolt_logs"]
