"""What the stand-in Slack received, as one text: for "this secret reached Slack nowhere" assertions."""

from __future__ import annotations

import json

from dockbolt.console.slack_standin import SlackStandIn


def everything_received(standin: SlackStandIn) -> str:
    """All the stand-in was sent: every call's parameters, file contents and response_url posts."""
    return "\n".join([
        *(json.dumps({"method": c.method, "params": c.params}, default=str) for c in standin.calls),
        *(f.bytes.decode("utf-8", errors="replace") for f in standin.files),
        *(json.dumps(p.payload, default=str) for p in standin.response_posts),
    ])
