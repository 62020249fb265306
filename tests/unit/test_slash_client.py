"""SlashClient sends what Slack sends: the same form fields, signed the way Slack signs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
from slack_sdk.signature import SignatureVerifier

from dockbolt.console.slash_client import SlashClient, signature, slash_body

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_FIELDS = [
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "api_app_id",
    "is_enterprise_install",
    "response_url",
    "trigger_id",
]


@dataclass
class Seen:
    """What the fake bot received, and what it answers."""

    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    status: int = 200
    body: bytes = b'{"response_type": "ephemeral", "text": "ok"}'
    content_type: str = "application/json"


@pytest.fixture
def bot() -> Iterator[tuple[str, Seen]]:
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            seen.requests.append(({k.lower(): v for k, v in self.headers.items()}, raw))
            self.send_response(seen.status)
            self.send_header("Content-Type", seen.content_type)
            self.send_header("Content-Length", str(len(seen.body)))
            self.end_headers()
            self.wfile.write(seen.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slack/events", seen
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize("body", [b"", b"token=x&text=ps", "text=caf\u00e9 \u2192 ok".encode()])
@pytest.mark.parametrize("timestamp", [0, 1531420618, 1764170000])
def test_signature_matches_slack_sdk(body: bytes, timestamp: int) -> None:
    expected = SignatureVerifier(SECRET).generate_signature(timestamp=str(timestamp), body=body)
    assert signature(SECRET, timestamp, body) == expected


def test_signature_matches_slacks_documented_example() -> None:
    # The worked example from Slack's "Verifying requests from Slack" page.
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
        b"channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
        b"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    assert signature(SECRET, 1531420618, body) == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )


def test_body_has_slacks_fields_in_slacks_order() -> None:
    body = slash_body(text="run -d --name web img", user_id="U1", channel_id="C9", response_url="http://r/1")
    fields = parse_qsl(body.decode(), keep_blank_values=True)
    assert [k for k, _ in fields] == SLACK_FIELDS
    values = dict(fields)
    assert values["text"] == "run -d --name web img"
    assert (values["user_id"], values["channel_id"], values["command"]) == ("U1", "C9", "/docker")
    assert values["response_url"] == "http://r/1"
    assert values["is_enterprise_install"] == "false"
    assert values["trigger_id"]


def test_legacy_token_is_one_random_value_per_client(bot: tuple[str, Seen]) -> None:
    url, seen = bot
    first, second = SlashClient(url, SECRET), SlashClient(url, SECRET)
    for client in (first, first, second):
        client.send("ps", user_id="U1", channel_id="C1")
    tokens = [dict(parse_qsl(raw.decode()))["token"] for _, raw in seen.requests]
    assert tokens[0] == tokens[1] == first.verification_token and len(tokens[0]) >= 24
    assert tokens[2] == second.verification_token != tokens[0]
    given = slash_body(text="", user_id="U", channel_id="C", verification_token="t")
    assert dict(parse_qsl(given.decode()))["token"] == "t"


def test_send_posts_a_signed_form_that_slack_sdk_accepts(bot: tuple[str, Seen]) -> None:
    url, seen = bot
    resp = SlashClient(url, SECRET).send(
        "logs web --tail 5",
        user_id="UOPS",
        channel_id="CTEAM",
        user_name="ops",
        response_url="http://r/x",
        trigger_id="1.2.abc",
        team_id="T9",
    )
    assert (resp.status, resp.json) == (200, {"response_type": "ephemeral", "text": "ok"})
    ((headers, raw),) = seen.requests
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert SignatureVerifier(SECRET).is_valid(
        body=raw, timestamp=headers["x-slack-request-timestamp"], signature=headers["x-slack-signature"]
    )
    assert abs(int(headers["x-slack-request-timestamp"]) - time.time()) < 300
    values = dict(parse_qsl(raw.decode(), keep_blank_values=True))
    assert values["text"] == "logs web --tail 5"
    assert (values["user_name"], values["trigger_id"], values["team_id"]) == ("ops", "1.2.abc", "T9")


def test_explicit_timestamp_is_signed_and_sent(bot: tuple[str, Seen]) -> None:
    url, seen = bot
    SlashClient(url, SECRET).send("ps", user_id="U1", channel_id="C1", timestamp=1531420618)
    ((headers, raw),) = seen.requests
    assert headers["x-slack-request-timestamp"] == "1531420618"
    assert headers["x-slack-signature"] == SignatureVerifier(SECRET).generate_signature(
        timestamp="1531420618", body=raw
    )
    # A stale timestamp is exactly what a verifier must refuse.
    assert not SignatureVerifier(SECRET).is_valid(
        body=raw, timestamp="1531420618", signature=headers["x-slack-signature"]
    )


def test_unsigned_send_has_no_signature_header(bot: tuple[str, Seen]) -> None:
    url, seen = bot
    SlashClient(url, SECRET).send("ps", user_id="U1", channel_id="C1", sign=False)
    ((headers, _),) = seen.requests
    assert "x-slack-signature" not in headers
    assert "x-slack-request-timestamp" in headers


def test_error_answers_are_returned_not_raised(bot: tuple[str, Seen]) -> None:
    url, seen = bot
    seen.status, seen.body, seen.content_type = 401, b"invalid request", "text/plain"
    resp = SlashClient(url, SECRET).send_raw(b"text=ps", {"X-Slack-Signature": "v0=bad"})
    assert (resp.status, resp.body, resp.json) == (401, "invalid request", None)
    assert seen.requests[0][0]["x-slack-signature"] == "v0=bad"
    assert seen.requests[0][1] == b"text=ps"


def test_empty_ack_has_no_json(bot: tuple[str, Seen]) -> None:
    url, seen = bot
    seen.body = b""
    resp = SlashClient(url, SECRET).send("ps", user_id="U1", channel_id="C1")
    assert (resp.status, resp.body, resp.json) == (200, "", None)


def test_only_http_urls_are_accepted() -> None:
    with pytest.raises(ValueError, match="http"):
        SlashClient("file:///etc/passwd", SECRET)
