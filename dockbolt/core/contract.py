"""The one job contract between bot/ (producer) and workers/ (consumer), and the statuses a job goes through.

A frozen, JSON-serialisable dataclass crosses the queue (RQ's JSON serializer, enqueued by import
string ``JOB_FUNC``), inside the envelope the bot signs (``dockbolt.core.jobsign``); a worker runs
``JOB_FUNC`` and nothing else, and only for a job it verified. ``from_dict`` goes through the same
strict codec as the verbs' args (``dockbolt.core.codec``), so a worker never runs a half-understood job.
``args`` is the verb's args dataclass (``dockbolt.core.args``) as JSON; the worker decodes it with the
handler's args type.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dockbolt.core.codec import decode, encode

SCHEMA_VERSION = 1
JOB_FUNC = "workers.runner.run_job"
DEFAULT_QUEUE = "dockbolt-default"
HOST_QUEUE_PREFIX = "dockbolt-host-"
# What a host may be called (an engine's Name is a hostname; `all` is the fan-out word, never a host).
HOST_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}\Z")
ALL_HOSTS = "all"


def host_queue(host: str) -> str:
    """The RQ queue that ``host``'s workers serve."""
    return HOST_QUEUE_PREFIX + host


def check_host_name(name: str) -> str:
    """``name`` if it can name a host, else ValueError saying why."""
    if not HOST_NAME_RE.match(name) or name.lower() == ALL_HOSTS:
        raise ValueError(f"{name!r} cannot name a host (letters, digits, '.', '_', '-'; not 'all')")
    return name


# RQ's heartbeat lease for dockbolt workers: an idle worker beats every 2 s (each wait for a job,
# workers.main.IDLE_WAIT), a busy one every 30 s, and each beat sets its record to expire at most
# WORKER_FRESH s later (Redis's clock); a worker whose record has not expired counts as serving its queues.
WORKER_TTL = 60
WORKER_FRESH = WORKER_TTL + 60
# RQ accepts only letters, digits, "_" and "-" in job ids (a Slack ts, with its dot, is not valid).
JOB_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")


class JobStatus(StrEnum):
    """Where a job is: the job record, the card and the console all speak these (as rq's ``JobStatus``)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    LOST = "lost"  # the worker stopped beating while running it

    @property
    def final(self) -> bool:
        """True once nothing will change the job any more."""
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({JobStatus.DONE, JobStatus.FAILED, JobStatus.TIMED_OUT, JobStatus.LOST})


def new_job_id() -> str:
    """Return a short, RQ-valid, random job id (10 hex digits)."""
    return secrets.token_hex(5)


@dataclass(frozen=True)
class JobRequest:
    """What a worker needs to run one verb and report into its thread."""

    job_id: str
    verb: str
    args: dict[str, Any]  # the verb's Args.to_dict()
    user_id: str
    channel_id: str
    command_text: str
    command: str = "/docker"
    thread_ts: str | None = None
    response_url: str | None = None
    team_id: str = ""
    queued_at: float = field(default_factory=time.time)
    # The caller's user groups that the policy names, as the bot resolved them (signed with the rest).
    user_groups: tuple[str, ...] = ()
    # A deploy's announcement channel; when it is ``channel_id`` (a webhook deploy), the announcement is
    # the job's only message and its thread the job's thread (no card).
    announce_in: str = ""
    # The Docker host it runs on ("" only for jobs queued before hosts had queues: any worker of the
    # default queue). A worker runs only jobs for its own host.
    host: str = ""
    # A part of a fan-out (`ps @all`): the job whose thread shows the merged table; this one has no card.
    parent: str = ""
    # The thread it was started from (a button in that thread): its card and replies go there.
    in_thread: str = ""
    # Answered to the caller alone (`--private`, or ``[slack] private_verbs``): no card, no thread
    # message; text as an ephemeral message, files in a DM (a read-only verb only).
    private: bool = False
    schema: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.schema != SCHEMA_VERSION:
            raise ValueError(f"unsupported job schema {self.schema!r} (want {SCHEMA_VERSION})")
        for key in ("job_id", "verb", "user_id", "channel_id"):
            if not getattr(self, key):
                raise ValueError(f"job field {key!r} must be a non-empty string")
        if not JOB_ID_RE.match(self.job_id):
            raise ValueError(f"job id {self.job_id!r} is not valid for RQ")
        if self.host:
            check_host_name(self.host)

    @property
    def queue(self) -> str:
        """The RQ queue it goes on: its host's."""
        return host_queue(self.host) if self.host else DEFAULT_QUEUE

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (the exact payload put on the queue)."""
        data: dict[str, Any] = encode(self)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> JobRequest:
        """Build a JobRequest from a queue payload, rejecting anything malformed."""
        return decode(cls, data, "job")

