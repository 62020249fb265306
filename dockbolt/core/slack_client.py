"""The one way bot/ and workers/ build a Slack Web API client — one that cannot publish a secret.

Every call goes to ``SLACK_API_URL`` (a local stand-in or a proxy in tests and the console). slack-sdk
retries only connection errors by default; 429s must be waited out (``Retry-After``) and transient 5xx
retried, so both handlers are added here once.

Every Web API method of slack_sdk's ``WebClient`` ends in ``api_call``, so the client masks secrets there:
each string of the call's parameters (text, blocks and attachments at any depth, initial_comment, file
titles, metadata…; ids, timestamps and block types are left alone), with ``Redactor.redact_command`` (so
``-e K=V`` values quoted in a card go too). File contents never pass through ``api_call``
(``files_upload_v2`` posts them to an upload URL), so ``files_upload_v2`` masks them before the upload.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from io import IOBase
from typing import Any

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.web import SlackResponse

from dockbolt.core.redact import Redactor
from dockbolt.core.settings import Settings

# Parameters that name things rather than say them: never rewritten (an extra regex could break them).
_IDS = frozenset({"channel", "channel_id", "channels", "ts", "thread_ts", "token", "cursor", "user", "users",
                  "usergroup", "team_id", "type", "block_id", "action_id", "event_type", "file", "file_id"})


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class RedactingWebClient(WebClient):
    """A ``WebClient`` that masks secrets in everything it sends (see the module doc)."""

    def __init__(self, *args: Any, redactor: Redactor | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.redactor = redactor or Redactor()

    def api_call(self, api_method: str, *, http_verb: str = "POST", files: dict[str, Any] | None = None,
                 data: dict[str, Any] | None = None, params: dict[str, Any] | None = None,
                 json: dict[str, Any] | None = None, headers: dict[str, Any] | None = None,
                 auth: dict[str, Any] | None = None) -> SlackResponse:
        """Mask the call's parameters (and any legacy multipart file), then make it."""
        if files is not None:
            files = {k: self._file_bytes(v) if v is not None else v for k, v in files.items()}
        return super().api_call(api_method, http_verb=http_verb, files=files, data=self._masked(data),
                                params=self._masked(params), json=self._masked(json), headers=headers,
                                auth=auth)

    def files_upload_v2(self, **kwargs: Any) -> SlackResponse:
        """Upload with every file's content masked (``content``, or ``file``: a path, bytes or a stream)."""
        uploads = kwargs.get("file_uploads")
        if uploads is not None:
            kwargs["file_uploads"] = [self._upload(dict(u)) for u in uploads]
        return super().files_upload_v2(**self._upload(kwargs))

    def _masked(self, value: Any, key: str = "") -> Any:
        if key in _IDS:
            return value
        if isinstance(value, str):
            return self.redactor.redact_command(value)
        if isinstance(value, Mapping):
            return {k: self._masked(v, k) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._masked(v, key) for v in value]
        return value

    def _upload(self, item: dict[str, Any]) -> dict[str, Any]:
        content, file = item.get("content"), item.get("file")
        if isinstance(content, str):
            item["content"] = self.redactor.redact_command(content)
        elif isinstance(content, bytes):
            item["content"] = self._masked_bytes(content)
        if file is not None:
            if isinstance(file, str | os.PathLike) and item.get("filename") is None:
                item["filename"] = os.path.basename(os.fspath(file))
            item["file"] = self._file_bytes(file)
        return item

    def _file_bytes(self, file: Any) -> bytes:
        if isinstance(file, str | os.PathLike):
            with open(file, "rb") as f:
                data = f.read()
        elif isinstance(file, IOBase):
            data = file.read()
        else:
            data = file
        return self._masked_bytes(data.encode() if isinstance(data, str) else bytes(data))

    def _masked_bytes(self, data: bytes) -> bytes:
        if data.startswith(PNG_SIGNATURE):  # a chart we drew: compressed pixels, no text (masking could
            return data  # only corrupt it)
        # Bytes that are not UTF-8 survive the round trip unchanged; only the text around them is read.
        text = data.decode("utf-8", errors="surrogateescape")
        return self.redactor.redact_command(text).encode("utf-8", errors="surrogateescape")


def make_web_client(settings: Settings, *, timeout: int = 15, redactor: Redactor | None = None,
                    retries: bool = True) -> RedactingWebClient:
    """Return a client for the bot token, pointed at SLACK_API_URL, that masks what ``redactor`` (default:
    the built-in patterns) recognises in everything it sends; with retry handlers unless ``retries`` is
    False (the outbox's deliverer schedules its own retries instead of sleeping in the call)."""
    return RedactingWebClient(
        token=settings.slack_bot_token.value or None,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=5),
            ServerErrorRetryHandler(max_retry_count=2),
        ] if retries else [],
        redactor=redactor,
    )


def redactor_of(client: WebClient) -> Redactor:
    """The redactor ``client`` masks with (the built-in patterns for a plain ``WebClient``)."""
    return client.redactor if isinstance(client, RedactingWebClient) else Redactor()
