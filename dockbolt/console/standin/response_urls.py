"""response_url endpoints: what a slash command's ``response_url`` accepts, with Slack's rules.

At most 5 posts per URL; ephemeral unless ``response_type`` is ``in_channel``. An in-channel post to a URL
created for a channel becomes a channel message (without a ts the poster could thread under); with
``replace_original`` it edits the previous in-channel message posted through the same URL, or, for the
URL of a click (``original_ts``), the message clicked on, as Slack does for interactions.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from dataclasses import dataclass
from typing import Any

from dockbolt.console.standin.limits import ApiError, check_message
from dockbolt.console.standin.models import Message, ResponsePost
from dockbolt.console.standin.state import StandInState

MAX_POSTS_PER_URL = 5


@dataclass
class _Url:
    channel: str | None
    posts: int = 0
    last_in_channel_ts: str | None = None


class ResponseUrls:
    """Hands out response URLs and records what is posted to them."""

    def __init__(self, state: StandInState, bot_user_id: str) -> None:
        self.state = state
        self.bot_user_id = bot_user_id
        self.origin = ""
        self._urls: dict[str, _Url] = {}

    def new_url(self, channel: str | None = None, original_ts: str | None = None) -> str:
        """A fresh response URL (tied to ``channel`` when given; for a click on a message of that channel,
        ``original_ts`` names it: ``replace_original`` edits it)."""
        key = secrets.token_urlsafe(12)
        with self.state.lock:
            self._urls[key] = _Url(channel, last_in_channel_ts=original_ts if channel else None)
        return f"{self.origin}/response/{key}"

    def post(self, key: str, payload: Any) -> tuple[int, str]:
        """Handle one POST to a response URL; returns (HTTP status, body) as Slack would."""
        url = f"{self.origin}/response/{key}"
        with self.state.lock:
            entry = self._urls.get(key)
            if entry is None:
                return 404, "expired_url"
            if not isinstance(payload, dict):
                return 400, "invalid_payload"
            post = ResponsePost(
                url=url,
                payload=payload,
                text=str(payload.get("text") or ""),
                blocks=payload.get("blocks"),
                response_type=str(payload.get("response_type") or "ephemeral"),
                replace_original=_flag(payload.get("replace_original")),
                delete_original=_flag(payload.get("delete_original")),
                at=time.time(),
                channel=entry.channel,
            )
            error = self._refusal(entry, post)
            if error:
                self.state.put_response_post(dataclasses.replace(post, error=error))
                return (404 if error == "used_url" else 400), error
            entry.posts += 1
            self.state.put_response_post(post)
            if not post.ephemeral and entry.channel:
                self._show_in_channel(entry, post)
        return 200, '{"ok": true}'

    def _refusal(self, entry: _Url, post: ResponsePost) -> str | None:
        if entry.posts >= MAX_POSTS_PER_URL:
            return "used_url"
        if post.delete_original:
            return None
        try:
            check_message(post.payload.get("text"), post.blocks, None)
        except ApiError as exc:
            return exc.error
        return None

    def _show_in_channel(self, entry: _Url, post: ResponsePost) -> None:
        assert entry.channel is not None
        previous = self.state.message(entry.channel, entry.last_in_channel_ts or "")
        if post.replace_original and previous is not None:
            new = dataclasses.replace(
                previous, text=post.text, blocks=post.blocks or None, updates=previous.updates + 1
            )
            self.state.put_message(new, previous=previous)
            return
        message = Message(
            channel=entry.channel,
            ts=self.state.next_ts(),
            text=post.text,
            blocks=post.blocks or None,
            user=self.bot_user_id,
            at=post.at,
        )
        entry.last_in_channel_ts = message.ts
        self.state.put_message(message)


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")
