"""The edge's pure pieces: the HTTP checks before Bolt, what identifies a request, what counts as queued."""

from __future__ import annotations

import io
from typing import Any

import pytest
from redis import Redis
from slack_bolt import BoltRequest, BoltResponse

from bot import messages
from bot.edge import MAX_TEXT, Edge, is_queued, missing_fields, private, seen_keys
from bot.server import EVENTS_PATH, MAX_BODY, refusal
from dockbolt.console.slash_client import slash_body
from dockbolt.core.guardrails import Guardrails
from dockbolt.core.jobstore import JobStore


def environ(body: bytes = b"text=ps", *, length: str | None = None, path: str = EVENTS_PATH,
            method: str = "POST", **headers: str) -> dict[str, Any]:
    env: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path, "wsgi.input": io.BytesIO(body),
                           "CONTENT_LENGTH": str(len(body)) if length is None else length}
    env.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    return env


def test_a_good_request_passes_and_its_body_can_be_read_again() -> None:
    env = environ(b"text=ps%20-a", x_slack_request_timestamp="1700000000", x_slack_signature="v0=ab12")
    assert refusal(env) is None
    assert env["wsgi.input"].read(int(env["CONTENT_LENGTH"])) == b"text=ps%20-a"


def test_a_body_over_the_cap_is_refused_without_reading_it() -> None:
    class Unreadable(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise AssertionError("the body was read")

    at_cap = environ(b"x" * MAX_BODY)
    assert refusal(at_cap) is None
    over = environ(length=str(MAX_BODY + 1))
    over["wsgi.input"] = Unreadable()
    status, _ = refusal(over) or ("", "")
    assert status.startswith("413")
    healthz = environ(length=str(10 * MAX_BODY), path="/healthz", method="GET")
    assert (refusal(healthz) or ("",))[0].startswith("413")


@pytest.mark.parametrize("timestamp", ["abc", "", "１７００", "١٧٠٠٠٠٠٠٠٠", "+1700000000", "1_700_000_000",
                                       " 1700000000", "9" * 40])
def test_a_timestamp_that_is_not_ascii_digits_is_unauthorized(timestamp: str) -> None:
    status, error = refusal(environ(x_slack_request_timestamp=timestamp)) or ("", "")
    assert status.startswith("401") and error == "invalid request"


@pytest.mark.parametrize("signature", ["v0=é", "v0=\x00ab", "v0=ab\ncd"])
def test_a_signature_that_is_not_printable_ascii_is_unauthorized(signature: str) -> None:
    assert (refusal(environ(x_slack_signature=signature)) or ("",))[0].startswith("401")


def test_a_body_that_is_not_utf8_is_a_bad_request() -> None:
    status, error = refusal(environ(b"text=\xff\xfe")) or ("", "")
    assert status.startswith("400") and "UTF-8" in error


def test_other_paths_are_not_read() -> None:
    env = environ(b"\xff", path="/healthz", method="GET", x_slack_request_timestamp="abc")
    assert refusal(env) is None
    assert env["wsgi.input"].read() == b"\xff"


def test_a_request_is_identified_by_its_signature_and_trigger_id() -> None:
    http = BoltRequest(body="trigger_id=1.2.abc&text=ps", headers={"x-slack-signature": "v0=ff"})
    assert seen_keys(http) == ["dockbolt:seen:sig:v0=ff", "dockbolt:seen:trigger:1.2.abc"]
    socket_mode = BoltRequest(body={"trigger_id": "1.2.def", "text": "ps"}, mode="socket_mode")
    assert seen_keys(socket_mode) == ["dockbolt:seen:trigger:1.2.def"]
    assert seen_keys(BoltRequest(body={"type": "events_api"}, mode="socket_mode")) == []


def test_missing_fields() -> None:
    assert missing_fields({"user_id": "U1", "channel_id": "C1"}) == []
    assert missing_fields({"user_id": " ", "channel_id": "C1"}) == ["user_id"]
    assert missing_fields({}) == ["user_id", "channel_id"]


@pytest.mark.parametrize(("text", "queued"), [
    ("ps", True), ("'ps' -a", True), ("RUN img", True), ("stop web", True),
    ("", False), ("help", False), ("whoami", False), ("jobs", False), ("ps --help", False),
    ("stpo web", False), ("ps --bogus", False), ('ps "unbalanced', False),
])
def test_only_verbs_that_run_as_jobs_count_against_the_queue_share(text: str, queued: bool) -> None:
    assert is_queued(text) is queued


def test_refusals_are_private_and_say_what_to_do() -> None:
    answer = private(messages.text_too_long(12345, MAX_TEXT))
    assert answer.status == 200 and '"response_type": "ephemeral"' in answer.body
    assert "12,345" in answer.body and "4,000" in answer.body
    assert "1 job of yours is queued" in messages.slow_down_queue(1, 5)
    assert "5 jobs of yours are queued" in messages.slow_down_queue(5, 5)
    rate = messages.slow_down_rate("20/minute", 41.2, 3)
    assert "Slow down" in rate and "20/minute" in rate and "42 s" in rate and "3 jobs of yours" in rate
    assert "`channel_id`" in messages.missing_fields(["channel_id"])


def test_without_redis_a_command_is_refused_privately_not_failed() -> None:
    nowhere = Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=5)  # nothing listens on port 1
    edge = Edge(nowhere, Guardrails(), JobStore(nowhere))
    body = slash_body(text="ps", user_id="U1", channel_id="C1").decode()
    req = BoltRequest(body=body, headers={"content-type": "application/x-www-form-urlencoded"})

    def let_through() -> BoltResponse:
        raise AssertionError("the command was let through")

    answer = edge.process(req=req, resp=BoltResponse(status=200), next=let_through)
    assert answer is not None and answer.status == 200 and "Redis" in answer.body
