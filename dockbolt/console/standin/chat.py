"""chat.postMessage, chat.update and chat.postEphemeral as the stand-in implements them."""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

from dockbolt.console.standin.limits import ApiError, check_message
from dockbolt.console.standin.models import Ephemeral, Message

if TYPE_CHECKING:
    from dockbolt.console.standin.api import WebApi


def post_message(api: WebApi, params: dict[str, Any]) -> dict[str, Any]:
    """Post a message (a thread reply when ``thread_ts`` is given)."""
    channel = api.check_channel(params.get("channel"))
    text, blocks, metadata = params.get("text"), _blocks(params), params.get("metadata")
    check_message(text, blocks, metadata, require_content=not _has_other_content(params))
    thread_ts = _optional_str(params, "thread_ts")
    message = Message(
        channel=channel,
        ts=api.state.next_ts(),
        text=text or "",
        thread_ts=thread_ts,
        blocks=blocks,
        metadata=metadata,
        user=api.bot_user_id,
        at=time.time(),
    )
    api.state.put_message(message)
    return {"channel": channel, "ts": message.ts, "message": message_json(message)}


def update(api: WebApi, params: dict[str, Any]) -> dict[str, Any]:
    """Edit a recorded message; fields not given keep their value (Slack keeps omitted blocks)."""
    channel = api.check_channel(params.get("channel"))
    ts = params.get("ts")
    with api.state.lock:
        old = api.state.message(channel, ts) if isinstance(ts, str) else None
        if old is None:
            raise ApiError("message_not_found")
        text = params["text"] if params.get("text") is not None else old.text
        blocks = _blocks(params) if params.get("blocks") is not None else old.blocks
        metadata = params["metadata"] if params.get("metadata") is not None else old.metadata
        check_message(text, blocks, metadata, require_content=not _has_other_content(params))
        new = dataclasses.replace(
            old, text=text or "", blocks=blocks or None, metadata=metadata, updates=old.updates + 1
        )
        api.state.put_message(new, previous=old)
    return {"channel": channel, "ts": new.ts, "text": new.text, "message": message_json(new)}


def post_ephemeral(api: WebApi, params: dict[str, Any]) -> dict[str, Any]:
    """Record a message only ``user`` sees."""
    channel = api.check_channel(params.get("channel"))
    user = params.get("user")
    if not isinstance(user, str) or not user:
        raise ApiError("user_not_in_channel")
    text, blocks = params.get("text"), _blocks(params)
    check_message(text, blocks, None, require_content=not _has_other_content(params))
    ephemeral = Ephemeral(
        channel=channel,
        user=user,
        text=text or "",
        ts=api.state.next_ts(),
        thread_ts=_optional_str(params, "thread_ts"),
        blocks=blocks,
        at=time.time(),
    )
    api.state.put_ephemeral(ephemeral)
    return {"message_ts": ephemeral.ts}


def message_json(message: Message) -> dict[str, Any]:
    """The message object Slack returns alongside a post or an update."""
    out: dict[str, Any] = {
        "type": "message",
        "user": message.user,
        "bot_id": "BBOT",
        "text": message.text,
        "ts": message.ts,
    }
    if message.thread_ts:
        out["thread_ts"] = message.thread_ts
    if message.blocks:
        out["blocks"] = message.blocks
    if message.files:
        out["files"] = [{"id": f.id, "name": f.name, "title": f.title, "size": f.size} for f in message.files]
    return out


def _blocks(params: dict[str, Any]) -> Any:
    blocks = params.get("blocks")
    # An empty array is how a caller removes blocks; store that as "no blocks".
    return blocks if blocks != [] else None


def _has_other_content(params: dict[str, Any]) -> bool:
    return bool(params.get("attachments") or params.get("markdown_text"))


def _optional_str(params: dict[str, Any], key: str) -> str | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ApiError("invalid_arguments", f"[ERROR] {key} must be a string")
    return value
