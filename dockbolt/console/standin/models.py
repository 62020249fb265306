"""What the Slack stand-in records: immutable snapshots of calls, messages, files and response posts.

Records are frozen so a snapshot handed to a test or a subscriber never changes under it; an edit
replaces the stored ``Message`` with a new one (``updates`` counts the edits).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any, Literal

from dockbolt.core.card import CARD_EVENT_TYPE
from dockbolt.core.contract import JobStatus

EventKind = Literal["message", "update", "ephemeral", "file", "response_post", "home"]


@dataclass(frozen=True)
class Call:
    """One Web API call as received (token removed, JSON-string fields decoded) and its outcome."""

    method: str
    params: dict[str, Any]
    at: float
    error: str | None = None


@dataclass(frozen=True)
class UploadedFile:
    """A file uploaded through files.getUploadURLExternal → upload URL → files.completeUploadExternal."""

    id: str
    name: str
    title: str
    bytes: builtins.bytes
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    at: float = 0.0

    @property
    def size(self) -> int:
        """Size of the file in bytes."""
        return len(self.bytes)

    @property
    def text(self) -> str:
        """The file decoded as UTF-8 (undecodable bytes replaced)."""
        return self.bytes.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Message:
    """A channel message (top level or thread reply) as it currently stands."""

    channel: str
    ts: str
    text: str
    thread_ts: str | None = None
    blocks: list[Any] | None = None
    metadata: dict[str, Any] | None = None
    files: tuple[UploadedFile, ...] = ()
    updates: int = 0
    user: str = "UBOT"
    at: float = 0.0

    @property
    def is_reply(self) -> bool:
        """True for a reply inside a thread (not the thread's parent)."""
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def job_id(self) -> str | None:
        """The job id when this message is a dockbolt job card."""
        payload = self._job_payload()
        value = payload.get("job_id") if payload else None
        return value if isinstance(value, str) else None

    @property
    def status(self) -> JobStatus | None:
        """The job status a job card carries in its metadata."""
        payload = self._job_payload()
        value = payload.get("status") if payload else None
        if not isinstance(value, str) or value not in JobStatus.__members__.values():
            return None  # no status, or one this version does not know
        return JobStatus(value)

    def _job_payload(self) -> dict[str, Any] | None:
        meta = self.metadata or {}
        payload = meta.get("event_payload")
        if meta.get("event_type") != CARD_EVENT_TYPE or not isinstance(payload, dict):
            return None
        return payload


@dataclass(frozen=True)
class Ephemeral:
    """A chat.postEphemeral message: seen only by ``user``."""

    channel: str
    user: str
    text: str
    ts: str
    thread_ts: str | None = None
    blocks: list[Any] | None = None
    at: float = 0.0


@dataclass(frozen=True)
class ResponsePost:
    """One POST to a response_url (accepted, or refused with ``error``)."""

    url: str
    payload: dict[str, Any]
    text: str
    blocks: list[Any] | None
    response_type: str
    replace_original: bool
    delete_original: bool
    at: float
    channel: str | None = None
    error: str | None = None

    @property
    def ephemeral(self) -> bool:
        """True unless the post asked to be visible in the channel."""
        return self.response_type != "in_channel"


@dataclass(frozen=True)
class HomeView:
    """The Home tab view last published (views.publish) for ``user_id``."""

    user_id: str
    view: dict[str, Any]
    id: str
    hash: str
    number: int  # how many views were published for this user so far, this one included
    at: float = 0.0

    @property
    def blocks(self) -> list[Any]:
        """The view's blocks."""
        blocks = self.view.get("blocks")
        return list(blocks) if isinstance(blocks, list) else []


@dataclass(frozen=True)
class StandInEvent:
    """One change in the stand-in, as delivered to subscribers.

    ``message``: new message ("message", "file" when it carries files) or its new version ("update",
    with ``previous``). ``file``: set for "file" (for a file shared nowhere ``message`` is None).
    ``home``: the view a views.publish just published ("home").
    """

    kind: EventKind
    at: float
    message: Message | None = None
    previous: Message | None = None
    file: UploadedFile | None = None
    ephemeral: Ephemeral | None = None
    response_post: ResponsePost | None = None
    home: HomeView | None = None
