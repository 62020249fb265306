"""The local console: a terminal session that plays Slack for a bot running against the stand-in.

Each line is sent to the bot as a signed slash command (with a fresh response_url); the private ack is
printed, then the job's card and thread as they grow. The job id comes from the ack's machine-readable
block (``bot.messages.accepted_job_id``) or, when the ack is empty, from the job card that appears
right after it; the job is followed through the card whose metadata names
it (``SlackStandIn.find_card``). The console waits for the job to finish before reading the next line,
so piped input (``printf 'run …\\nps\\n' | dockbolt up``) runs in order. Buttons and menus show as
numbered choices; typing a number clicks one (``dockbolt.console.clicking``).
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, TextIO

with contextlib.suppress(ImportError):  # line editing and history for input() (not on every platform)
    import readline  # noqa: F401

from bot.messages import PRIVATE_BLOCK, accepted_job_id
from dockbolt.console.clicking import Clicker, job_started, wait_until_quiet
from dockbolt.console.home import HOME_WORD, open_home
from dockbolt.console.render import body, indent
from dockbolt.console.slack_standin import Message, SlackStandIn
from dockbolt.console.slash_client import SlashClient, SlashResponse
from dockbolt.console.view import ONLY_YOU, ConsoleView, Printer
from dockbolt.core.config import USER_ID_RE

EXIT_WORDS = frozenset({"exit", "quit"})
AS_WORD = "as"  # `as U0123ABC`: type and click as another user of the workspace
PRIVATE_WAIT = 60.0  # seconds a --private job's first answer is waited for


def run_console(
    *,
    bot_url: str,
    signing_secret: str,
    standin: SlackStandIn,
    user_id: str,
    channel_id: str = "CCONSOLE",
    command: str = "/docker",
    stdin: TextIO,
    stdout: TextIO,
    wait_timeout: float = 300,
    settle: float = 0.2,
) -> int:
    """Read commands until exit/quit/EOF, showing what the bot answers and posts; returns 0."""
    printer = Printer(stdout)
    view = ConsoleView(printer, channel_id=channel_id, user_id=user_id)
    unsubscribe = standin.subscribe(view.on_event)
    client = SlashClient(bot_url, signing_secret)
    clicker = Clicker(client, standin, view, printer, user_id=user_id, settle=settle)
    interactive = stdin.isatty()
    try:
        while True:
            try:
                line = _read_line(stdin, printer, f"{command}> ", interactive)
            except KeyboardInterrupt:  # Ctrl-C at the prompt drops the line, as a shell does
                printer.prompt_answered()
                printer.lines([""])
                continue
            printer.prompt_answered()
            if not line:
                break
            text = command_text(line, command)
            if text is None:
                continue
            if text in EXIT_WORDS:
                break
            if not interactive:
                printer.lines([f"{command}> {text}"])  # piped input: show what is being run
            if text == HOME_WORD:  # the App Home tab, as the bot publishes it (dockbolt.console.home)
                printer.lines(open_home(standin, bot_url, signing_secret, user_id))
                continue
            if text.split()[:1] == [AS_WORD]:  # another user from now on (a second person, for approvals)
                user_id = view.user_id = clicker.user_id = _as_user(text, printer) or user_id
                continue
            job_id = None
            try:
                if text.isdigit() and text == line.strip():  # a numbered choice ([3] Stop): click it
                    sent = clicker.click(int(text), lambda q: _confirm(stdin, printer, q, interactive))
                    job_id = clicker.job_id if sent else None
                else:
                    job_id = _send(
                        client, standin, view, printer, text, user_id=user_id, channel_id=channel_id,
                        command=command, settle=settle,
                    )
                if job_id is not None:
                    _wait_for_job(standin, printer, job_id, wait_timeout, settle)
            except KeyboardInterrupt:  # Ctrl-C stops the waiting, not the job nor the console
                which = f"job {job_id}" if job_id else "the job"
                printer.lines([f"  (not waiting for {which} any more: it goes on, and what it posts still "
                               "shows here)"])
    finally:
        unsubscribe()
    return 0


def _read_line(stdin: TextIO, printer: Printer, prompt: str, interactive: bool) -> str:
    """The next line ("" at the end). At a terminal, ``input`` reads it: with the ``readline`` module
    loaded that gives line editing and this session's history (arrow keys)."""
    if not interactive or stdin is not sys.stdin:
        if interactive:
            printer.prompt(prompt)
        return stdin.readline()
    printer.prompt(prompt, shown=False)  # input() shows it, so that readline knows where the line starts
    try:
        return input(prompt) + "\n"
    except EOFError:
        return ""


def _confirm(stdin: TextIO, printer: Printer, question: str, interactive: bool) -> bool:
    """Ask a yes/no question on the next line (Ctrl-C or end of input: no)."""
    try:
        answer = _read_line(stdin, printer, question + " ", interactive).strip()
    except KeyboardInterrupt:
        answer = ""
    printer.prompt_answered()
    if not interactive:
        printer.lines([f"{question} {answer}"])  # piped input: show the question and the answer
    return answer.lower() in ("y", "yes")


def command_text(line: str, command: str) -> str | None:
    """The slash command's text for a typed line ("/docker ps" or "ps"); None for a blank line."""
    text = line.strip()
    if not text:
        return None
    if text == command:
        return ""
    if text.startswith(command + " "):
        return text[len(command) + 1 :].strip()
    return text


def ack_lines(resp: SlashResponse, view: ConsoleView | None = None) -> list[str]:
    """How the bot's HTTP answer to a slash command is shown (with ``view``, buttons as its choices)."""
    if resp.status != 200:
        return [f"  ! the bot answered HTTP {resp.status}: {resp.body.strip()[:300]}"]
    if resp.json is not None:
        text, blocks = str(resp.json.get("text") or ""), resp.json.get("blocks")
        in_channel = resp.json.get("response_type") == "in_channel"
        actions = view.answer_actions(text, blocks, in_channel=in_channel) if view is not None else None
        return indent(body(text, blocks, actions), "  " if in_channel else ONLY_YOU)
    return indent(resp.body.strip(), ONLY_YOU)


def _as_user(text: str, printer: Printer) -> str | None:
    """The user id of `as U0123ABC` (said), or None (the usage said)."""
    who = text.split()[1:]
    if len(who) != 1 or not USER_ID_RE.match(who[0]):
        printer.lines(["  ! usage: as USER_ID (a Slack user id such as U0123ABC)"])
        return None
    printer.lines([f"  (you are {who[0]} now: commands and clicks are theirs)"])
    return who[0]


def _send(
    client: SlashClient,
    standin: SlackStandIn,
    view: ConsoleView,
    printer: Printer,
    text: str,
    *,
    user_id: str,
    channel_id: str,
    command: str,
    settle: float,
) -> str | None:
    url = standin.new_response_url(channel_id)
    view.watch_response_url(url)
    view.new_command()
    before, jobs = view.events, view.job_ids()
    # Whatever the bot posts before its ack arrives is shown after the ack, as Slack would order it.
    printer.hold()
    try:
        resp = client.send(text, user_id=user_id, channel_id=channel_id, command=command, response_url=url)
    except OSError as exc:
        printer.release([f"  ! cannot reach the bot at {client.url}: {exc}"])
        return None
    except KeyboardInterrupt:
        printer.release([])
        raise
    printer.release(ack_lines(resp, view))
    if resp.status != 200:
        return None
    if resp.json is None and not resp.body.strip():  # an empty ack: the job's card says it was accepted
        return job_started(standin, view, settle, events=before, jobs=jobs)
    if _private(resp.json):  # no card will come: show the private answer once it arrived and settled
        with contextlib.suppress(TimeoutError):
            standin.wait_for(lambda: view.events != before, timeout=PRIVATE_WAIT)
        wait_until_quiet(standin, lambda: view.events, settle)
        return None
    return accepted_job_id(resp.json)


def _private(ack: dict[str, Any] | None) -> bool:
    """The ack of a ``--private`` job (its answer comes as private messages, no card)."""
    return any(str(b.get("block_id", "")).startswith(PRIVATE_BLOCK) for b in (ack or {}).get("blocks") or ())


def _wait_for_job(
    standin: SlackStandIn, printer: Printer, job_id: str, timeout: float, settle: float
) -> None:
    def final_card() -> Message | None:
        card = standin.find_card(job_id)
        return card if card is not None and card.status is not None and card.status.final else None

    try:
        card = standin.wait_for(final_card, timeout=timeout)
    except TimeoutError:
        printer.lines([f"  (job {job_id} not finished after {timeout:g} s; not waiting any longer)"])
        return
    _settle(standin, card, settle)


def _settle(standin: SlackStandIn, card: Message, quiet: float) -> None:
    """Wait until the job's thread has been quiet for ``quiet`` seconds (bounded).

    Workers often post the output right after the final card edit; without this the next command's
    lines would interleave with the previous job's output.
    """

    def state() -> tuple[int, int]:
        current = standin.message(card.channel, card.ts)
        return len(standin.thread(card.channel, card.ts)), current.updates if current else 0

    wait_until_quiet(standin, state, quiet)
