"""The three-step external upload (files_upload_v2): get an upload URL, POST the bytes, complete.

slack_sdk 3.48 POSTs the raw bytes to the upload URL with urllib (which labels them
``application/x-www-form-urlencoded``); other clients send multipart. Both are accepted.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dockbolt.console.standin.limits import ApiError
from dockbolt.console.standin.models import Message, UploadedFile

if TYPE_CHECKING:
    from dockbolt.console.standin.api import WebApi


@dataclass
class PendingUpload:
    """A file id handed out by files.getUploadURLExternal, with its bytes once they arrive."""

    id: str
    filename: str
    length: int
    data: bytes | None = None


def get_upload_url(api: WebApi, params: dict[str, Any]) -> dict[str, Any]:
    """Hand out a file id and an upload URL on the stand-in itself."""
    filename = params.get("filename")
    try:
        length = int(params.get("length", ""))
    except (TypeError, ValueError):
        raise ApiError("invalid_arguments", "[ERROR] length must be an integer") from None
    if not isinstance(filename, str) or not filename or length < 0:
        raise ApiError("invalid_arguments", "[ERROR] filename and length are required")
    file_id = "F" + secrets.token_hex(5).upper()
    with api.state.lock:
        api.uploads[file_id] = PendingUpload(file_id, filename, length)
    return {"upload_url": f"{api.origin}/upload/{file_id}", "file_id": file_id}


def receive_upload(api: WebApi, file_id: str, data: bytes) -> bool:
    """Store the bytes POSTed to an upload URL; False when the URL is unknown."""
    with api.state.lock:
        pending = api.uploads.get(file_id)
        if pending is None:
            return False
        pending.data = data
        return True


def complete_upload(api: WebApi, params: dict[str, Any]) -> dict[str, Any]:
    """Finish uploads: share them as one message per channel (in ``thread_ts`` when given)."""
    entries = params.get("files")
    if not isinstance(entries, list) or not entries:
        raise ApiError("invalid_arguments", "[ERROR] files must be a non-empty JSON array")
    channel_id, channels = params.get("channel_id"), params.get("channels")
    if channel_id:
        targets = [api.check_channel(channel_id)]
    else:
        targets = [api.check_channel(c) for c in str(channels or "").split(",") if c]
    thread_ts = params.get("thread_ts") or None
    comment = params.get("initial_comment") or None
    now = time.time()
    with api.state.lock:
        done = [_take_upload(api, entry) for entry in entries]
        for pending, _ in done:
            del api.uploads[pending.id]
        for channel in targets:
            shared = tuple(
                UploadedFile(p.id, p.filename, title, p.data or b"", channel, thread_ts, comment, now)
                for p, title in done
            )
            message = Message(
                channel=channel,
                ts=api.state.next_ts(),
                text=comment or "",
                thread_ts=thread_ts,
                files=shared,
                user=api.bot_user_id,
                at=now,
            )
            api.state.put_message(message)
        if not targets:
            for p, title in done:
                api.state.put_unshared_file(UploadedFile(p.id, p.filename, title, p.data or b"", at=now))
    return {
        "files": [
            {"id": p.id, "name": p.filename, "title": title, "size": len(p.data or b"")} for p, title in done
        ]
    }


def _take_upload(api: WebApi, entry: Any) -> tuple[PendingUpload, str]:
    file_id = entry.get("id") if isinstance(entry, dict) else None
    pending = api.uploads.get(file_id) if isinstance(file_id, str) else None
    if pending is None or pending.data is None:
        raise ApiError("file_not_found", f"[ERROR] no uploaded file {file_id!r}")
    title = entry.get("title") or pending.filename
    return pending, str(title)
