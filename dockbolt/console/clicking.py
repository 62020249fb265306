"""Picking a numbered choice: the console clicks the button (or menu option) the way Slack does.

A signed ``block_actions`` interaction goes to the bot's request URL (the slash command's), with a fresh
response_url the console watches; a choice with a confirmation dialog is asked about first, and nothing is
sent unless the answer is yes. Whatever the bot posts in answer shows as usual; the console waits until
the stand-in has been quiet for a moment and, when the click queued a job (its card appeared), the
console follows that job as it does a command's, so piped input stays in order.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from dockbolt.console.block_actions import block_actions
from dockbolt.console.choices import Choice, confirm_question
from dockbolt.console.render import mrkdwn
from dockbolt.console.slack_standin import SlackStandIn
from dockbolt.console.slash_client import SlashClient
from dockbolt.console.view import ConsoleView, Printer

# Asks the user a yes/no question (the confirmation dialog); True for yes.
Ask = Callable[[str], bool]


class Clicker:
    """Sends the clicks of one console user."""

    def __init__(self, client: SlashClient, standin: SlackStandIn, view: ConsoleView, printer: Printer, *,
                 user_id: str, settle: float = 0.2) -> None:
        self.client = client
        self.standin = standin
        self.view = view
        self.printer = printer
        self.user_id = user_id
        self.settle = settle
        self.job_id: str | None = None  # the job the last click queued (its card appeared), if any

    def click(self, number: int, ask: Ask) -> bool:
        """Pick choice ``number``; True when the bot was sent the click and answered 200."""
        self.job_id = None
        choice = self.view.choices.get(number)
        if choice is None:
            self.printer.lines([f"  ! no choice [{number}]: pick one of the numbers shown as [n] under "
                                "a message"])
            return False
        question = confirm_question(choice)
        if question is not None and not ask(mrkdwn(question)):
            self.printer.lines([f"  (not sent: [{number}] {choice.label})"])
            return False
        url = self.standin.new_response_url(choice.source.channel_id,
                                            None if choice.source.ephemeral else choice.source.ts)
        self.view.watch_response_url(url)
        self.view.new_command()
        payload = block_actions(action=choice.action, source=choice.source, user_id=self.user_id,
                                response_url=url, token=self.client.verification_token)
        before, jobs = self.view.events, self.view.job_ids()
        # What the bot posts before its ack arrives is shown after the ack, as for a command.
        self.printer.hold()
        try:
            resp = self.client.send_interaction(payload)
        except OSError as exc:
            self.printer.release([f"  ! cannot reach the bot at {self.client.url}: {exc}"])
            return False
        self.printer.release(click_lines(choice, resp.status, resp.body))
        if resp.status != 200:
            return False
        self.job_id = job_started(self.standin, self.view, self.settle, events=before, jobs=jobs)
        return True


def job_started(standin: SlackStandIn, view: ConsoleView, quiet: float, *, events: int, jobs: set[str]
                ) -> str | None:
    """After the bot answered with nothing to show: the job whose card appears (not in ``jobs``), as soon
    as it does; None once the stand-in stayed quiet for ``quiet`` seconds (``events``: the view's count
    before the request) without one. Ctrl-C propagates: the caller stops waiting."""
    deadline, seen = time.monotonic() + max(quiet * 25, 1.0), [events]

    def news() -> bool:
        return view.events != seen[0] or bool(view.job_ids() - jobs)

    while (new := min(view.job_ids() - jobs, default=None)) is None and time.monotonic() < deadline:
        try:
            standin.wait_for(news, timeout=max(quiet, 0.05))
        except TimeoutError:
            return None
        seen[0] = view.events
    return new


def wait_until_quiet(standin: SlackStandIn, state: Callable[[], object], quiet: float, *,
                     start: object = None) -> None:
    """Wait until ``state()`` (compared with ``start``, else its value now) has not changed for ``quiet``
    seconds; at most ``25 * quiet`` seconds (1 s at least) in all."""
    deadline = time.monotonic() + max(quiet * 25, 1.0)
    seen = [state() if start is None else start]

    def changed() -> bool:
        return state() != seen[0]

    while quiet > 0 and time.monotonic() < deadline:
        try:
            standin.wait_for(changed, timeout=quiet)
        except TimeoutError:
            return
        seen[0] = state()


def click_lines(choice: Choice, status: int, answer: str) -> list[str]:
    """How the bot's HTTP answer to a click is shown (Slack shows nothing for a 200; an error otherwise)."""
    if status != 200:
        return [f"  ! the bot answered HTTP {status} to [{choice.number}] {choice.label}: "
                f"{answer.strip()[:300]}"]
    return [f"  (clicked [{choice.number}] {mrkdwn(choice.label)})"]
