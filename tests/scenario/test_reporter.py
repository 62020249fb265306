"""The worker's reporter through the real outbox (Redis) and deliverer, against the Slack stand-in."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis import Redis

from dockbolt.console.slack_standin import SlackStandIn
from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.delivery import Deliverer
from dockbolt.core.jobstore import JobStore
from dockbolt.core.outbox import Outbox
from dockbolt.core.redact import Redactor
from dockbolt.core.settings import load_settings
from dockbolt.core.slack_client import RedactingWebClient, make_web_client
from tests.support.pipeline import poll_until
from tests.support.recorded import everything_received
from tests.support.slack_faults import SlackFaults
from workers.reply import Reply
from workers.reporter import ThreadReporter

pytestmark = pytest.mark.scenario
TOKEN = "xoxb-reporter-test"


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(token=TOKEN) as s:
        yield s


def client_for(standin: SlackStandIn, redactor: Redactor | None = None,
               retries: bool = True) -> RedactingWebClient:
    settings = load_settings({"SLACK_API_URL": standin.base_url, "SLACK_BOT_TOKEN": TOKEN})
    return make_web_client(settings, redactor=redactor, retries=retries)


@dataclass
class Reporting:
    """A job's reporter and the deliverer that sends what it writes."""

    rep: ThreadReporter
    deliverer: Deliverer
    redis: Redis

    def sent(self) -> int:
        """Deliver everything written so far (as a deliverer thread would, now)."""
        return self.deliverer.deliver(self.rep.job.job_id)

    @property
    def pending(self) -> int:
        return Outbox(self.redis).pending(self.rep.job.job_id)


@pytest.fixture
def redis(redis_url: str) -> Redis:
    return Redis.from_url(redis_url)


def reporter_for(standin: SlackStandIn, redis: Redis, *, threaded: bool = True,
                 command_text: str = "logs web") -> tuple[Reporting, str | None]:
    client = client_for(standin)
    thread_ts = str(client.chat_postMessage(channel="C1", text="card")["ts"]) if threaded else None
    job = JobRequest(job_id="abcdef0123", verb="logs", args={}, user_id="U1", channel_id="C1",
                     command_text=command_text, response_url=standin.new_response_url())
    store = JobStore(redis)
    store.record_queued(job)
    store.set_thread(job.job_id, thread_ts or "")
    deliverer = Deliverer(redis, client_for(standin, retries=False), threads=0)
    return Reporting(ThreadReporter(Outbox(redis), job, Redactor()), deliverer, redis), thread_ts


def test_short_output_goes_inline_in_the_thread(standin: SlackStandIn, redis: Redis) -> None:
    r, ts = reporter_for(standin, redis)
    r.rep.reply(Reply(text="2 containers", body="a\nb"))
    assert r.sent() == 1 and r.pending == 0
    (reply,) = standin.thread("C1", str(ts))
    assert reply.text == "2 containers\n```a\nb```"


def test_long_output_becomes_a_file_with_a_preview(standin: SlackStandIn, redis: Redis) -> None:
    r, ts = reporter_for(standin, redis)
    body = "\n".join(f"line {i}" for i in range(1, 3001))
    r.rep.reply(Reply(text="Logs of `web`", body=body, filename="web.log", log=True))
    assert r.sent() == 1
    (f,) = standin.files
    assert f.thread_ts == ts and f.name == "web.log" and f.text == body
    assert f.initial_comment is not None and "line 3000" in f.initial_comment
    assert "3,000 lines" in f.initial_comment


def test_a_long_table_or_document_is_previewed_by_its_head(standin: SlackStandIn, redis: Redis) -> None:
    r, _ = reporter_for(standin, redis)
    body = "\n".join(["CONTAINER ID   NAMES", *(f"c{i:03d}   web-{i}" for i in range(60))])
    r.rep.reply(Reply(text="60 running containers.", body=body, filename="ps.txt"))
    assert r.sent() == 1
    (f,) = standin.files
    assert f.initial_comment is not None and "first 8 lines" in f.initial_comment
    assert "CONTAINER ID   NAMES\nc000   web-0" in f.initial_comment and "web-59" not in f.initial_comment


def test_more_than_forty_lines_go_into_a_file_however_short(standin: SlackStandIn, redis: Redis) -> None:
    r, ts = reporter_for(standin, redis)
    r.rep.reply(Reply(text="forty", body="\n".join("x" for _ in range(40))))
    r.sent()
    assert len(standin.thread("C1", str(ts))) == 1 and standin.files == []
    r.rep.reply(Reply(text="forty-one", body="\n".join("x" for _ in range(41)), filename="web.log"))
    r.sent()
    (f,) = standin.files
    assert f.name == "web.log" and f.thread_ts == ts


def test_handler_text_cannot_become_markup(standin: SlackStandIn, redis: Redis) -> None:
    r, ts = reporter_for(standin, redis)
    r.rep.reply(Reply(text="image <none> by <!channel> & co", body=None))
    r.sent()
    (reply,) = standin.thread("C1", str(ts))
    assert "<!channel>" not in reply.text
    assert reply.text == "image &lt;none&gt; by &lt;!channel&gt; &amp; co"


def test_a_429_is_waited_out_not_dropped(standin: SlackStandIn, redis: Redis) -> None:
    r, ts = reporter_for(standin, redis)
    SlackFaults(standin).rate_limit("chat.postMessage", times=1, retry_after=1)
    r.rep.post("after the rate limit")
    r.rep.post("and the one behind it")
    assert r.sent() == 0 and r.pending == 2  # not sent, not dropped: due again after Retry-After
    assert Outbox(redis).due() == []
    poll_until(lambda: Outbox(redis).due(), timeout=10, what="the entry due again")
    assert r.sent() == 2
    assert [m.text for m in standin.thread("C1", str(ts))] == ["after the rate limit",
                                                               "and the one behind it"]
    assert sum(1 for c in standin.calls_to("chat.postMessage") if c.error) == 1


def test_without_a_thread_results_go_to_response_url(standin: SlackStandIn, redis: Redis) -> None:
    r, _ = reporter_for(standin, redis, threaded=False)
    r.rep.reply(Reply(text="Stopped `web`."))
    r.sent()
    (post,) = standin.response_posts
    assert post.text == "Stopped `web`." and not post.ephemeral


def test_thread_post_refused_falls_back_to_response_url(standin: SlackStandIn, redis: Redis) -> None:
    r, _ = reporter_for(standin, redis)
    SlackFaults(standin).fail_channel("C1", "not_in_channel")
    r.rep.post("still delivered")
    r.sent()
    assert [p.text for p in standin.response_posts] == ["still delivered"]


# --- nothing secret reaches Slack --------------------------------------------------------------------------

SLACK_TOKEN = "xoxb-998877-665544-SeCrEtToKeN"
PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAsecretkeybody\nAAAAsecondline==\n"
       "-----END RSA PRIVATE KEY-----")


def test_secrets_in_a_reply_are_masked_inline_and_in_files_and_previews(standin: SlackStandIn,
                                                                        redis: Redis) -> None:
    r, ts = reporter_for(standin, redis)
    r.rep.reply(Reply(text=f"Logs of `{SLACK_TOKEN}`", body=f"boot\nDB_PASSWORD=a&b<c\n{SLACK_TOKEN}"))
    # The preview (last 8 lines) starts inside the key: the key was masked on the whole body first.
    body = "\n".join([*(f"line {i}" for i in range(50)), PEM, "export API_KEY=k3y-value", "done"])
    r.rep.reply(Reply(text="Logs of `web`", body=body, filename="web.log", log=True))
    assert r.sent() == 2
    for raw in redis.scan_iter("dockbolt:*"):  # nor in Redis, on the way
        assert redis.type(raw) != b"list" or not any(b"SeCrEtToKeN" in e for e in redis.lrange(raw, 0, -1))
    sent = everything_received(standin)
    for secret in ("SeCrEtToKeN", "a&amp;b", "&lt;c", "secretkeybody", "secondline", "k3y-value"):
        assert secret not in sent
    inline, _file_message = standin.thread("C1", str(ts))
    assert "DB_PASSWORD=***" in inline.text and "xoxb-***" in inline.text
    (f,) = standin.files
    assert "line 49\n-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----" in f.text
    assert f.initial_comment is not None and "API_KEY=***" in f.initial_comment


def test_a_result_sent_to_response_url_is_masked(standin: SlackStandIn, redis: Redis) -> None:
    r, _ = reporter_for(standin, redis, threaded=False)
    r.rep.reply(Reply(text="Inspect", body="\n".join(f"TOKEN{i}=t0k-{i}" for i in range(60))))
    r.sent()
    (post,) = standin.response_posts
    assert "t0k-" not in post.text and "TOKEN0=***" in post.text


def test_the_card_never_shows_env_values_or_secrets_in_its_detail(standin: SlackStandIn,
                                                                   redis: Redis) -> None:
    r, ts = reporter_for(standin, redis, command_text="run -e GREETING=hello -e DB_PASSWORD=hunter2 busybox")
    r.rep.card(JobStatus.FAILED, detail=f"refused {SLACK_TOKEN}")
    assert r.sent() == 1
    card = standin.message("C1", str(ts))
    assert card is not None and card.status == "failed"
    assert "GREETING=***" in card.text and "hello" not in card.text and "hunter2" not in card.text
    assert "SeCrEtToKeN" not in everything_received(standin)


def test_the_client_masks_every_field_and_file_it_sends_but_no_id(standin: SlackStandIn,
                                                                      tmp_path: Path) -> None:
    client = client_for(standin, Redactor([r"internal-\d+"]))
    ts = str(client.chat_postMessage(channel="C1", text="card")["ts"])
    blocks = [{"type": "section", "block_id": "b1", "text": {"type": "mrkdwn", "text": f"tok {SLACK_TOKEN}"},
               "fields": [{"type": "mrkdwn", "text": "password: hunter2"}]}]
    attachments = [{"fallback": "internal-42", "text": "redis://:s3cret@cache/0"}]
    client.chat_postMessage(channel="C1", thread_ts=ts, text="run -e GREETING=hello img", blocks=blocks,
                            attachments=attachments)
    path = tmp_path / "env.txt"
    path.write_text("AWS key AKIAIOSFODNN7EXAMPLE\n")
    client.files_upload_v2(channel="C1", thread_ts=ts, content=b"\xff\xfe api_key=k1 raw", filename="a.bin",
                           initial_comment=f"see {SLACK_TOKEN}")
    client.files_upload_v2(channel="C1", thread_ts=ts, file=str(path), title="internal-7")
    client.files_upload_v2(channel="C1", thread_ts=ts, file=io.BytesIO(b"Bearer abcdefghijklmnop"),
                           filename="b.txt")
    sent = everything_received(standin)
    for secret in ("SeCrEtToKeN", "hunter2", "internal-42", "s3cret", "hello", "k1", "IOSFODNN7EXAMPLE",
                   "internal-7", "abcdefghijklmnop"):
        assert secret not in sent
    replies = standin.thread("C1", ts)
    assert len(replies) == 4 and replies[0].blocks is not None and replies[0].blocks[0]["block_id"] == "b1"
    first, second, third = standin.files
    assert first.bytes == b"\xff\xfe api_key=*** raw"  # bytes that are not UTF-8 are kept as they were
    assert second.name == "env.txt" and second.text == "AWS key AKIA***\n" and second.title == "***"
    assert third.text == "Bearer ***"


def test_a_png_chart_is_uploaded_byte_for_byte_even_when_its_pixels_look_like_a_secret(
        standin: SlackStandIn) -> None:
    client = client_for(standin, Redactor())
    ts = str(client.chat_postMessage(channel="C1", text="card")["ts"])
    # Compressed pixel data can spell anything; masking it would corrupt the image.
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x01IDAT password=hunter2\xff" * 4
    client.files_upload_v2(channel="C1", thread_ts=ts, content=png, filename="stats-web.png")
    (uploaded,) = standin.files
    assert uploaded.bytes == png
