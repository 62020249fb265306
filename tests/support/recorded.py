"""What the stand-in Slack received: as one text (for "this secret reached Slack nowhere" assertions), a
job's final card, the text of its thread."""

from __future__ import annotations

import json

from dockbolt.console.slack_standin import Message, SlackStandIn


def everything_received(standin: SlackStandIn) -> str:
    """All the stand-in was sent: every call's parameters, file contents and response_url posts."""
    return "\n".join([
        *(json.dumps({"method": c.method, "params": c.params}, default=str) for c in standin.calls),
        *(f.bytes.decode("utf-8", errors="replace") for f in standin.files),
        *(json.dumps(p.payload, default=str) for p in standin.response_posts),
    ])


FINAL = ("done", "failed", "timed_out", "lost")


def final_card(standin: SlackStandIn, job_id: str, timeout: float = 120) -> Message:
    """Wait for a card of the job in a final state (any of them: a card posted twice counts once)."""
    def final() -> Message | None:
        done = [m for m in standin.messages() if m.job_id == job_id and m.status in FINAL]
        return done[0] if done else None

    return standin.wait_for(final, timeout=timeout)


def thread_text(standin: SlackStandIn, job_id: str) -> str:
    """Everything posted in the job's thread so far (a file's comment is its message's text)."""
    card = standin.find_card(job_id)
    if card is None:
        return ""
    return "\n".join(m.text for m in standin.thread(card.channel, card.thread_ts or card.ts))
