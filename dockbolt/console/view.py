"""What the console shows as the stand-in Slack changes: job cards, their threads, files, private answers,
and the buttons and menus on them as numbered choices (``dockbolt.console.choices``).

``ConsoleView.on_event`` is a stand-in subscriber (called in change order, possibly from server
threads); all output goes through one ``Printer`` so lines from different threads never interleave.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, TextIO

from dockbolt.console.block_actions import ClickSource
from dockbolt.console.choices import Choices
from dockbolt.console.render import ActionsLine, body, card_detail, card_summary, file_lines, indent, mrkdwn
from dockbolt.console.standin.models import Message, ResponsePost, StandInEvent
from dockbolt.core.card import format_elapsed

ONLY_YOU = "  (only you) "


class Printer:
    """Thread-safe line output that can hold lines back while a command is being sent."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._lock = threading.Lock()
        self._held: list[str] | None = None
        self._prompt = ""  # the prompt currently waiting for input, if any

    def lines(self, lines: list[str]) -> None:
        """Print whole lines (or keep them for later while held)."""
        with self._lock:
            if self._held is not None:
                self._held.extend(lines)
            elif self._prompt:
                # Lines arriving while the user is at the prompt go below it, then the prompt comes back.
                self._write("\n" + "".join(line + "\n" for line in lines) + self._prompt)
            else:
                self._write("".join(line + "\n" for line in lines))

    def prompt(self, text: str, shown: bool = True) -> None:
        """Print a prompt without a newline (unless ``shown`` is False: the caller shows it); it is shown
        again after lines that arrive meanwhile."""
        with self._lock:
            self._prompt = text
            if shown:
                self._write(text)

    def prompt_answered(self) -> None:
        """The user finished the line typed at the prompt."""
        with self._lock:
            self._prompt = ""

    def hold(self) -> None:
        """Keep further lines back until ``release``."""
        with self._lock:
            self._held = self._held if self._held is not None else []

    def release(self, first: list[str]) -> None:
        """Print ``first``, then everything held back, and stop holding."""
        with self._lock:
            held, self._held = self._held or [], None
            self._write("".join(line + "\n" for line in first + held))

    def _write(self, text: str) -> None:
        try:
            self.out.write(text)
        except UnicodeEncodeError:
            # A terminal without UTF-8 (LANG=C) must not kill the console over an arrow or an emoji.
            encoding = getattr(self.out, "encoding", None) or "ascii"
            self.out.write(text.encode(encoding, "replace").decode(encoding))
        self.out.flush()


@dataclass
class _Job:
    job_id: str
    started: float
    statuses: list[str] = field(default_factory=list)
    detail: str = ""
    choices: str = ""  # the card's choices as last shown


class ConsoleView:
    """Prints one channel's job cards and threads, and the private answers meant for one user."""

    def __init__(self, printer: Printer, *, channel_id: str, user_id: str, choices: Choices | None = None
                 ) -> None:
        self.printer = printer
        self.channel_id = channel_id
        self.user_id = user_id
        self.choices = choices or Choices()
        self.events = 0  # changes seen so far (the console waits for them to stop after a click)
        self._jobs: dict[str, _Job] = {}  # by card ts
        self._latest: dict[str, str] = {}  # thread ts → ts of the card last changed in it (a click's job)
        self._urls: set[str] = set()
        self._last_job: str | None = None
        self._lock = threading.Lock()

    def watch_response_url(self, url: str) -> None:
        """Show what the bot posts to this response_url."""
        with self._lock:
            self._urls.add(url)

    def job_ids(self) -> set[str]:
        """The jobs whose cards were seen so far."""
        with self._lock:
            return {job.job_id for job in self._jobs.values()}

    def new_command(self) -> None:
        """Note that the user moved on: the next reply to any job says which job it belongs to."""
        with self._lock:
            self._last_job = None

    def on_event(self, event: StandInEvent) -> None:
        """Print whatever this change means for the console user."""
        with self._lock:
            self.events += 1
            lines = self._lines_for(event)
        if lines:
            self.printer.lines(lines)

    def _lines_for(self, event: StandInEvent) -> list[str]:
        if event.ephemeral is not None or event.response_post is not None:
            self._last_job = None
        if event.ephemeral is not None:
            e = event.ephemeral
            if e.user != self.user_id or e.channel != self.channel_id:
                return []
            return indent(body(e.text, e.blocks, self.actions(ClickSource.of_ephemeral(e))), ONLY_YOU)
        if event.response_post is not None:
            return self._response_lines(event.response_post)
        m = event.message
        if m is None or m.channel != self.channel_id:
            return []
        if m.job_id is not None or (event.previous is not None and event.previous.job_id is not None):
            return self._card_lines(m, event.previous, event.at)  # a card (in a thread: a click's job)
        if m.is_reply:
            return self._reply_lines(m, edited=event.kind == "update")
        self._last_job = None
        prefix = "  (edited) " if event.kind == "update" else "  "
        shown = body(m.text, m.blocks, self.actions(ClickSource.of_message(m)))
        return indent(shown, prefix) + self._file_lines(m, "  ")

    def actions(self, source: ClickSource) -> ActionsLine:
        """How the actions blocks of the message ``source`` are shown: as numbered choices."""
        return lambda block: self.choices.line(block, source)

    def answer_actions(self, text: str, blocks: list[Any] | None, *, in_channel: bool,
                       channel: str | None = None) -> ActionsLine:
        """``actions`` for an answer of the bot's (its ack, a response_url post): a message of its own."""
        source = ClickSource.of_answer(channel or self.channel_id, self.choices.new_ts(),
                                       in_channel=in_channel, text=text, blocks=blocks)
        return self.actions(source)

    def _card_lines(self, card: Message, previous: Message | None, at: float) -> list[str]:
        lines = self._status_lines(card, previous, at)
        self._latest[card.thread_ts or card.ts] = card.ts
        job = self._jobs[card.ts]
        line = self.actions(ClickSource.of_message(card))
        shown = mrkdwn("\n".join(line(b) for b in card.blocks or [] if isinstance(b, dict)
                                 and b.get("type") == "actions"))
        if shown != job.choices:
            job.choices = shown
            lines += indent(shown, "    " if lines else f"  [job {job.job_id}] ")
        return lines

    def _status_lines(self, card: Message, previous: Message | None, at: float) -> list[str]:
        job = self._jobs.get(card.ts)
        status = card.status or "?"
        if job is None:
            job = self._jobs[card.ts] = _Job(card.job_id or "?", at)
            if previous is not None and previous.status and previous.status != status:
                job.statuses.append(previous.status)
        self._last_job = job.job_id
        detail = card_detail(card)
        if job.statuses and job.statuses[-1] == status:
            if detail == job.detail:
                return []
            job.detail = detail
            return [f"  [job {job.job_id}] {status} — {detail}"] if detail else []
        first = not job.statuses
        job.statuses.append(status)
        job.detail = detail
        line = f"  [job {job.job_id}] {' → '.join(job.statuses)}"
        if card.status is not None and card.status.final:
            line += f" ({format_elapsed(max(0.0, at - job.started))})"
        if first:
            line += f" — {card_summary(card)}"
        elif detail:
            line += f" — {detail}"
        return [line]

    def _reply_lines(self, reply: Message, *, edited: bool) -> list[str]:
        lines: list[str] = []
        # A thread can hold the cards of jobs clicked on its messages: replies are the latest one's.
        thread = reply.thread_ts or ""
        job = self._jobs.get(self._latest.get(thread, thread))
        if job is not None and job.job_id != self._last_job:
            # Replies of several jobs can interleave; say whose thread this is.
            lines.append(f"  [job {job.job_id}] ↳")
            self._last_job = job.job_id
        prefix = "    (edited) " if edited else "    "
        shown = body(reply.text, reply.blocks, self.actions(ClickSource.of_message(reply)))
        return lines + indent(shown, prefix) + self._file_lines(reply, "    ")

    def _file_lines(self, message: Message, prefix: str) -> list[str]:
        return [prefix + line for f in message.files for line in file_lines(f)]

    def _response_lines(self, post: ResponsePost) -> list[str]:
        if post.url not in self._urls:
            return []
        if post.error is not None:
            return [f"  ! the bot's response_url post was refused: {post.error}"]
        if post.delete_original or (not post.ephemeral and post.channel == self.channel_id):
            return []  # an in-channel post shows up as a channel message
        actions = self.answer_actions(post.text, post.blocks, in_channel=not post.ephemeral,
                                      channel=post.channel)
        return indent(body(post.text, post.blocks, actions), ONLY_YOU if post.ephemeral else "  ")
