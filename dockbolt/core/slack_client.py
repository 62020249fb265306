"""The one way bot/ and workers/ build a Slack Web API client.

Every call goes to ``SLACK_API_URL`` (a local stand-in or a proxy in tests and the console). slack-sdk
retries only connection errors by default; 429s must be waited out (``Retry-After``) and transient 5xx
retried, so both handlers are added here once.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from dockbolt.core.settings import Settings


def make_web_client(settings: Settings, *, timeout: int = 15) -> WebClient:
    """Return a WebClient for the bot token, pointed at SLACK_API_URL, with retry handlers."""
    return WebClient(
        token=settings.slack_bot_token.value or None,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=5),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )
