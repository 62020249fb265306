"""The Slack stand-in, driven by the real slack_sdk clients exactly as the bot and workers use them."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from dockbolt.console.slack_standin import ApiAnswer, Message, SlackStandIn, StandInEvent
from tests.support.slack_faults import SlackFaults

pytestmark = pytest.mark.scenario
TOKEN = "xoxb-test-standin"


def card_metadata(job_id: str, status: str) -> dict[str, Any]:
    return {"event_type": "dockbolt_job", "event_payload": {"job_id": job_id, "status": status}}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def api_error(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        call()
    return str(info.value.response["error"])


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(token=TOKEN, usergroups={"S0OPS": ["U1", "U2"]}) as s:
        yield s


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    return WebClient(token=TOKEN, base_url=standin.base_url)


@pytest.fixture
def faults(standin: SlackStandIn) -> SlackFaults:
    return SlackFaults(standin)


def test_base_url_is_local_and_port_chosen_by_os(standin: SlackStandIn) -> None:
    assert standin.base_url.startswith("http://127.0.0.1:")
    assert standin.base_url.endswith("/api/")
    assert not standin.base_url.startswith("http://127.0.0.1:0/")


def test_auth_test_answers_for_the_configured_token_only(standin: SlackStandIn, client: WebClient) -> None:
    assert client.auth_test()["user_id"] == standin.bot_user_id
    wrong = WebClient(token="xoxb-wrong", base_url=standin.base_url)
    assert api_error(wrong.auth_test) == "invalid_auth"
    assert api_error(lambda: wrong.chat_postMessage(channel="C1", text="hi")) == "invalid_auth"
    assert standin.messages() == []
    assert [c.error for c in standin.calls] == [None, "invalid_auth", "invalid_auth"]


def test_post_message_returns_increasing_unique_ts_and_records_everything(
    standin: SlackStandIn, client: WebClient
) -> None:
    first = client.chat_postMessage(
        channel="C1", text="card", blocks=[section("*card*")], metadata=card_metadata("a1b2c3d4e5", "queued")
    )
    replies = [client.chat_postMessage(channel="C1", thread_ts=first["ts"], text=f"r{i}") for i in range(3)]
    stamps = [first["ts"]] + [r["ts"] for r in replies]
    assert first["channel"] == "C1"
    assert stamps == sorted(stamps, key=float) and len(set(stamps)) == 4
    assert all(len(ts.split(".")[1]) == 6 for ts in stamps)
    card = standin.find_card("a1b2c3d4e5")
    assert card is not None and card.ts == first["ts"] and card.status == "queued"
    assert card.blocks == [section("*card*")] and card.text == "card"
    assert [m.text for m in standin.thread("C1", first["ts"])] == ["r0", "r1", "r2"]
    assert all(m.thread_ts == first["ts"] for m in standin.thread("C1", first["ts"]))
    assert standin.find_card("ffffffffff") is None
    assert standin.calls[0].params["metadata"]["event_payload"]["job_id"] == "a1b2c3d4e5"


def test_form_encoded_bodies_are_decoded_like_json_ones(standin: SlackStandIn, client: WebClient) -> None:
    blocks = [section("from a form")]
    resp = client.api_call(
        "chat.postMessage",
        params={
            "channel": "C1",
            "text": "form",
            "blocks": json.dumps(blocks),
            "metadata": json.dumps(card_metadata("0123456789", "running")),
        },
    )
    assert resp["ok"]
    (message,) = standin.messages("C1")
    assert message.blocks == blocks and message.status == "running"
    assert standin.calls[-1].params["blocks"] == blocks
    assert "token" not in standin.calls[-1].params


def test_update_edits_the_message_and_keeps_omitted_fields(standin: SlackStandIn, client: WebClient) -> None:
    ts = client.chat_postMessage(
        channel="C1", text="queued", blocks=[section("card")], metadata=card_metadata("a1b2c3d4e5", "queued")
    )["ts"]
    client.chat_update(channel="C1", ts=ts, text="running", metadata=card_metadata("a1b2c3d4e5", "running"))
    client.chat_update(channel="C1", ts=ts, text="done", metadata=card_metadata("a1b2c3d4e5", "done"))
    card = standin.find_card("a1b2c3d4e5")
    assert card is not None
    assert (card.text, card.status, card.updates, card.blocks) == ("done", "done", 2, [section("card")])
    assert len(standin.messages()) == 1
    assert api_error(lambda: client.chat_update(channel="C1", ts="1.000001", text="x")) == "message_not_found"
    assert api_error(lambda: client.chat_update(channel="C2", ts=ts, text="x")) == "message_not_found"


def test_post_ephemeral_is_recorded_apart_from_channel_messages(
    standin: SlackStandIn, client: WebClient
) -> None:
    resp = client.chat_postEphemeral(channel="C1", user="U1", text="just you")
    assert resp["message_ts"]
    assert standin.messages() == []
    (eph,) = standin.ephemerals
    assert (eph.channel, eph.user, eph.text) == ("C1", "U1", "just you")


def test_files_upload_v2_lands_in_the_thread_with_its_bytes(standin: SlackStandIn, client: WebClient) -> None:
    card_ts = client.chat_postMessage(channel="C1", text="card")["ts"]
    content = "".join(f"line {i}\n" for i in range(3000))
    resp = client.files_upload_v2(
        channel="C1",
        thread_ts=card_ts,
        content=content,
        filename="web.log",
        title="web logs",
        initial_comment="full logs attached",
    )
    assert resp["file"]["name"] == "web.log"
    (uploaded,) = standin.files
    assert uploaded.bytes == content.encode() and uploaded.text == content
    assert (uploaded.name, uploaded.title, uploaded.channel, uploaded.thread_ts) == (
        "web.log",
        "web logs",
        "C1",
        card_ts,
    )
    (reply,) = standin.thread("C1", card_ts)
    assert reply.text == "full logs attached" and reply.files == (uploaded,)
    complete = standin.calls_to("files.completeUploadExternal")[0]
    assert complete.params["initial_comment"] == "full logs attached"
    assert complete.params["files"][0]["id"] == uploaded.id


def test_binary_upload_keeps_bytes_exactly(standin: SlackStandIn, client: WebClient) -> None:
    data = bytes(range(256)) * 4
    client.files_upload_v2(channel="C1", content=data, filename="blob.bin")
    assert standin.files[0].bytes == data


def test_upload_url_also_accepts_multipart(standin: SlackStandIn, client: WebClient) -> None:
    url_resp = client.files_getUploadURLExternal(filename="a.txt", length=5)
    boundary = "xYzBoundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="filename"\r\n\r\na.txt\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        "Content-Type: application/octet-stream\r\n\r\nhello\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    req = urllib.request.Request(
        url_resp["upload_url"],
        data=body,
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(req) as resp:
        assert resp.status == 200
    client.files_completeUploadExternal(files=[{"id": url_resp["file_id"], "title": "A"}], channel_id="C1")
    assert standin.files[0].bytes == b"hello"
    assert api_error(lambda: client.files_completeUploadExternal(files=[{"id": "FNOPE"}])) == "file_not_found"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"blocks": [section("x")] * 51}, "invalid_blocks"),
        ({"blocks": [section("x" * 3001)]}, "invalid_blocks"),
        (
            {"blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "y" * 3001}]}]},
            "invalid_blocks",
        ),
        ({"blocks": [section("z" * 2900)] * 5}, "invalid_blocks"),  # ~14.6k of JSON, each section legal
        ({"blocks": [{"text": "no type"}]}, "invalid_blocks"),
        ({"text": "t" * 40_001}, "msg_too_long"),
        ({"metadata": {"event_payload": {}}}, "invalid_metadata_format"),
    ],
)
def test_slack_limits_are_enforced(
    standin: SlackStandIn, client: WebClient, kwargs: dict[str, Any], error: str
) -> None:
    args: dict[str, Any] = {"channel": "C1", "text": "fallback", **kwargs}
    assert api_error(lambda: client.chat_postMessage(**args)) == error
    assert standin.messages() == []
    assert standin.calls[-1].error == error


def test_limits_allow_messages_just_inside_them(standin: SlackStandIn, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="t" * 40_000, blocks=[section("x" * 3000)] * 4)
    client.chat_postMessage(channel="C1", text="many", blocks=[section("x")] * 50)
    assert len(standin.messages("C1")) == 2


def test_limits_also_apply_to_updates(standin: SlackStandIn, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="ok")["ts"]
    assert api_error(
        lambda: client.chat_update(channel="C1", ts=ts, text="x", blocks=[section("x")] * 51)
    ) == ("invalid_blocks")
    message = standin.message("C1", ts)
    assert message is not None and message.updates == 0


def test_missing_channel_is_channel_not_found(client: WebClient) -> None:
    assert api_error(lambda: client.chat_postMessage(channel="", text="x")) == "channel_not_found"


def test_a_hook_can_answer_first_and_be_removed(standin: SlackStandIn, client: WebClient) -> None:
    seen: list[tuple[str, str]] = []

    def hook(method: str, params: dict[str, Any]) -> ApiAnswer | None:
        seen.append((method, str(params.get("text"))))
        return ApiAnswer(200, {"ok": False, "error": "hooked"}) if params.get("text") == "stop" else None

    remove = standin.intercept(hook)
    assert api_error(lambda: client.chat_postMessage(channel="C1", text="stop")) == "hooked"
    client.chat_postMessage(channel="C1", text="go")
    assert api_error(lambda: WebClient(token="xoxb-wrong", base_url=standin.base_url).auth_test()) == (
        "invalid_auth"
    )
    remove()
    client.chat_postMessage(channel="C1", text="stop")
    assert seen == [("chat.postMessage", "stop"), ("chat.postMessage", "go")]  # never before auth
    assert [m.text for m in standin.messages()] == ["go", "stop"]
    assert [c.error for c in standin.calls] == ["hooked", None, "invalid_auth", None]


def test_failed_channel_refuses_posts_and_uploads_until_healed(
    standin: SlackStandIn, client: WebClient, faults: SlackFaults
) -> None:
    faults.fail_channel("CSECRET")
    assert api_error(lambda: client.chat_postMessage(channel="CSECRET", text="x")) == "not_in_channel"
    assert api_error(lambda: client.files_upload_v2(channel="CSECRET", content="x", filename="x")) == (
        "not_in_channel"
    )
    client.chat_postMessage(channel="COTHER", text="fine")
    faults.fail_channel("CSECRET", error="is_archived")
    assert api_error(lambda: client.chat_postMessage(channel="CSECRET", text="x")) == "is_archived"
    faults.fail_channel("CSECRET", error=None)
    client.chat_postMessage(channel="CSECRET", text="now fine")
    assert [m.text for m in standin.messages()] == ["fine", "now fine"]


def test_rate_limit_answers_429_with_retry_after(
    standin: SlackStandIn, client: WebClient, faults: SlackFaults
) -> None:
    faults.rate_limit("chat.postMessage", times=1, retry_after=7)
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="C1", text="x")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] in ("7", ["7"])
    client.chat_postMessage(channel="C1", text="after")
    assert [m.text for m in standin.messages()] == ["after"]


def test_retry_handler_waits_out_a_rate_limit(standin: SlackStandIn, faults: SlackFaults) -> None:
    retrying = WebClient(
        token=TOKEN, base_url=standin.base_url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)]
    )
    faults.rate_limit("chat.postMessage", times=2, retry_after=0)
    assert retrying.chat_postMessage(channel="C1", text="eventually")["ok"]
    assert [c.error for c in standin.calls_to("chat.postMessage")] == ["ratelimited", "ratelimited", None]
    assert [m.text for m in standin.messages()] == ["eventually"]


def test_fail_method_injects_errors_for_a_number_of_calls(
    standin: SlackStandIn, client: WebClient, faults: SlackFaults
) -> None:
    faults.fail_method("chat.update", "internal_error", times=2)
    ts = client.chat_postMessage(channel="C1", text="x")["ts"]
    for _ in range(2):
        assert api_error(lambda: client.chat_update(channel="C1", ts=ts, text="y")) == "internal_error"
    client.chat_update(channel="C1", ts=ts, text="y")
    assert [m.text for m in standin.messages()] == ["y"]


def test_usergroups_users_list_and_plan_upgrade(client: WebClient, faults: SlackFaults) -> None:
    assert client.usergroups_users_list(usergroup="S0OPS")["users"] == ["U1", "U2"]
    assert api_error(lambda: client.usergroups_users_list(usergroup="S0NONE")) == "no_such_subteam"
    faults.plan_upgrade_required(True)
    assert api_error(lambda: client.usergroups_users_list(usergroup="S0OPS")) == "plan_upgrade_required"
    faults.plan_upgrade_required(False)
    assert client.usergroups_users_list(usergroup="S0OPS")["users"] == ["U1", "U2"]


def test_unknown_method(client: WebClient) -> None:
    assert api_error(lambda: client.api_call("chat.nothing")) == "unknown_method"


def test_response_url_records_posts_and_honours_response_type(standin: SlackStandIn) -> None:
    url = standin.new_response_url("C1")
    hook = WebhookClient(url)
    assert hook.send(text="private").status_code == 200
    assert hook.send(text="for all", response_type="in_channel").status_code == 200
    assert (
        hook.send(text="for all, edited", response_type="in_channel", replace_original=True).status_code
        == 200
    )
    posts = standin.response_posts
    assert [(p.text, p.ephemeral, p.replace_original) for p in posts] == [
        ("private", True, False),
        ("for all", False, False),
        ("for all, edited", False, True),
    ]
    (shown,) = standin.messages("C1")
    assert (shown.text, shown.updates) == ("for all, edited", 1)


def test_response_url_allows_five_posts_and_enforces_limits(standin: SlackStandIn) -> None:
    hook = WebhookClient(standin.new_response_url())
    assert hook.send(text="bad", blocks=[section("x")] * 51).status_code == 400
    for i in range(5):
        assert hook.send(text=f"post {i}").status_code == 200
    refused = hook.send(text="sixth")
    assert refused.status_code == 404 and refused.body == "used_url"
    assert [p.error for p in standin.response_posts] == ["invalid_blocks"] + [None] * 5 + ["used_url"]
    assert (
        WebhookClient(standin.base_url.replace("/api/", "/response/nope")).send(text="x").status_code == 404
    )


def test_wait_for_sees_changes_made_by_other_threads(standin: SlackStandIn, client: WebClient) -> None:
    def worker() -> None:
        ts = client.chat_postMessage(channel="C1", text="q", metadata=card_metadata("a1b2c3d4e5", "queued"))[
            "ts"
        ]
        client.chat_update(channel="C1", ts=ts, text="d", metadata=card_metadata("a1b2c3d4e5", "done"))

    thread = threading.Thread(target=worker)
    thread.start()

    def done_card() -> Message | None:
        card = standin.find_card("a1b2c3d4e5")
        return card if card is not None and card.status == "done" else None

    card = standin.wait_for(done_card, timeout=30)
    thread.join()
    assert card.text == "d" and card.updates == 1


def test_wait_for_timeout_describes_what_was_seen(standin: SlackStandIn, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="something else entirely")
    with pytest.raises(TimeoutError) as info:
        standin.wait_for(lambda: standin.find_card("nope"), timeout=0.2)
    assert "something else entirely" in str(info.value)
    assert "chat.postMessage" in str(info.value)


def test_subscribers_get_every_change_in_order(standin: SlackStandIn, client: WebClient) -> None:
    events: list[StandInEvent] = []
    unsubscribe = standin.subscribe(events.append)
    ts = client.chat_postMessage(channel="C1", text="card")["ts"]
    client.chat_update(channel="C1", ts=ts, text="card v2")
    client.files_upload_v2(channel="C1", thread_ts=ts, content="abc", filename="f.txt")
    client.chat_postEphemeral(channel="C1", user="U1", text="psst")
    WebhookClient(standin.new_response_url()).send(text="via url")
    unsubscribe()
    client.chat_postMessage(channel="C1", text="unseen")
    assert [e.kind for e in events] == ["message", "update", "file", "ephemeral", "response_post"]
    assert events[1].previous is not None and events[1].previous.text == "card"
    assert events[1].message is not None and events[1].message.text == "card v2"
    assert events[2].file is not None and events[2].file.bytes == b"abc"
    assert events[3].ephemeral is not None and events[3].ephemeral.text == "psst"
    assert events[4].response_post is not None and events[4].response_post.text == "via url"


def test_a_failing_subscriber_does_not_break_the_api(standin: SlackStandIn, client: WebClient) -> None:
    def broken(event: StandInEvent) -> None:
        raise RuntimeError("subscriber bug")

    standin.subscribe(broken)
    assert client.chat_postMessage(channel="C1", text="still ok")["ok"]


def test_concurrent_posts_get_unique_increasing_ts(standin: SlackStandIn, client: WebClient) -> None:
    def post_some(n: int) -> None:
        for i in range(10):
            client.chat_postMessage(channel="C1", text=f"{n}-{i}")

    threads = [threading.Thread(target=post_some, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps = [m.ts for m in standin.messages()]
    assert len(stamps) == 40 and len(set(stamps)) == 40
    assert stamps == sorted(stamps, key=lambda ts: tuple(int(p) for p in ts.split(".")))


def test_stop_releases_the_port() -> None:
    standin = SlackStandIn(token=TOKEN).start()
    url = standin.base_url
    standin.stop()
    with pytest.raises(OSError):
        WebClient(token=TOKEN, base_url=url, timeout=2, retry_handlers=[]).auth_test()
    with pytest.raises(RuntimeError):
        standin.new_response_url()
