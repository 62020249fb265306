"""The console's clicks reach the real bot: a signed block_actions payload on the slash command's URL.

The message clicked carries the bot's own buttons (``dockbolt.core.buttons``); the bot verifies the
payload, routes it to its action listener, and queues the button's command as the clicker, its card in
the clicked message's thread. A badly signed click is refused (HTTP 401); a declined confirmation sends
nothing.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from dockbolt.console.clicking import Clicker
from dockbolt.console.slack_standin import Message
from dockbolt.console.slash_client import SlashClient
from dockbolt.console.view import ConsoleView, Printer
from dockbolt.core.buttons import actions_block, container_buttons
from tests.support.harness import SECRET, TOKEN
from tests.support.pipeline import CHANNEL, Pipeline

pytestmark = pytest.mark.scenario
USER = "UOPERATOR"


@pytest.fixture
def shown(pipeline: Pipeline) -> Iterator[tuple[ConsoleView, io.StringIO, str]]:
    """A console view of CHANNEL that has seen a bot message with the buttons of a running container."""
    out = io.StringIO()
    view = ConsoleView(Printer(out), channel_id=CHANNEL, user_id=USER)
    unsubscribe = pipeline.standin.subscribe(view.on_event)
    ts = WebClient(token=TOKEN, base_url=pipeline.standin.base_url).chat_postMessage(
        channel=CHANNEL, text="web is running",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "`web` is running"}},
                actions_block(container_buttons("web", running=True))])["ts"]
    assert "  [1] Logs  [2] Restart  [3] Stop" in out.getvalue().splitlines()
    yield view, out, str(ts)
    unsubscribe()


def clicker(pipeline: Pipeline, view: ConsoleView, out: io.StringIO, secret: str = SECRET) -> Clicker:
    assert pipeline.bot.server is not None
    return Clicker(SlashClient(pipeline.bot.server.url, secret), pipeline.standin, view, Printer(out),
                   user_id=USER, settle=0.1)


def cards_in_thread(pipeline: Pipeline, ts: str) -> list[Message]:
    return [m for m in pipeline.standin.thread(CHANNEL, ts) if m.job_id is not None]


def test_a_signed_click_runs_the_buttons_command_as_the_clicker(
    pipeline: Pipeline, shown: tuple[ConsoleView, io.StringIO, str]
) -> None:
    view, out, ts = shown
    click = clicker(pipeline, view, out)
    assert click.click(1, lambda question: pytest.fail(f"asked {question!r}")) is True
    card = pipeline.standin.wait_for(lambda: next(iter(cards_in_thread(pipeline, ts)), None), timeout=10)
    assert "logs web" in card.text and USER in card.text
    assert "  (clicked [1] Logs)" in out.getvalue().splitlines()
    assert click.job_id == card.job_id  # the console follows the job the click queued


def test_a_badly_signed_click_is_refused(pipeline: Pipeline,
                                         shown: tuple[ConsoleView, io.StringIO, str]) -> None:
    view, out, ts = shown
    assert clicker(pipeline, view, out, secret="not-the-signing-secret").click(1, lambda q: True) is False
    assert any(line.startswith("  ! the bot answered HTTP 401 to [1] Logs")
               for line in out.getvalue().splitlines()), out.getvalue()
    time.sleep(0.5)  # the bot's lazy listener would have posted by now
    assert cards_in_thread(pipeline, ts) == []


def test_the_confirmation_is_asked_and_declining_sends_nothing(
    pipeline: Pipeline, shown: tuple[ConsoleView, io.StringIO, str]
) -> None:
    view, out, ts = shown
    asked: list[str] = []

    def no(question: str) -> bool:
        asked.append(question)
        return False

    click = clicker(pipeline, view, out)
    assert click.click(3, no) is False
    assert asked == ["Are you sure?: Stop `web`? [y/N]"]
    assert "  (not sent: [3] Stop)" in out.getvalue().splitlines()
    time.sleep(0.5)
    assert cards_in_thread(pipeline, ts) == []
    assert click.click(3, lambda question: True) is True
    card = pipeline.standin.wait_for(lambda: next(iter(cards_in_thread(pipeline, ts)), None), timeout=10)
    assert "stop web" in card.text
