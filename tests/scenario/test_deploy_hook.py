"""The deploy state in Redis (``DeployStore``) and the CI webhook (``DeployHook``) on the real Redis.

What is asserted: locks expire by themselves; one deploy per app, taken over once its job is over; a
rollback's image skips failed deploys and the current image; a webhook signature works once. The hook
queues exactly the app's config entry as a signed job for a valid signed request, and for anything else
answers 400/401/409/423 with nothing queued; a locked app is said in its channel; an announce-only
request is recorded in the history without queuing anything.
"""

from __future__ import annotations

import io
import json
import logging
import tomllib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pytest
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from slack_sdk import WebClient

from bot.enqueue import Dispatcher
from bot.hooks import BY, NOT_VERIFIED, DeployHook, signature
from bot.parsing import parse_run_words
from bot.verbs import CATALOG
from dockbolt.core.apps import AppConfig
from dockbolt.core.config import parse_config
from dockbolt.core.contract import JOB_FUNC, JobRequest, JobStatus
from dockbolt.core.deploys import WEBHOOK_USER, Deploy, Deploying, DeployStore
from dockbolt.core.hosts import HostInfo, HostRegistry
from dockbolt.core.jobsign import open_envelope
from dockbolt.core.jobstore import JobStore
from dockbolt.core.outbox import PREFIX, Entry, Outbox
from dockbolt.core.settings import Secret
from tests.support.harness import PLACEHOLDER
from tests.support.pipeline import HOST, QUEUE, poll_until

if TYPE_CHECKING:
    from wsgiref.types import WSGIEnvironment

pytestmark = pytest.mark.scenario

SECRET = "ci-secret-5d1f0c3e9b7a4e21"
JOB_SECRET = Secret("job-secret-for-the-hook-tests")
NOW = 1_700_000_000.0
APP_CHANNEL = "CDEPLOY1"
APPS = """\
[apps.web]
context = "https://git.example.com/acme/web.git"
image = "acme/web"
channel = "CDEPLOY1"
webhook_secret_env = "WEB_HOOK_SECRET"

[apps.web.run]
ports = ["8080:80"]

[apps.quiet]
context = "https://git.example.com/acme/quiet.git"
image = "acme/quiet"
channel = "CDEPLOY1"

[apps.unset]
context = "https://git.example.com/acme/unset.git"
image = "acme/unset"
channel = "CDEPLOY1"
webhook_secret_env = "UNSET_HOOK_SECRET"
"""


@pytest.fixture
def redis(redis_url: str) -> Redis:
    return Redis.from_url(redis_url)


@pytest.fixture
def store(redis: Redis) -> DeployStore:
    return DeployStore(redis)


@pytest.fixture
def apps() -> Mapping[str, AppConfig]:
    return parse_config(tomllib.loads(APPS), "dockbolt.toml", CATALOG, parse_run_words).apps


def recorded_job(redis: Redis, job_id: str) -> str:
    """A job the bot accepted (its record exists, not over): ``job_id``."""
    JobStore(redis).record_queued(JobRequest(job_id=job_id, verb="deploy", args={}, user_id="U1",
                                             channel_id=APP_CHANNEL, command_text="deploy web"))
    return job_id


def deploy(job: str, outcome: str, image_id: str, ref: str = "") -> Deploy:
    return Deploy(job=job, verb="deploy", by="<@U1>", ref=ref, image=f"acme/web:{ref or job}",
                  image_id=image_id, outcome=outcome, started=NOW, duration=1.0)


# --- DeployStore ----------------------------------------------------------------------------------------


def test_a_lock_is_read_back_and_removed(store: DeployStore) -> None:
    assert store.lock_of("web") is None
    lock = store.lock("web", "ULOCK", "release freeze", 600)
    assert store.lock_of("web") == lock
    assert (lock.user, lock.reason, lock.until - lock.since) == ("ULOCK", "release freeze", 600)
    assert store.lock_of("api") is None  # per app
    assert store.unlock("web") is True
    assert store.lock_of("web") is None
    assert store.unlock("web") is False


def test_a_lock_ends_by_itself(store: DeployStore) -> None:
    store.lock("web", "ULOCK", "a short one", 1)
    assert store.lock_of("web") is not None
    poll_until(lambda: store.lock_of("web") is None, timeout=10, what="the lock's expiry")


def test_one_deploy_per_app_and_the_second_is_told_who_holds_it(store: DeployStore, redis: Redis) -> None:
    first, second = recorded_job(redis, "aaaaaaaaa1"), recorded_job(redis, "bbbbbbbbb2")
    assert store.begin("web", first, "<@U1>", ttl=60) is None
    held = store.begin("web", second, "<@U2>", ttl=60)
    assert isinstance(held, Deploying) and (held.job, held.by) == (first, "<@U1>")
    assert store.deploying("web") == held
    assert store.begin("web", first, "<@U1>", ttl=60) is None  # its own job takes it again
    assert store.begin("api", second, "<@U2>", ttl=60) is None  # another app is free
    store.end("web", second)  # not the holder: nothing happens
    assert store.begin("web", second, "<@U2>", ttl=60) is not None
    store.end("web", first)
    assert store.deploying("web") is None
    assert store.begin("web", second, "<@U2>", ttl=60) is None


def test_a_deploy_whose_job_is_over_is_taken_over(store: DeployStore, redis: Redis) -> None:
    first, second = recorded_job(redis, "aaaaaaaaa1"), recorded_job(redis, "bbbbbbbbb2")
    assert store.begin("web", first, "<@U1>", ttl=60) is None
    assert store.begin("web", second, "<@U2>", ttl=60) is not None
    JobStore(redis).set_status(first, JobStatus.DONE)
    assert store.deploying("web") is None
    assert store.begin("web", second, "<@U2>", ttl=60) is None
    held = store.deploying("web")
    assert held is not None and held.job == second
    assert store.begin("web", recorded_job(redis, "ccccccccc3"), "<@U3>", ttl=60) == held


def test_history_is_newest_first_and_a_rollback_skips_failures_and_the_current_image(
        store: DeployStore) -> None:
    for d in (deploy("j1", "succeeded", "sha256:aaa", "v1"), deploy("j2", "succeeded", "sha256:bbb", "v2"),
              deploy("j3", "failed", "sha256:ccc", "v3"), deploy("j4", "rolled back", "sha256:ddd", "v4"),
              deploy("j5", "announced", "", "v5"), deploy("j6", "succeeded", "sha256:eee", "v6")):
        store.record("web", d)
    assert [d.job for d in store.history("web")] == ["j6", "j5", "j4", "j3", "j2", "j1"]
    assert [d.job for d in store.history("web", limit=2)] == ["j6", "j5"]
    assert store.history("web")[0] == deploy("j6", "succeeded", "sha256:eee", "v6")
    good = store.previous_good("web", "sha256:eee")
    assert good is not None and (good.job, good.ref) == ("j2", "v2")
    other = store.previous_good("web", "sha256:bbb")  # running something older: the newest good one
    assert other is not None and other.job == "j6"
    assert store.previous_good("api", "") is None


def test_nothing_to_roll_back_to_when_every_other_deploy_failed(store: DeployStore) -> None:
    store.record("web", deploy("j1", "failed", "sha256:aaa"))
    store.record("web", deploy("j2", "succeeded", "sha256:bbb"))
    assert store.previous_good("web", "sha256:bbb") is None


def test_a_webhook_signature_is_used_once(store: DeployStore) -> None:
    assert store.first_use("v1=abc") is True
    assert store.first_use("v1=abc") is False
    assert store.first_use("v1=abd") is True


# --- the webhook ----------------------------------------------------------------------------------------


def make_hook(redis: Redis, apps: Mapping[str, AppConfig], clock: Callable[[], float] = lambda: NOW,
              environ: Mapping[str, str] | None = None) -> DeployHook:
    dispatcher = Dispatcher(WebClient(base_url="http://127.0.0.1:9/api/"), redis, JOB_SECRET, deliver=None)
    HostRegistry(redis).beat(HostInfo(name=HOST), PLACEHOLDER, ttl=3600)  # the one host deploys go to
    return DeployHook(apps, dispatcher, environ={"WEB_HOOK_SECRET": SECRET} if environ is None else environ,
                      clock=clock)


@pytest.fixture
def hook(redis: Redis, apps: Mapping[str, AppConfig]) -> DeployHook:
    return make_hook(redis, apps)


def request(body: object, *, secret: str = SECRET, stamp: float | None = NOW, sign: bool = True,
            method: str = "POST") -> WSGIEnvironment:
    """A WSGI environ of a POST (``body`` as JSON unless bytes), signed with ``secret`` at ``stamp``."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    env: dict[str, Any] = {"REQUEST_METHOD": method, "CONTENT_LENGTH": str(len(raw)),
                           "wsgi.input": io.BytesIO(raw)}
    if stamp is not None:
        env["HTTP_X_DOCKBOLT_TIMESTAMP"] = str(int(stamp))
    if sign:
        env["HTTP_X_DOCKBOLT_SIGNATURE"] = signature(secret, str(int(stamp or 0)), raw)
    return env


def queued(redis: Redis) -> list[JobRequest]:
    queue = Queue(QUEUE, connection=redis, serializer=JSONSerializer)
    jobs = [queue.fetch_job(job_id) for job_id in queue.job_ids]
    assert all(j is not None and j.func_name == JOB_FUNC for j in jobs)
    return [JobRequest.from_dict(open_envelope(j.args[0], JOB_SECRET)) for j in jobs if j is not None]


def written(redis: Redis) -> list[str]:
    """Every key in Redis but the webhook's replay marks and the host registry."""
    keys = (k.decode() if isinstance(k, bytes) else str(k) for k in redis.keys("*"))
    return sorted(k for k in keys if not k.startswith(("dockbolt:hook:seen:", "dockbolt:hosts")))


def outbox(redis: Redis, job_id: str) -> list[Entry]:
    return [Entry.from_json(raw) for raw in redis.lrange(PREFIX + job_id, 0, -1)]


def test_a_signed_ref_queues_the_apps_config_as_a_webhook_deploy(hook: DeployHook, redis: Redis,
                                                                  apps: Mapping[str, AppConfig]) -> None:
    status, answer = hook.answer(request({"app": "web", "ref": "v2"}))
    assert status == 202, answer
    [job] = queued(redis)
    assert job.job_id == answer["job_id"]
    assert (job.verb, job.user_id, job.channel_id, job.announce_in) == (
        "deploy", WEBHOOK_USER, APP_CHANNEL, APP_CHANNEL)
    assert job.args == apps["web"].deploy_args(by=BY, ref="v2").to_dict()
    record = JobStore(redis).get(job.job_id)
    assert record is not None and record.status == JobStatus.QUEUED
    entries = outbox(redis, job.job_id)
    announce = [e for e in entries if e.op == "announce"]
    assert len(announce) == 1 and announce[0].channel == APP_CHANNEL
    assert "`web` deploy *started*" in announce[0].text and "ref `v2`" in announce[0].text


def test_a_signed_image_queues_a_deploy_of_that_image(hook: DeployHook, redis: Redis,
                                                       apps: Mapping[str, AppConfig]) -> None:
    status, answer = hook.answer(request({"app": "web", "image": "acme/web:v2"}))
    assert status == 202, answer
    [job] = queued(redis)
    assert job.args == apps["web"].deploy_args(by=BY, image="acme/web:v2").to_dict()


def test_the_wsgi_app_answers_json_with_the_status(hook: DeployHook, redis: Redis) -> None:
    seen: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[
            [bytes], object]:
        seen.append((status, headers))
        return lambda _: None

    body = b"".join(hook(request({"app": "web", "ref": "main"}), start_response))
    assert seen[0][0] == "202 Accepted"
    assert ("Content-Type", "application/json") in seen[0][1]
    assert json.loads(body)["job_id"] == queued(redis)[0].job_id


@pytest.mark.parametrize(("req", "why"), [
    (request({"app": "web", "ref": "v2"}, secret="not-the-secret"), "bad X-Dockbolt-Signature"),
    (request({"app": "web", "ref": "v2"}, sign=False), "bad X-Dockbolt-Signature"),
    (request({"app": "web", "ref": "v2"}, stamp=None), "missing or stale X-Dockbolt-Timestamp"),
    (request({"app": "web", "ref": "v2"}, stamp=None, sign=False), "missing or stale"),
    (request({"app": "web", "ref": "v2"}, stamp=NOW - 301), "missing or stale"),
    (request({"app": "web", "ref": "v2"}, stamp=NOW + 301), "missing or stale"),
], ids=["wrong-secret", "no-signature", "no-timestamp", "no-headers", "stale", "future"])
def test_an_unsigned_or_stale_request_is_refused_and_nothing_happens(
        hook: DeployHook, redis: Redis, req: WSGIEnvironment, why: str,
        caplog: pytest.LogCaptureFixture) -> None:
    status, answer = refused(hook, req, caplog)
    assert (status, answer["error"]) == (401, NOT_VERIFIED)
    assert why in answer["logged"], answer
    assert queued(redis) == [] and written(redis) == []


def refused(hook: DeployHook, req: WSGIEnvironment,
            caplog: pytest.LogCaptureFixture) -> tuple[int, dict[str, str]]:
    """The hook's answer to ``req``, with what the bot logged of it under "logged"."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.hooks"):
        status, answer = hook.answer(req)
    return status, {**answer, "logged": " ".join(r.getMessage() for r in caplog.records)}


def test_an_unknown_app_is_answered_as_a_known_app_with_a_wrong_signature(
        hook: DeployHook, redis: Redis, caplog: pytest.LogCaptureFixture) -> None:
    """Nobody without a secret can tell which apps exist (an unknown app was a 400 naming it)."""
    unknown = refused(hook, request({"app": "nope", "ref": "v2"}), caplog)
    wrong = refused(hook, request({"app": "web", "ref": "v2"}, secret="not-the-secret"), caplog)
    unsecured = refused(hook, request({"app": "quiet", "ref": "v2"}, secret="not-the-secret"), caplog)
    assert unknown[0] == wrong[0] == unsecured[0] == 401
    assert unknown[1]["error"] == wrong[1]["error"] == unsecured[1]["error"] == NOT_VERIFIED
    assert "unknown app 'nope'" in unknown[1]["logged"]  # the operator can still tell
    assert "web: bad X-Dockbolt-Signature" in wrong[1]["logged"]
    assert "webhooks are off for quiet" in unsecured[1]["logged"]
    assert queued(redis) == [] and written(redis) == []


def test_a_signature_of_another_body_is_refused(hook: DeployHook, redis: Redis) -> None:
    req = request({"app": "web", "ref": "v2"})
    raw = json.dumps({"app": "web", "ref": "v3"}).encode()
    req.update({"wsgi.input": io.BytesIO(raw), "CONTENT_LENGTH": str(len(raw))})
    status, _ = hook.answer(req)
    assert status == 401
    assert queued(redis) == []


def test_the_clock_decides_staleness(redis: Redis, apps: Mapping[str, AppConfig],
                                     caplog: pytest.LogCaptureFixture) -> None:
    late = make_hook(redis, apps, clock=lambda: NOW + 301)
    status, answer = refused(late, request({"app": "web", "ref": "v2"}), caplog)
    assert status == 401 and "stale" in answer["logged"]
    in_time = make_hook(redis, apps, clock=lambda: NOW + 299)
    assert in_time.answer(request({"app": "web", "ref": "v2"}))[0] == 202


def test_a_replayed_request_is_refused(hook: DeployHook, redis: Redis) -> None:
    body = {"app": "web", "ref": "v2"}
    assert hook.answer(request(body))[0] == 202
    status, answer = hook.answer(request(body))  # the very same signed request again
    assert status == 401 and "replay" in answer["error"]
    assert len(queued(redis)) == 1


@pytest.mark.parametrize(("body", "why"), [
    (b"{not json", "the body is not JSON"),
    (["web", "v2"], "must be a JSON object"),
    ({"app": "web", "ref": "v2", "image": "acme/web:v2"}, 'give exactly one of "ref", "image"'),
    ({"app": "web"}, 'give exactly one of "ref", "image"'),
    ({"app": "web", "ref": "v2", "extra": 1}, 'give exactly one of "ref", "image"'),
    ({"app": "web", "ref": "../../etc"}, "is not a branch, tag or commit name"),
    ({"app": "web", "ref": "-uhack"}, "is not a branch, tag or commit name"),
    ({"app": "web", "ref": 2}, '"ref" must be a string'),
    ({"app": "web", "image": "Acme/Web"}, "invalid image"),
    ({"app": "web", "image": "evil/miner:1"}, '"image" must be a tag of acme/web'),
    ({"app": "web", "image": "acme/web-other:1"}, '"image" must be a tag of acme/web'),
    ({"app": "web", "announce": {"status": "great"}}, '"announce" needs a "status"'),
    ({"app": "web", "announce": {"status": "succeeded", "url": "javascript:x"}}, '"announce" takes'),
])
def test_a_bad_body_is_refused_with_400_and_nothing_queued(hook: DeployHook, redis: Redis, body: object,
                                                            why: str) -> None:
    status, answer = hook.answer(request(body))
    assert status == 400 and why in answer["error"], answer
    assert queued(redis) == [] and written(redis) == []


@pytest.mark.parametrize("app", ["quiet", "unset"])
def test_an_app_without_a_webhook_secret_refuses_every_request(
        redis: Redis, apps: Mapping[str, AppConfig], app: str, caplog: pytest.LogCaptureFixture) -> None:
    # "quiet" has no webhook_secret_env; "unset" names a variable that is not set (or empty)
    hook = make_hook(redis, apps, environ={"WEB_HOOK_SECRET": SECRET, "UNSET_HOOK_SECRET": ""})
    status, answer = refused(hook, request({"app": app, "ref": "v2"}, secret=""), caplog)
    assert (status, answer["error"]) == (401, NOT_VERIFIED)
    assert f"webhooks are off for {app}" in answer["logged"]
    assert queued(redis) == [] and written(redis) == []


def test_a_locked_app_is_refused_and_said_in_its_channel(hook: DeployHook, redis: Redis,
                                                          store: DeployStore) -> None:
    store.lock("web", "ULOCK", "release freeze", 600)
    status, answer = hook.answer(request({"app": "web", "ref": "v2"}))
    assert status == 423
    assert "locked by <@ULOCK>" in answer["error"] and "release freeze" in answer["error"]
    assert queued(redis) == []
    [job_id] = Outbox(redis).due()
    [entry] = outbox(redis, job_id)
    assert (entry.op, entry.channel) == ("announce", APP_CHANNEL)
    assert "CI's deploy of `web` was refused" in entry.text and "locked by <@ULOCK>" in entry.text
    record = JobStore(redis).get(job_id)
    assert record is not None and record.status == JobStatus.FAILED  # said, and over
    assert store.history("web") == []


def test_a_deploy_in_progress_refuses_the_webhook_until_its_job_is_over(hook: DeployHook, redis: Redis,
                                                                          store: DeployStore) -> None:
    running = recorded_job(redis, "aaaaaaaaa1")
    store.begin("web", running, "<@U1>", ttl=60)
    status, answer = hook.answer(request({"app": "web", "ref": "v2"}))
    assert status == 409 and "aaaaaaaaa1" in answer["error"]
    assert queued(redis) == []
    JobStore(redis).set_status(running, JobStatus.DONE)
    assert hook.answer(request({"app": "web", "ref": "v3"}))[0] == 202


def test_an_announce_only_request_is_said_and_recorded_not_queued(hook: DeployHook, redis: Redis,
                                                                   store: DeployStore) -> None:
    body = {"app": "web", "announce": {"status": "succeeded", "ref": "v7", "url": "https://ci.example.com/r/1"}}
    status, answer = hook.answer(request(body))
    assert status == 202, answer
    job_id = answer["job_id"]
    assert queued(redis) == []
    [last] = store.history("web")
    assert (last.job, last.verb, last.by, last.ref, last.outcome) == (job_id, "deploy", BY, "v7", "succeeded")
    assert store.previous_good("web", "") is None  # no image: never a rollback target
    [entry] = outbox(redis, job_id)
    assert (entry.op, entry.channel) == ("announce", APP_CHANNEL)
    assert "*succeeded*" in entry.text and "ref `v7`" in entry.text
    assert "<https://ci.example.com/r/1|details>" in entry.text
    record = JobStore(redis).get(job_id)
    assert record is not None and record.status == JobStatus.DONE


def test_only_post_is_answered(hook: DeployHook, redis: Redis) -> None:
    status, _ = hook.answer(request({"app": "web", "ref": "v2"}, method="GET"))
    assert status == 405
    assert written(redis) == []
