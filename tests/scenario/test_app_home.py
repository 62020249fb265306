"""The App Home tab end to end: Slack's ``app_home_opened`` reaches the real bot — as a signed Events API
POST to its HTTP endpoint, or as an ``events_api`` envelope over Socket Mode — and the bot publishes the
viewer's Home view with views.publish, which the stand-in records per user.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dockbolt.console.home import home_lines, open_home
from dockbolt.console.slack_standin import EventsClient, HomeView, SlackStandIn
from dockbolt.console.standin.events import app_home_opened, event_callback
from dockbolt.core.jobstore import JobStore
from tests.support.harness import SECRET
from tests.support.pipeline import Pipeline, poll_until, start_pipeline
from tests.support.socket_bot import SocketBot

pytestmark = pytest.mark.scenario

GUARD = 30.0  # only so that a broken bot fails instead of hanging


def published(standin: SlackStandIn, user: str, after: int = 0) -> HomeView:
    """Wait for a Home view of ``user`` newer than the ``after``-th."""
    def newer() -> HomeView | None:
        view = standin.home_view(user)
        return view if view is not None and view.number > after else None

    return standin.wait_for(newer, timeout=GUARD)


def text_of(view: HomeView) -> str:
    return "\n".join(home_lines(view))


def test_a_signed_event_over_http_publishes_the_viewers_home(pipeline: Pipeline) -> None:
    assert pipeline.send("ps -a", user_id="UOPERATOR").status == 200
    assert pipeline.send("images", user_id="UVIEWER").status == 200
    store = JobStore(pipeline.redis)
    (mine,) = [r.request.job_id for r in poll_until(lambda: store.recent_for_user("UOPERATOR"))]
    (theirs,) = [r.request.job_id for r in poll_until(lambda: store.recent_for_user("UVIEWER"))]
    assert pipeline.bot.server is not None
    events = EventsClient(pipeline.bot.server.url, SECRET)
    resp = events.app_home_opened("UOPERATOR")
    assert resp.status == 200, resp.body
    view = published(pipeline.standin, "UOPERATOR")
    (call,) = pipeline.standin.calls_to("views.publish")
    assert call.error is None and call.params["user_id"] == "UOPERATOR"
    assert view.view["type"] == "home"
    text = text_of(view)
    assert "`operator` (binding #1 (users)) — in every channel" in text
    assert f"`{mine}` `ps -a` — *queued* on `local`" in text
    assert theirs not in text and "images" not in text.split("Your recent jobs")[1].split("Docker hosts")[0]
    assert "`local` — live (1 worker)" in text  # the harness's placeholder registration
    # Opening it again publishes it again (the same view id, a new hash), nothing else.
    assert events.app_home_opened("UOPERATOR").status == 200
    again = published(pipeline.standin, "UOPERATOR", after=view.number)
    assert again.id == view.id and again.hash != view.hash
    assert pipeline.standin.home_view("UVIEWER") is None


def test_a_user_without_a_role_is_told_to_ask_an_admin_and_sees_no_hosts(pipeline: Pipeline) -> None:
    assert pipeline.bot.server is not None
    assert EventsClient(pipeline.bot.server.url, SECRET).app_home_opened("UNOBODY").status == 200
    text = text_of(published(pipeline.standin, "UNOBODY"))
    assert "You have no roles — ask an admin to bind one to your id `UNOBODY`." in text
    assert "`local`" not in text and "none of your roles allows `hosts`" in text


def test_a_group_viewer_sees_the_channel_bound_role_with_its_channel(redis_url: str, tmp_path: Path) -> None:
    p = start_pipeline(redis_url, tmp_path, usergroups={"SVIEWERS": ["UGROUPIE"]})
    try:
        assert p.bot.server is not None
        assert EventsClient(p.bot.server.url, SECRET).app_home_opened("UGROUPIE").status == 200
        text = text_of(published(p.standin, "UGROUPIE"))
        assert "`viewer` (binding #4 (groups)) — only in #CTEAM" in text
        assert "none of your roles allows `jobs`" in text  # only in CTEAM: not on Home
    finally:
        p.close()


def test_unsigned_or_other_tab_events_publish_nothing(pipeline: Pipeline) -> None:
    assert pipeline.bot.server is not None
    events = EventsClient(pipeline.bot.server.url, SECRET)
    assert events.send(event_callback(app_home_opened("UOPERATOR")), sign=False).status == 401
    forged = EventsClient(pipeline.bot.server.url, "not-the-secret")
    assert forged.app_home_opened("UOPERATOR").status == 401
    assert events.app_home_opened("UOPERATOR", tab="messages").status == 200
    time.sleep(1.0)  # the lazy listener would have published by now (the HTTP case takes milliseconds)
    assert pipeline.standin.home_view("UOPERATOR") is None
    assert pipeline.standin.calls_to("views.publish") == []


def test_url_verification_is_answered_by_bolt(pipeline: Pipeline) -> None:
    assert pipeline.bot.server is not None
    resp = EventsClient(pipeline.bot.server.url, SECRET).send(
        {"token": "x", "challenge": "c-123", "type": "url_verification"})
    assert resp.status == 200 and "c-123" in resp.body


def test_the_console_home_command_prints_the_published_view(pipeline: Pipeline) -> None:
    assert pipeline.bot.server is not None
    lines = open_home(pipeline.standin, pipeline.bot.server.url, SECRET, "UADMIN")
    assert lines[0] == "  [Home tab of UADMIN]", lines
    assert any("`admin` (binding #3 (users))" in line for line in lines)
    bad = open_home(pipeline.standin, pipeline.bot.server.url, "wrong", "UADMIN", timeout=1)
    assert bad[0].startswith("  ! the bot answered HTTP 401")


def test_app_home_opened_over_socket_mode_publishes_the_home(socket_bot: SocketBot) -> None:
    ack = socket_bot.socket.app_home_opened("UVIEWER", timeout=GUARD)
    assert ack.kind == "events_api" and ack.connection == 1
    view = published(socket_bot.standin, "UVIEWER")
    text = text_of(view)
    assert "`viewer` (binding #2 (users)) — in every channel" in text
    assert "No recent jobs." in text
    assert socket_bot.standin.home_view("UOPERATOR") is None
