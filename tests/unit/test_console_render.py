"""The console: rendering helpers, and whole sessions against the stand-in and a small signed fake bot.

The fake bot verifies Slack's signature, acks like dockbolt's bot ("accepted as job `…`", the job id also
in the ack's machine-readable block) and then, from another thread, posts a real job card
(``dockbolt.core.card.build_card``), thread replies, a file and the final card edit into the stand-in
with slack_sdk — slowly enough that a console that did not wait for the job would visibly run the next
command too early.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from bot.messages import ACCEPTED_BLOCK
from dockbolt.console.render import blocks_text, card_detail, card_summary, file_lines, mrkdwn
from dockbolt.console.repl import ack_lines, command_text, run_console
from dockbolt.console.slack_standin import Message, SlackStandIn, UploadedFile
from dockbolt.console.slash_client import SlashResponse
from dockbolt.console.view import Printer
from dockbolt.core.card import build_card
from dockbolt.core.contract import JobStatus
from tests.support.fake_endpoint import serving

SECRET = "console-test-secret"
TOKEN = "xoxb-console-test"
CHANNEL = "CCONSOLE"
USER = "UME"
STEP = 0.15  # pause between a fake job's steps, so a console that does not wait runs ahead visibly


class FakeBot:
    """A signed slash-command endpoint that runs scripted 'jobs' against the stand-in."""

    def __init__(self, standin: SlackStandIn) -> None:
        self.standin = standin
        self.client = WebClient(token=standin.token, base_url=standin.base_url)
        self.commands: list[str] = []
        self.unfinished_at_arrival: list[set[str]] = []
        self.unfinished: set[str] = set()
        self.first_card: Message | None = None
        self.jobs: list[threading.Thread] = []
        self.lock = threading.Lock()

    def handle(self, headers: dict[str, str], raw: bytes) -> tuple[int, bytes]:
        verifier = SignatureVerifier(SECRET)
        if not verifier.is_valid(
            raw, headers.get("x-slack-request-timestamp", ""), headers.get("x-slack-signature", "")
        ):
            return 401, b"invalid request"
        form = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        text = form["text"]
        with self.lock:
            self.commands.append(text)
            self.unfinished_at_arrival.append(set(self.unfinished))
        verb = text.split()[0] if text else "help"
        if verb == "help":
            return 200, json.dumps({"text": "*Usage*\n```/docker ps   list containers```"}).encode()
        if verb == "whoami":
            WebhookClient(form["response_url"]).send(text=f"you are <@{form['user_id']}>")
            return 200, b""
        if verb == "poke":
            assert self.first_card is not None
            self.client.chat_postMessage(channel=CHANNEL, thread_ts=self.first_card.ts, text="late news")
            return 200, json.dumps({"text": "poked"}).encode()
        job_id = secrets.token_hex(5)
        if verb != "hang":
            with self.lock:
                self.unfinished.add(job_id)
            job = threading.Thread(target=self.run_job, args=(job_id, form))
            self.jobs.append(job)
            job.start()
        ack = f":inbox_tray: `/docker {text}` accepted as job `{job_id}` — follow it in the thread."
        block = {"type": "section", "block_id": f"{ACCEPTED_BLOCK}:{job_id}",
                 "text": {"type": "mrkdwn", "text": ack}}
        return 200, json.dumps({"response_type": "ephemeral", "text": ack, "blocks": [block]}).encode()

    def run_job(self, job_id: str, form: dict[str, str]) -> None:
        pause = threading.Event()
        verb = form["text"].split()[0]

        def card(status: JobStatus, **kw: Any) -> dict[str, Any]:
            c = build_card(
                job_id=job_id,
                user_id=form["user_id"],
                command=form["command"],
                command_text=form["text"],
                status=status,
                **kw,
            )
            return {"text": c.text, "blocks": c.blocks, "metadata": c.metadata}

        ts = self.client.chat_postMessage(channel=CHANNEL, **card(JobStatus.QUEUED))["ts"]
        if self.first_card is None:
            self.first_card = self.standin.message(CHANNEL, ts)
        pause.wait(STEP)
        self.client.chat_update(channel=CHANNEL, ts=ts, **card(JobStatus.RUNNING))
        pause.wait(STEP)
        if verb == "fail":
            self.client.chat_update(
                channel=CHANNEL, ts=ts, **card(JobStatus.FAILED, elapsed=0.3, detail="No such container: web")
            )
        else:
            if verb == "logs":
                content = "".join(f"log line {i}\n" for i in range(30))
                self.client.files_upload_v2(
                    channel=CHANNEL,
                    thread_ts=ts,
                    content=content,
                    filename="web.log",
                    initial_comment="30 lines — full output in the file",
                )
            else:
                self.client.chat_postMessage(
                    channel=CHANNEL, thread_ts=ts, text="1 container\n```NAME   STATUS\nweb    Up 2 s```"
                )
            pause.wait(STEP)
            self.client.chat_update(channel=CHANNEL, ts=ts, **card(JobStatus.DONE, elapsed=0.5))
        with self.lock:
            self.unfinished.discard(job_id)


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn(token=TOKEN) as s:
        yield s


@pytest.fixture
def bot(standin: SlackStandIn) -> Iterator[tuple[str, FakeBot]]:
    fake = FakeBot(standin)
    with serving(lambda headers, raw: fake.handle(headers, raw)) as url:  # looked up per request
        yield url, fake
        for job in fake.jobs:
            job.join()


class TtyInput(io.StringIO):
    def isatty(self) -> bool:
        return True


def session(
    url: str,
    standin: SlackStandIn,
    text: str,
    *,
    secret: str = SECRET,
    stdin: io.StringIO | None = None,
    wait_timeout: float = 60,
) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = run_console(
        bot_url=url,
        signing_secret=secret,
        standin=standin,
        user_id=USER,
        channel_id=CHANNEL,
        stdin=stdin or io.StringIO(text),
        stdout=out,
        wait_timeout=wait_timeout,
    )
    return code, out.getvalue().splitlines()


def index_of(lines: list[str], pattern: str, start: int = 0) -> int:
    for i in range(start, len(lines)):
        if re.search(pattern, lines[i]):
            return i
    raise AssertionError(f"no line matching {pattern!r} after line {start} in:\n" + "\n".join(lines))


# -- whole sessions ---------------------------------------------------------------------------------


def test_commands_run_one_after_another_showing_card_thread_and_file(
    standin: SlackStandIn, bot: tuple[str, FakeBot]
) -> None:
    url, fake = bot
    code, lines = session(url, standin, "/docker ps\nlogs web\n")
    assert code == 0
    assert fake.commands == ["ps", "logs web"]
    assert fake.unfinished_at_arrival == [set(), set()], (
        "the console sent a command before the last job ended"
    )
    first, second = (m.job_id for m in standin.messages(CHANNEL) if not m.is_reply)
    order = [
        r"^/docker> ps$",
        rf"^  \(only you\) 📥 `/docker ps` accepted as job `{first}`",
        rf"^  \[job {first}\] queued — @{USER} ran `/docker ps`$",
        rf"^  \[job {first}\] queued → running$",
        r"^    1 container$",
        r"^    NAME   STATUS$",
        r"^    web    Up 2 s$",
        rf"^  \[job {first}\] queued → running → done \(\d+\.\d s\)$",
        r"^/docker> logs web$",
        rf"^  \[job {second}\] queued — ",
        rf"^  \[job {second}\] queued → running$",
        r"^    30 lines — full output in the file$",
        r"^    📎 web\.log \(30 lines, \d+B\)$",
        r"^      log line 0$",
        r"^      log line 9$",
        r"^      …$",
        rf"^  \[job {second}\] queued → running → done ",
    ]
    at = -1
    for pattern in order:
        at = index_of(lines, pattern, at + 1)
    assert not any("log line 10" in line for line in lines)


def test_failed_job_shows_the_reason(standin: SlackStandIn, bot: tuple[str, FakeBot]) -> None:
    url, _ = bot
    _, lines = session(url, standin, "fail web\n")
    index_of(lines, r"^  \[job [0-9a-f]{10}\] queued → running → failed \(.*\) — No such container: web$")


def test_private_answers_and_bot_answered_verbs_do_not_wait(
    standin: SlackStandIn, bot: tuple[str, FakeBot]
) -> None:
    url, fake = bot
    _, lines = session(url, standin, "help\nwhoami\n", wait_timeout=300)
    assert fake.commands == ["help", "whoami"]
    usage = index_of(lines, r"^  \(only you\) \*Usage\*$")
    assert lines[usage + 1] == "  (only you) /docker ps   list containers"
    index_of(lines, rf"^  \(only you\) you are @{USER}$", usage)
    assert not any("```" in line or "not finished" in line for line in lines)


def test_gives_up_on_a_job_after_wait_timeout(standin: SlackStandIn, bot: tuple[str, FakeBot]) -> None:
    url, fake = bot
    _, lines = session(url, standin, "hang\nhelp\n", wait_timeout=0.3)
    index_of(lines, r"^  \(job [0-9a-f]{10} not finished after 0\.3 s; not waiting any longer\)$")
    assert fake.commands == ["hang", "help"]


def test_later_replies_to_earlier_jobs_are_still_shown(
    standin: SlackStandIn, bot: tuple[str, FakeBot]
) -> None:
    url, _ = bot
    _, lines = session(url, standin, "ps\npoke\n")
    card = standin.messages(CHANNEL)[0]
    poke = index_of(lines, r"^/docker> poke$")
    header = index_of(lines, rf"^  \[job {card.job_id}\] ↳$", poke)
    assert lines[header + 1] == "    late news"


def test_bad_signature_is_reported_and_nothing_runs(standin: SlackStandIn, bot: tuple[str, FakeBot]) -> None:
    url, fake = bot
    code, lines = session(url, standin, "ps\n", secret="not-the-secret")
    assert code == 0
    index_of(lines, r"^  ! the bot answered HTTP 401: invalid request$")
    assert fake.commands == [] and standin.messages() == []


def test_unreachable_bot_is_reported(standin: SlackStandIn) -> None:
    probe = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = probe.server_address[1]
    probe.server_close()  # nothing listens there any more
    _, lines = session(f"http://127.0.0.1:{port}/", standin, "ps\n")
    index_of(lines, r"^  ! cannot reach the bot at ")


def test_exit_quit_and_eof_end_the_session(standin: SlackStandIn, bot: tuple[str, FakeBot]) -> None:
    url, fake = bot
    assert session(url, standin, "help\nexit\nhelp\n")[0] == 0
    assert session(url, standin, "\n  \nquit\nhelp\n")[0] == 0
    assert fake.commands == ["help"]


def test_prompt_only_on_a_terminal(standin: SlackStandIn, bot: tuple[str, FakeBot]) -> None:
    url, _ = bot
    out = io.StringIO()
    run_console(
        bot_url=url,
        signing_secret=SECRET,
        standin=standin,
        user_id=USER,
        stdin=TtyInput("help\n"),
        stdout=out,
    )
    assert out.getvalue().startswith("/docker> ")
    assert out.getvalue().endswith("/docker> ")
    assert "/docker> help" not in out.getvalue()  # typed input is not echoed back on a terminal


def test_other_channels_and_other_users_are_not_shown(
    standin: SlackStandIn, bot: tuple[str, FakeBot]
) -> None:
    url, fake = bot
    fake.client.chat_postMessage(channel="COTHER", text="elsewhere")  # before the session: not shown anyway

    def noise() -> None:
        fake.client.chat_postMessage(channel="COTHER", text="other channel")
        fake.client.chat_postEphemeral(channel=CHANNEL, user="USOMEONE", text="not for you")
        fake.client.chat_postEphemeral(channel=CHANNEL, user=USER, text="for you")

    original = fake.handle

    def handle(headers: dict[str, str], raw: bytes) -> tuple[int, bytes]:
        noise()
        return original(headers, raw)

    fake.handle = handle  # type: ignore[method-assign]
    _, lines = session(url, standin, "help\n")
    assert "  (only you) for you" in lines
    assert not any("other channel" in line or "not for you" in line for line in lines)


# -- rendering --------------------------------------------------------------------------------------


def test_mrkdwn_is_rendered_minimally() -> None:
    assert mrkdwn("ran ```a &lt;none&gt; &amp; b```") == "ran a <none> & b"
    assert mrkdwn("<@U1> in <#C1|general> see <https://x.io|docs> or <https://y.io>") == (
        "@U1 in #general see docs (https://x.io) or https://y.io"
    )
    assert mrkdwn("<!subteam^S1|@ops> <!here>") == "@ops @here"
    assert (
        mrkdwn(":white_check_mark: *done* at 12:30:45 :unknown_emoji:")
        == "✅ *done* at 12:30:45 :unknown_emoji:"
    )
    assert mrkdwn("```text with `\u200b`` inside```") == "text with ``` inside"


def test_blocks_text_reads_sections_fields_context_and_buttons() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Title"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "body"},
            "fields": [{"type": "mrkdwn", "text": "f1"}, {"type": "mrkdwn", "text": "f2"}],
        },
        {"type": "divider"},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "c1"}, {"type": "image", "image_url": "u"}],
        },
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Stop"}}]},
    ]
    assert blocks_text(blocks) == "Title\nbody\nf1\nf2\nc1\n[Stop]"


def test_card_summary_and_detail_come_from_the_real_card() -> None:
    c = build_card(
        job_id="0123456789",
        user_id="U1",
        command="/docker",
        command_text="stop web",
        status=JobStatus.FAILED,
        elapsed=2.0,
        detail="No such container: web",
    )
    card = Message(channel="C", ts="1.000001", text=c.text, blocks=c.blocks, metadata=c.metadata)
    assert card_summary(card) == "@U1 ran `/docker stop web`"
    assert card_detail(card) == "No such container: web"
    queued = build_card(
        job_id="0123456789", user_id="U1", command="/docker", command_text="ps", status=JobStatus.QUEUED
    )
    assert card_detail(Message(channel="C", ts="1.1", text=queued.text, blocks=queued.blocks)) == ""


def test_file_lines_preview_the_first_ten_lines() -> None:
    data = "".join(f"l{i}\n" for i in range(3000)).encode()
    lines = file_lines(UploadedFile(id="F1", name="web.log", title="web.log", bytes=data))
    assert len(data) == 16_890 and lines[0] == "📎 web.log (3000 lines, 16.9kB)"  # sizes as the docker CLI
    assert lines[1:11] == [f"  l{i}" for i in range(10)] and lines[11:] == ["  …"]
    short = file_lines(UploadedFile(id="F2", name="a.txt", title="a", bytes=b"one\ntwo"))
    assert short == ["📎 a.txt (2 lines, 7B)", "  one", "  two"]
    assert file_lines(UploadedFile(id="F3", name="b.bin", title="b", bytes=b"\xff\x00\x01")) == [
        "📎 b.bin (binary, 3B)"
    ]


def test_command_text_accepts_the_command_or_just_the_words() -> None:
    assert command_text("/docker ps -a\n", "/docker") == "ps -a"
    assert command_text("  ps -a  ", "/docker") == "ps -a"
    assert command_text("/docker\n", "/docker") == ""
    assert command_text("/dockerish x", "/docker") == "/dockerish x"
    assert command_text("   \n", "/docker") is None


def test_ack_lines() -> None:
    assert ack_lines(SlashResponse(200, "", None)) == []
    assert ack_lines(SlashResponse(200, "plain words", None)) == ["  (only you) plain words"]
    shared = SlashResponse(200, "{}", {"response_type": "in_channel", "text": "for all"})
    assert ack_lines(shared) == ["  for all"]
    assert ack_lines(SlashResponse(500, "boom\n", None)) == ["  ! the bot answered HTTP 500: boom"]


def test_printer_survives_a_terminal_without_utf8() -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")
    Printer(out).lines(["queued → done 📎"])
    out.flush()
    assert raw.getvalue() == b"queued ? done ?\n"


def test_lines_arriving_at_the_prompt_go_below_it_and_the_prompt_returns() -> None:
    out = io.StringIO()
    printer = Printer(out)
    printer.prompt("/docker> ")
    printer.lines(["  late news"])
    printer.prompt_answered()
    printer.lines(["  after"])
    assert out.getvalue() == "/docker> \n  late news\n/docker>   after\n"


def test_as_switches_who_types_and_clicks(standin: SlackStandIn, bot: tuple[str, FakeBot]) -> None:
    url, _ = bot
    _, lines = session(url, standin, "whoami\nas UOTHER\nwhoami\nas nobody\n")
    said = [line for line in lines if "you are @" in line]
    assert len(said) == 2 and USER in said[0] and "UOTHER" in said[1], lines
    assert "  (you are UOTHER now: commands and clicks are theirs)" in lines
    assert "  ! usage: as USER_ID (a Slack user id such as U0123ABC)" in lines
