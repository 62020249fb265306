"""The worker's reporter against the Slack stand-in with the real slack_sdk client and retry handlers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dockbolt.console.slack_standin import SlackStandIn
from dockbolt.core.contract import JobRequest
from dockbolt.core.settings import load_settings
from dockbolt.core.slack_client import make_web_client
from tests.support.slack_faults import SlackFaults
from workers.reply import Reply
from workers.reporter import ThreadReporter

pytestmark = pytest.mark.scenario
TOKEN = "xoxb-reporter-test"


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(token=TOKEN) as s:
        yield s


def reporter_for(standin: SlackStandIn, *, threaded: bool = True) -> tuple[ThreadReporter, str | None]:
    client = make_web_client(load_settings({"SLACK_API_URL": standin.base_url, "SLACK_BOT_TOKEN": TOKEN}))
    thread_ts = str(client.chat_postMessage(channel="C1", text="card")["ts"]) if threaded else None
    job = JobRequest(job_id="abcdef0123", verb="logs", args={}, user_id="U1", channel_id="C1",
                     command_text="logs web", thread_ts=thread_ts, response_url=standin.new_response_url())
    return ThreadReporter(client, job), thread_ts


def test_short_output_goes_inline_in_the_thread(standin: SlackStandIn) -> None:
    rep, ts = reporter_for(standin)
    rep.reply(Reply(text="2 containers", body="a\nb"))
    (reply,) = standin.thread("C1", str(ts))
    assert reply.text == "2 containers\n```a\nb```"


def test_long_output_becomes_a_file_with_a_preview(standin: SlackStandIn) -> None:
    rep, ts = reporter_for(standin)
    body = "\n".join(f"line {i}" for i in range(1, 3001))
    rep.reply(Reply(text="Logs of `web`", body=body, filename="web.log"))
    (f,) = standin.files
    assert f.thread_ts == ts and f.name == "web.log" and f.text == body
    assert f.initial_comment is not None and "line 3000" in f.initial_comment
    assert "3,000 lines" in f.initial_comment


def test_more_than_forty_lines_go_into_a_file_however_short(standin: SlackStandIn) -> None:
    rep, ts = reporter_for(standin)
    rep.reply(Reply(text="forty", body="\n".join("x" for _ in range(40))))
    assert len(standin.thread("C1", str(ts))) == 1 and standin.files == []
    rep.reply(Reply(text="forty-one", body="\n".join("x" for _ in range(41)), filename="web.log"))
    (f,) = standin.files
    assert f.name == "web.log" and f.thread_ts == ts


def test_handler_text_cannot_become_markup(standin: SlackStandIn) -> None:
    rep, ts = reporter_for(standin)
    rep.reply(Reply(text="image <none> by <!channel> & co", body=None))
    (reply,) = standin.thread("C1", str(ts))
    assert "<!channel>" not in reply.text
    assert reply.text == "image &lt;none&gt; by &lt;!channel&gt; &amp; co"


def test_a_429_is_waited_out_not_dropped(standin: SlackStandIn) -> None:
    rep, ts = reporter_for(standin)
    SlackFaults(standin).rate_limit("chat.postMessage", times=1, retry_after=1)
    rep.post("after the rate limit")
    (reply,) = standin.thread("C1", str(ts))
    assert reply.text == "after the rate limit"
    assert sum(1 for c in standin.calls_to("chat.postMessage") if c.error) >= 1


def test_without_a_thread_results_go_to_response_url(standin: SlackStandIn) -> None:
    rep, _ = reporter_for(standin, threaded=False)
    rep.reply(Reply(text="Stopped `web`."))
    (post,) = standin.response_posts
    assert post.text == "Stopped `web`." and not post.ephemeral


def test_thread_post_refused_falls_back_to_response_url(standin: SlackStandIn) -> None:
    rep, _ = reporter_for(standin)
    SlackFaults(standin).fail_channel("C1", "not_in_channel")
    rep.post("still delivered")
    assert [p.text for p in standin.response_posts] == ["still delivered"]
