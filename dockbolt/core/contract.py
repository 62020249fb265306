"""The one job contract between bot/ (producer) and workers/ (consumer).

A frozen, JSON-serialisable dataclass crosses the queue (RQ's JSON serializer, enqueued by import
string ``JOB_FUNC``). ``from_dict`` rejects anything that does not match, so a worker never runs a
half-understood job. Stdlib only.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from dockbolt.core.errors import ContractError

SCHEMA_VERSION = 1
JOB_FUNC = "workers.runner.run_job"
DEFAULT_QUEUE = "dockbolt-default"
# RQ accepts only letters, digits, "_" and "-" in job ids (a Slack ts, with its dot, is not valid).
JOB_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def new_job_id() -> str:
    """Return a short, RQ-valid, random job id (10 hex digits)."""
    return secrets.token_hex(5)


@dataclass(frozen=True)
class JobRequest:
    """What a worker needs to run one verb and report into its thread."""

    job_id: str
    verb: str
    args: Mapping[str, Any]
    user_id: str
    channel_id: str
    command_text: str
    command: str = "/docker"
    thread_ts: str | None = None
    response_url: str | None = None
    team_id: str = ""
    queued_at: float = field(default_factory=time.time)
    schema: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the exact payload put on the queue)."""
        d = asdict(self)
        d["args"] = dict(self.args)
        return d

    @classmethod
    def from_dict(cls, data: Any) -> JobRequest:
        """Build a JobRequest from a queue payload, rejecting anything malformed."""
        if not isinstance(data, Mapping):
            raise ContractError(f"job payload must be an object, got {type(data).__name__}")
        if data.get("schema") != SCHEMA_VERSION:
            raise ContractError(f"unsupported job schema {data.get('schema')!r} (want {SCHEMA_VERSION})")
        known = set(cls.__dataclass_fields__)
        extra = set(data) - known
        if extra:
            raise ContractError(f"unknown job fields: {', '.join(sorted(extra))}")
        for key in ("job_id", "verb", "user_id", "channel_id", "command_text"):
            if not isinstance(data.get(key), str) or (key != "command_text" and not data[key]):
                raise ContractError(f"job field {key!r} must be a non-empty string")
        if not JOB_ID_RE.match(data["job_id"]):
            raise ContractError(f"job id {data['job_id']!r} is not valid for RQ")
        for key in ("thread_ts", "response_url"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise ContractError(f"job field {key!r} must be a string or null")
        for key in ("team_id", "command"):
            if not isinstance(data.get(key, ""), str):
                raise ContractError(f"job field {key!r} must be a string")
        if not isinstance(data.get("args"), Mapping):
            raise ContractError("job field 'args' must be an object")
        if not isinstance(data.get("queued_at", 0.0), int | float):
            raise ContractError("job field 'queued_at' must be a number")
        try:
            json.dumps(data["args"])
        except (TypeError, ValueError) as exc:
            raise ContractError(f"job args are not JSON: {exc}") from exc
        return cls(**{k: data[k] for k in known if k in data})
