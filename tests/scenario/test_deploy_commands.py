"""The bot's side of deploys, over signed HTTP (no worker): the app's run options are authorized like
`run`'s, unknown apps get the closest name, locks refuse others privately, `why` sees what the ack sees."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from bot.messages import accepted_job_id
from tests.support.pipeline import QUEUE, TEST_CONFIG, Pipeline, poll_until, start_pipeline

APPS = TEST_CONFIG + """
[[rbac.bindings]]
role = "deployer"
users = ["UDEP1", "UDEP2"]

[apps.web]
context = "https://git.example.com/acme/web.git"
image = "acme/web"
channel = "CDEPLOYS"
run = { ports = ["8080:80"] }

[apps.public]
context = "https://git.example.com/acme/public.git"
image = "acme/public"
run = { ports = ["0.0.0.0:80:80"] }
"""


@pytest.fixture
def bot(redis_url: str, tmp_path: Path) -> Iterator[Pipeline]:
    p = start_pipeline(redis_url, tmp_path, APPS)
    yield p
    p.close()


def ack(p: Pipeline, text: str, user: str) -> str:
    return str((p.send(text, user_id=user).json or {}).get("text", ""))


def queued(p: Pipeline) -> int:
    return len(Queue(QUEUE, connection=p.redis, serializer=JSONSerializer).job_ids)


def test_a_deploy_whose_run_options_need_a_grant_is_refused_and_why_says_so(bot: Pipeline) -> None:
    refused = ack(bot, "deploy public", "UDEP1")
    assert "needs the grant `public-ports`" in refused, refused
    explained = ack(bot, "why deploy public", "UDEP1")
    assert explained.startswith("⛔") and "public-ports" in explained
    assert queued(bot) == 0
    assert bot.job_of(bot.send("deploy web --ref v2", user_id="UDEP1")) is not None
    assert queued(bot) == 1


def test_an_unknown_app_is_named_with_the_closest_one(bot: Pipeline) -> None:
    said = ack(bot, "deploy wbe", "UDEP1")
    assert "no app `wbe`" in said and "Did you mean `web`?" in said
    assert queued(bot) == 0


def test_deploy_is_for_deployers_not_operators(bot: Pipeline) -> None:
    said = ack(bot, "deploy web", "UOPERATOR")
    assert accepted_job_id({"text": said}) is None and "needs a role that allows it" in said
    assert queued(bot) == 0


def test_a_lock_refuses_other_deployers_privately_and_unlock_names_whose_it_was(bot: Pipeline) -> None:
    assert "locked by you" in ack(bot, "lock web --for 30m migrating the db", "UDEP1")
    for verb in ("deploy web", "rollback web"):
        refused = ack(bot, verb, "UDEP2")
        assert "locked by <@UDEP1>" in refused and "migrating the db" in refused and "until" in refused
    assert "locked by <@UDEP1>" in ack(bot, "lock web taking it over", "UDEP2")  # no silent takeover
    assert queued(bot) == 0
    assert bot.job_of(bot.send("deploy web", user_id="UDEP1")) is not None  # the holder
    assert "removed <@UDEP1>'s lock" in ack(bot, "unlock web", "UDEP2")
    assert "is not locked" in ack(bot, "unlock web", "UDEP2")

    def told() -> str | None:  # both said in the app's channel (two messages, sent in either order)
        texts = [m.text for m in bot.standin.messages("CDEPLOYS")]
        return " | ".join(texts) if len(texts) == 2 else None

    said = poll_until(told, timeout=30, what="the lock and the unlock in the app's channel")
    assert "`web` is locked by <@UDEP1> until" in said and "migrating the db" in said
    assert "`web` is unlocked by <@UDEP2> (was <@UDEP1>'s: migrating the db)" in said


def test_lock_needs_a_reason_and_a_sane_duration(bot: Pipeline) -> None:
    assert "say why" in ack(bot, "lock web", "UDEP1")
    assert "at most `7d`" in ack(bot, "lock web --for 30d long", "UDEP1")
    assert "is not locked" in ack(bot, "unlock web", "UDEP1")


def test_deploys_is_a_read_verb(bot: Pipeline) -> None:
    assert "has not been deployed yet" in ack(bot, "deploys web", "UVIEWER")
    assert "no app `nope`" in ack(bot, "deploys nope", "UVIEWER")
