"""Binary files (a `stats --since` chart) through the reporter, the outbox (base64, never masked), the
deliverer and files_upload_v2 into the Slack stand-in, and how the console shows them."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from redis import Redis

from dockbolt.console.render import file_lines, png_size
from dockbolt.console.slack_standin import SlackStandIn
from dockbolt.core.contract import JobRequest
from dockbolt.core.delivery import Deliverer
from dockbolt.core.jobstore import JobStore
from dockbolt.core.outbox import Entry, Outbox
from dockbolt.core.redact import Redactor
from dockbolt.core.settings import load_settings
from dockbolt.core.slack_client import make_web_client
from dockbolt.core.stathistory import Sample
from workers.chart import render_png
from workers.reply import Reply
from workers.reporter import ThreadReporter

pytestmark = pytest.mark.scenario
TOKEN = "xoxb-binary-test"


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(token=TOKEN) as s:
        yield s


@pytest.fixture
def redis(redis_url: str) -> Redis:
    return Redis.from_url(redis_url)


def chart() -> bytes:
    return render_png("web", [Sample(t=1_800_000_000 + 10 * i, cpu=i % 9, mem=2**20 * (5 + i % 4),
                                     mem_limit=2**26, net_rx=0, net_tx=0, blk_read=0, blk_write=0)
                              for i in range(100)])


def test_a_chart_arrives_in_the_thread_byte_for_byte(standin: SlackStandIn, redis: Redis) -> None:
    settings = load_settings({"SLACK_API_URL": standin.base_url, "SLACK_BOT_TOKEN": TOKEN})
    client = make_web_client(settings, retries=False)
    ts = str(client.chat_postMessage(channel="C1", text="card")["ts"])
    job = JobRequest(job_id="abcdef0123", verb="stats", args={}, user_id="U1", channel_id="C1",
                     command_text="stats web --since 1h", response_url=standin.new_response_url())
    JobStore(redis).record_queued(job)
    JobStore(redis).set_thread(job.job_id, ts)
    png = chart()
    ThreadReporter(Outbox(redis), job, Redactor()).reply(
        Reply(text="`web`, last 1h: min/avg/max …", attachment=png, filename="stats-web.png"))
    assert Deliverer(redis, make_web_client(settings, retries=False), threads=0).deliver(job.job_id) == 1
    (f,) = standin.files
    assert f.bytes == png and f.name == "stats-web.png" and f.thread_ts == ts
    assert f.initial_comment is not None and "min/avg/max" in f.initial_comment
    (line,) = file_lines(f)
    assert line.startswith("📎 [image stats-web.png, PNG 1000×600, ") and line.endswith("kB]")
    assert png_size(f.bytes) == (1000, 600)


def test_binary_content_is_stored_as_base64_and_never_masked(redis: Redis) -> None:
    data = b"\x89PNG\r\n\x1a\n password=hunter2 \x00\xff" * 3  # looks like a secret to the redactor
    Outbox(redis).file("job1", data=data, filename="x.png", comment="c", fallback="f")
    (raw,) = redis.lrange("dockbolt:outbox:job1", 0, -1)
    stored = json.loads(raw)
    assert stored["encoding"] == "base64" and base64.b64decode(stored["content"]) == data
    entry = Entry.from_json(raw)
    assert entry.upload_content() == data


def test_text_files_are_unchanged(redis: Redis) -> None:
    Outbox(redis).file("job1", content="line 1\nline 2", filename="x.log", comment="c", fallback="f")
    entry = Entry.from_json(redis.lindex("dockbolt:outbox:job1", 0) or b"")
    assert entry.encoding == "" and entry.upload_content() == "line 1\nline 2"
    assert "encoding" not in json.loads(entry.to_json())  # old readers see the entries they know


def test_png_size_reads_only_pngs() -> None:
    assert png_size(b"GIF89a" + bytes(30)) is None
    assert png_size(b"\x89PNG\r\n\x1a\n") is None
