"""The Slack outbox and its deliverer on the real Redis, against the Slack stand-in and its faults.

What is asserted: entries reach Slack in the order they were written, per job, whichever deliverer (and
however many threads) sends them; Slack's "not now" (429 with Retry-After, 5xx, refused connections)
keeps an entry — and those behind it — for a later try, never drops it; "never" (a permanent error, or
too old) drops that one entry, counted and logged, and the rest goes on; a card edit behind another one
replaces it, but the entry at the head is never rewritten.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from redis import Redis
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from dockbolt.console.slack_standin import SlackStandIn
from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.delivery import MAX_BACKOFF, Deliverer, retry_delay
from dockbolt.core.jobstore import JobStore, redis_time
from dockbolt.core.jobthread import ResponseUrlError
from dockbolt.core.outbox import Entry, Outbox
from dockbolt.core.settings import load_settings
from dockbolt.core.slack_client import make_web_client
from tests.support.pipeline import poll_until
from tests.support.slack_faults import SlackFaults

pytestmark = pytest.mark.scenario
TOKEN = "xoxb-outbox-test"
CHANNEL = "COUTBOX"


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(token=TOKEN) as s:
        yield s


@pytest.fixture
def redis(redis_url: str) -> Redis:
    return Redis.from_url(redis_url)


def deliverer(url: str, redis: Redis, *, ttl: float = 3600, threads: int = 0) -> Deliverer:
    settings = load_settings({"SLACK_API_URL": url, "SLACK_BOT_TOKEN": TOKEN})
    return Deliverer(redis, make_web_client(settings, timeout=5, retries=False), ttl=ttl, threads=threads)


def recorded(redis: Redis, job_id: str = "0123456789") -> JobRequest:
    job = JobRequest(job_id=job_id, verb="ps", args={}, user_id="U1", channel_id=CHANNEL, command_text="ps",
                     response_url=None)
    JobStore(redis).record_queued(job)
    return job


def with_response_url(redis: Redis, standin: SlackStandIn, job_id: str = "0123456789") -> JobRequest:
    job = JobRequest(job_id=job_id, verb="ps", args={}, user_id="U1", channel_id=CHANNEL, command_text="ps",
                     response_url=standin.new_response_url())
    JobStore(redis).record_queued(job)
    return job


def thread_texts(standin: SlackStandIn, job_id: str) -> list[str]:
    card = standin.find_card(job_id)
    assert card is not None
    return [m.text for m in standin.thread(CHANNEL, card.ts)]


def dead_url() -> str:
    with socket.socket() as s:  # a port nobody listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/api/"


def test_entries_arrive_in_order_and_the_card_ends_in_its_last_state(standin: SlackStandIn,
                                                                       redis: Redis) -> None:
    job, box = recorded(redis), Outbox(redis)
    box.card(job.job_id, JobStatus.QUEUED)
    box.card(job.job_id, JobStatus.RUNNING)
    for i in range(5):
        box.post(job.job_id, f"line {i}")
    box.card(job.job_id, JobStatus.DONE, elapsed=1.5)
    assert deliverer(standin.base_url, redis).deliver(job.job_id) == 8
    assert thread_texts(standin, job.job_id) == [f"line {i}" for i in range(5)]
    card = standin.find_card(job.job_id)
    assert card is not None and card.status == "done"
    assert box.pending(job.job_id) == 0 and box.due() == []


def test_a_card_edit_behind_another_replaces_it_but_the_head_is_never_rewritten(redis: Redis) -> None:
    job, box = recorded(redis), Outbox(redis)
    box.card(job.job_id, JobStatus.QUEUED, closed_text="not in channel")  # the head: maybe being sent
    box.card(job.job_id, JobStatus.RUNNING)
    box.card(job.job_id, JobStatus.RUNNING, detail="50%")
    box.post(job.job_id, "a reply")
    box.card(job.job_id, JobStatus.DONE)
    raw = [Entry.from_json(e) for e in redis.lrange(f"dockbolt:outbox:{job.job_id}", 0, -1)]
    assert [(e.op, e.status, e.detail) for e in raw] == [
        ("card", "queued", ""), ("card", "running", "50%"), ("post", "", ""), ("card", "done", "")]
    assert raw[0].text == "not in channel" and all(e.at > 0 for e in raw)


def test_a_429_keeps_the_entry_and_those_behind_it_until_retry_after(standin: SlackStandIn,
                                                                       redis: Redis) -> None:
    job, box = recorded(redis), Outbox(redis)
    d = deliverer(standin.base_url, redis)
    box.card(job.job_id, JobStatus.RUNNING)
    assert d.deliver(job.job_id) == 1
    SlackFaults(standin).rate_limit("chat.postMessage", times=1, retry_after=2)
    box.post(job.job_id, "first")
    box.post(job.job_id, "second")
    assert d.deliver(job.job_id) == 0
    assert box.pending(job.job_id) == 2 and box.due() == []  # waiting out Retry-After, not dropped
    poll_until(box.due, timeout=10, what="the entry due again")
    assert d.deliver(job.job_id) == 2
    assert thread_texts(standin, job.job_id) == ["first", "second"]


def test_server_errors_and_refused_connections_are_retried_not_dropped(standin: SlackStandIn,
                                                                        redis: Redis) -> None:
    job, box = recorded(redis), Outbox(redis)
    box.card(job.job_id, JobStatus.RUNNING)
    box.post(job.job_id, "survived")
    assert deliverer(dead_url(), redis).deliver(job.job_id) == 0  # Slack unreachable
    assert box.pending(job.job_id) == 2 and standin.find_card(job.job_id) is None
    SlackFaults(standin).fail_method("chat.postMessage", "internal_error", times=1)
    live = deliverer(standin.base_url, redis, threads=2).start()
    try:
        poll_until(lambda: standin.find_card(job.job_id) and thread_texts(standin, job.job_id),
                   timeout=3 * MAX_BACKOFF, what="the card and its reply")
    finally:
        live.stop()
    assert thread_texts(standin, job.job_id) == ["survived"]
    assert Outbox(redis).backlog() == (0, 0)


def test_an_entry_slack_refuses_for_good_is_dropped_counted_and_the_rest_goes_on(
        standin: SlackStandIn, redis: Redis) -> None:
    job, box = recorded(redis), Outbox(redis)
    d = deliverer(standin.base_url, redis)
    box.card(job.job_id, JobStatus.RUNNING)
    assert d.deliver(job.job_id) == 1
    SlackFaults(standin).fail_method("chat.postMessage", "msg_too_long", times=1)
    box.post(job.job_id, "too long")
    box.post(job.job_id, "next")
    assert d.deliver(job.job_id) == 1
    assert thread_texts(standin, job.job_id) == ["next"]
    assert box.backlog() == (0, 1)


def test_an_entry_older_than_the_ttl_is_given_up_and_replies_go_to_the_response_url(
        standin: SlackStandIn, redis: Redis) -> None:
    job, box = with_response_url(redis, standin), Outbox(redis)
    box.card(job.job_id, JobStatus.RUNNING)
    # the first backoff (≥ 0.4 s) would end past the ttl: given up now rather than tried too late
    assert deliverer(dead_url(), redis, ttl=0.2).deliver(job.job_id) == 0
    assert box.backlog() == (0, 1) and box.pending(job.job_id) == 0
    box.post(job.job_id, "the result")
    assert deliverer(standin.base_url, redis).deliver(job.job_id) == 1
    assert standin.find_card(job.job_id) is None  # no card was ever posted: no thread to edit
    assert [p.text for p in standin.response_posts] == ["the result"]


def test_a_channel_closed_to_the_bot_sends_the_cards_notice_and_replies_by_response_url(
        standin: SlackStandIn, redis: Redis) -> None:
    job, box = with_response_url(redis, standin), Outbox(redis)
    SlackFaults(standin).fail_channel(CHANNEL, "not_in_channel")
    box.card(job.job_id, JobStatus.QUEUED, closed_text="invite the bot")
    box.card(job.job_id, JobStatus.RUNNING)
    box.post(job.job_id, "the result")
    box.card(job.job_id, JobStatus.DONE)
    assert deliverer(standin.base_url, redis).deliver(job.job_id) == 4
    assert [p.text for p in standin.response_posts] == ["invite the bot", "the result"]
    assert JobStore(redis).thread_of(job.job_id) == ""


def test_entries_of_a_job_whose_record_is_gone_are_dropped_and_counted(standin: SlackStandIn,
                                                                       redis: Redis) -> None:
    box = Outbox(redis)
    box.post("feedbeef00", "nobody knows this job")
    assert deliverer(standin.base_url, redis).deliver("feedbeef00") == 0
    assert box.backlog() == (0, 1) and standin.calls_to("chat.postMessage") == []


def test_many_deliverers_send_each_entry_once_and_in_order(standin: SlackStandIn, redis: Redis) -> None:
    jobs = [recorded(redis, f"{i:010x}") for i in range(1, 6)]
    box = Outbox(redis)
    deliverers = [deliverer(standin.base_url, redis, threads=3).start() for _ in range(2)]
    try:
        def write(job: JobRequest) -> None:
            box.card(job.job_id, JobStatus.RUNNING)
            for i in range(20):
                box.post(job.job_id, f"{job.job_id} {i}")

        writers = [threading.Thread(target=write, args=(j,)) for j in jobs]
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        poll_until(lambda: all(standin.find_card(j.job_id)
                               and len(thread_texts(standin, j.job_id)) == 20 for j in jobs),
                   timeout=60, what="every job's card and replies")
    finally:
        for d in deliverers:
            d.stop()
    for j in jobs:
        assert thread_texts(standin, j.job_id) == [f"{j.job_id} {i}" for i in range(20)]
    assert len(standin.calls_to("chat.postMessage")) == 5 * 21  # nothing sent twice


def _api_error(status: int, error: str, headers: dict[str, str] | None = None) -> SlackApiError:
    resp = SlackResponse(client=None, http_verb="POST", api_url="", req_args={},
                         data={"ok": False, "error": error}, headers=headers or {}, status_code=status)
    return SlackApiError(error, resp)


@pytest.mark.parametrize(("exc", "expected"), [
    (_api_error(429, "ratelimited", {"Retry-After": "30"}), 30.0),
    (_api_error(429, "ratelimited", {"retry-after": "7"}), 7.0),
    (_api_error(200, "msg_too_long"), None),
    (_api_error(200, "not_authed"), None),
    (ResponseUrlError(404, "expired_url"), None),
    (ResponseUrlError(429, "", retry_after=12), 12.0),
    (ValueError("a bug"), None),
])
def test_retry_delay_honours_retry_after_and_gives_up_on_what_cannot_change(exc: Exception,
                                                                            expected: float | None) -> None:
    assert retry_delay(exc, tries=0) == expected


@pytest.mark.parametrize("exc", [_api_error(500, "internal_error"), _api_error(200, "service_unavailable"),
                                 ConnectionRefusedError(111, "refused"), TimeoutError("read timed out"),
                                 ResponseUrlError(503, "")])
def test_transient_failures_back_off_up_to_a_bound(exc: Exception) -> None:
    first, later = retry_delay(exc, tries=0), retry_delay(exc, tries=30)
    assert first is not None and later is not None
    assert 0 < first < later <= MAX_BACKOFF * 1.2


def test_a_429_holds_every_deliverer_for_its_retry_after_not_only_that_jobs(standin: SlackStandIn,
                                                                           redis: Redis) -> None:
    first, second, box = recorded(redis, "1000000001"), recorded(redis, "1000000002"), Outbox(redis)
    one, other = deliverer(standin.base_url, redis), deliverer(standin.base_url, redis)
    SlackFaults(standin).rate_limit("chat.postMessage", times=1, retry_after=2)
    box.card(first.job_id, JobStatus.RUNNING)
    box.card(second.job_id, JobStatus.RUNNING)
    assert one.deliver(first.job_id) == 0
    assert 1.0 < box.paused() <= 2.0
    assert other.deliver(second.job_id) == 0  # not tried: Slack asked everyone to wait
    assert len(standin.calls_to("chat.postMessage")) == 1
    poll_until(lambda: box.paused() == 0, timeout=10, what="the pause to end")
    assert other.deliver(second.job_id) == 1


def test_a_large_entry_is_stamped_without_being_rewritten(redis: Redis) -> None:
    job, box = recorded(redis), Outbox(redis)
    content = 'quote " backslash \\ slash / tab \t ünïcödé 🐳\n' * 50_000  # ~2.6 MB
    box.file(job.job_id, content=content, filename="big.log", comment="c", fallback="f")
    entry = Outbox(redis).head(job.job_id)
    assert entry is not None and entry.op == "file" and entry.content == content
    assert abs(entry.at - redis_time(redis)) < 5


def test_an_announcement_is_posted_once_edited_in_place_and_has_its_own_thread(standin: SlackStandIn,
                                                                               redis: Redis) -> None:
    job = JobRequest(job_id="a123456789", verb="deploy", args={}, user_id="U1", channel_id=CHANNEL,
                     command_text="deploy web", announce_in="CDEPLOYS")
    JobStore(redis).record_queued(job)
    box = Outbox(redis)
    box.card(job.job_id, JobStatus.RUNNING)
    box.announce(job.job_id, "CDEPLOYS", "web *started*")
    box.announce(job.job_id, "CDEPLOYS", "web *started* — building")  # both merged into the one before
    box.announce(job.job_id, "CDEPLOYS", "web *started* — switching")
    box.post(job.job_id, "details", to="announce")
    box.post(job.job_id, "in the card's thread")
    box.announce(job.job_id, "CDEPLOYS", "web *succeeded*")
    assert [Entry.from_json(e).op for e in redis.lrange(f"dockbolt:outbox:{job.job_id}", 0, -1)] == [
        "card", "announce", "post", "post", "announce"]
    assert deliverer(standin.base_url, redis).deliver(job.job_id) == 5
    (message,) = [m for m in standin.messages("CDEPLOYS") if not m.is_reply]
    assert message.text == "web *succeeded*"
    assert [m.text for m in standin.thread("CDEPLOYS", message.ts)] == ["details"]
    assert thread_texts(standin, job.job_id) == ["in the card's thread"]
    posts = [c for c in standin.calls if c.method == "chat.postMessage"]
    assert len(posts) == 4  # card, announcement, two replies: every other change was an edit


def test_a_job_announced_in_its_own_channel_has_no_card_its_thread_is_the_announcements(
        standin: SlackStandIn, redis: Redis) -> None:
    job = JobRequest(job_id="b123456789", verb="deploy", args={}, user_id="webhook", channel_id="CDEPLOYS",
                     command_text="deploy web --ref v2 (webhook)", announce_in="CDEPLOYS")
    JobStore(redis).record_queued(job)
    box = Outbox(redis)
    box.card(job.job_id, JobStatus.QUEUED)
    box.announce(job.job_id, "CDEPLOYS", "web *started*")
    box.post(job.job_id, "the build log")
    box.card(job.job_id, JobStatus.DONE)
    assert deliverer(standin.base_url, redis).deliver(job.job_id) == 4
    assert standin.find_card(job.job_id) is None
    (message,) = [m for m in standin.messages("CDEPLOYS") if not m.is_reply]
    assert [m.text for m in standin.thread("CDEPLOYS", message.ts)] == ["the build log"]
