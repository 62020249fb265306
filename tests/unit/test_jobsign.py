"""Signed job envelopes: what is signed, that it survives RQ's JSON, and that any change breaks it."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from dockbolt.core.contract import JobRequest
from dockbolt.core.jobsign import BadSignature, canonical, open_envelope, sign
from dockbolt.core.settings import Secret

KEY = Secret("unit-test-job-secret-0123456789abcdef")


def job(**over: Any) -> dict[str, Any]:
    fields: dict[str, Any] = dict(job_id="abc123def0", verb="run", user_id="U1", channel_id="C1",
                                  args={"image": "busybox", "env": ["PASSWORD=hunter2"], "memory": 1.5},
                                  command_text="run -e PASSWORD=hunter2 busybox", thread_ts="17.000100",
                                  response_url="https://hooks.slack.com/commands/T1/2/x", queued_at=1234.5678)
    return JobRequest(**(fields | over)).to_dict()


def through_rq(envelope: dict[str, Any]) -> Any:
    """What the worker gets back: RQ's JSONSerializer is json.dumps/json.loads."""
    return json.loads(json.dumps(envelope))


def test_the_signature_is_hmac_sha256_over_the_documented_canonical_form() -> None:
    envelope = sign({"b": [1, 2], "a": "é"}, KEY)
    message = b'dockbolt-job-v1\n{"a":"\\u00e9","b":[1,2]}'
    assert envelope == {"job": {"a": "é", "b": [1, 2]},
                        "sig": "v1=" + hmac.new(KEY.value.encode(), message, hashlib.sha256).hexdigest()}


def test_canonical_form_ignores_key_order_and_whitespace() -> None:
    assert canonical({"b": 1, "a": {"y": 2, "x": 1}}) == canonical({"a": {"x": 1, "y": 2}, "b": 1}) \
        == b'{"a":{"x":1,"y":2},"b":1}'


def test_a_signed_job_survives_rqs_json_and_opens_to_the_same_job() -> None:
    original = job()
    opened = open_envelope(through_rq(sign(original, KEY)), KEY)
    assert opened == original and JobRequest.from_dict(opened).queued_at == 1234.5678


@pytest.mark.parametrize(("field", "value"), [
    ("verb", "rm"), ("user_id", "UADMIN"), ("channel_id", "C2"), ("command_text", "run busybox"),
    ("thread_ts", None), ("response_url", "https://evil.example/x"), ("queued_at", 99999.0),
    ("job_id", "abc123def1"),
])
def test_changing_any_field_breaks_the_signature(field: str, value: Any) -> None:
    envelope = through_rq(sign(job(), KEY))
    envelope["job"][field] = value
    with pytest.raises(BadSignature, match="does not match"):
        open_envelope(envelope, KEY)


def test_changing_a_nested_arg_or_adding_a_field_breaks_the_signature() -> None:
    nested = through_rq(sign(job(), KEY))
    nested["job"]["args"]["env"].append("EXTRA=1")
    added = through_rq(sign(job(), KEY))
    added["job"]["extra"] = 1
    for envelope in (nested, added):
        with pytest.raises(BadSignature, match="does not match"):
            open_envelope(envelope, KEY)


def test_another_key_does_not_open_it() -> None:
    with pytest.raises(BadSignature, match="does not match"):
        open_envelope(sign(job(), KEY), Secret("another-job-secret-0123456789abcdef"))


@pytest.mark.parametrize("envelope", [
    job(),                                                  # the bare job, as queued before signing
    {"job": job()},                                         # no signature
    {"job": job(), "sig": "v1=" + "0" * 64, "more": 1},     # extra keys
    {"job": "text", "sig": "v1=" + "0" * 64},
    {"job": job(), "sig": 5},
    ["job", "sig"],
    None,
])
def test_malformed_or_unsigned_envelopes_are_refused(envelope: Any) -> None:
    with pytest.raises(BadSignature, match="not a signed job envelope"):
        open_envelope(envelope, KEY)


@pytest.mark.parametrize("sig", ["", "v2=abc", "sha256=abc", "v1=é"])
def test_unknown_schemes_and_odd_signatures_are_refused(sig: str) -> None:
    with pytest.raises(BadSignature):
        open_envelope({"job": job(), "sig": sig}, KEY)


def test_nan_cannot_be_signed_or_verified() -> None:
    with pytest.raises(ValueError):
        sign({"x": float("nan")}, KEY)
    envelope = json.loads('{"job": {"x": NaN}, "sig": "v1=00"}')  # json.loads (and RQ) accept NaN
    with pytest.raises(BadSignature, match="canonical"):
        open_envelope(envelope, KEY)


def test_there_is_no_signing_without_a_secret() -> None:
    with pytest.raises(ValueError, match="DOCKBOLT_JOB_SECRET"):
        sign(job(), Secret(""))
