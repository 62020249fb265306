"""The job contract: round trips through JSON and rejects anything malformed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dockbolt.core.contract import JOB_ID_RE, JobRequest, new_job_id
from dockbolt.core.errors import ContractError


def make(**over: Any) -> dict[str, Any]:
    job = JobRequest(job_id="abc123def0", verb="stop", args={"names": ["web"], "timeout": 5},
                     user_id="U1", channel_id="C1", command_text="stop web -t 5", thread_ts="17.000100",
                     response_url="https://hooks.example/x", queued_at=12.5)
    d = json.loads(json.dumps(job.to_dict()))
    d.update(over)
    return d


def test_round_trip_through_json() -> None:
    d = make()
    job = JobRequest.from_dict(d)
    assert job.to_dict() == d
    assert job.args == {"names": ["web"], "timeout": 5} and job.thread_ts == "17.000100"


def test_new_job_ids_are_valid_for_rq_and_distinct() -> None:
    ids = {new_job_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(JOB_ID_RE.match(i) for i in ids)


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ({"schema": 2}, "schema"),
        ({"job_id": "17.0001"}, "not valid for RQ"),
        ({"verb": ""}, "verb"),
        ({"args": ["x"]}, "args"),
        ({"thread_ts": 17.1}, "thread_ts"),
        ({"surprise": 1}, "unknown fields surprise"),
        ({"queued_at": "soon"}, "queued_at"),
    ],
)
def test_malformed_payloads_are_rejected(override: dict[str, Any], words: str) -> None:
    with pytest.raises(ContractError, match=words):
        JobRequest.from_dict(make(**override))


def test_non_mapping_is_rejected() -> None:
    with pytest.raises(ContractError):
        JobRequest.from_dict(["not", "a", "job"])
