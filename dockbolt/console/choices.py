"""Block Kit buttons and menus as numbered choices: ``[1] Logs  [2] Restart``, picked by typing ``1``.

Numbers belong to the console session and only grow, so an earlier message's choices stay pickable. A
choice keeps its number when its message is edited (same channel, ts, action id, value and option), and
picks up the edited message, which is what Slack sends with a click.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from dockbolt.console.block_actions import MENU_TYPES, ClickSource, element_action
from dockbolt.console.render import text_of

# (channel, message ts, action id, value or "", option value or "")
_Key = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class Choice:
    """One pickable thing: a button, or one option of a menu."""

    number: int
    label: str  # as shown: the button's text, "group: option" for a grouped menu option
    action: dict[str, Any]  # the payload's actions[] entry, without action_ts
    source: ClickSource
    confirm: dict[str, Any] | None = None  # Slack's confirmation dialog object, if the element has one


class Choices:
    """The numbered choices of one console session (thread-safe: messages arrive on server threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._by_key: dict[_Key, int] = {}
        self._by_number: dict[int, Choice] = {}
        self._last_ts_us = 0

    def get(self, number: int) -> Choice | None:
        """The choice shown as ``[number]``, or None."""
        with self._lock:
            return self._by_number.get(number)

    def new_ts(self) -> str:
        """A unique ts for a message Slack would give one but the console only sees as an answer."""
        with self._lock:
            self._last_ts_us = max(self._last_ts_us + 1, int(time.time() * 1_000_000))
            return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def line(self, block: dict[str, Any], source: ClickSource) -> str:
        """An ``actions`` block as numbered choices (numbering what it has not seen): one line for its
        buttons and ungrouped menus, then one line per option group of a menu (``web: [4] Logs …``)."""
        # Slack gives a block without a block_id one of its own; a stable one here (the same on every edit).
        block_id = str(block.get("block_id") or "") or hashlib.blake2s(
            json.dumps(block, sort_keys=True).encode(), digest_size=3).hexdigest()
        inline: list[str] = []
        groups: list[str] = []
        for element in block.get("elements") or []:
            if not isinstance(element, dict):
                continue
            kind, label = element.get("type"), _plain(element.get("text"))
            if kind == "button":
                inline.append(f"[{self._add(label, element, block_id, source, None)}] {label}")
            elif kind in MENU_TYPES and isinstance(element.get("option_groups"), list):
                groups += [self._options(element, block_id, source, g.get("options"), _plain(g.get("label")))
                           for g in element["option_groups"] if isinstance(g, dict)]
            elif kind in MENU_TYPES:
                placeholder = _plain(element.get("placeholder"))
                shown = self._options(element, block_id, source, element.get("options"), "")
                inline.append(f"{placeholder}: {shown}" if placeholder else shown)
            elif label:
                inline.append(f"[{label}]")  # not pickable here (date pickers, inputs…)
        return "\n".join(line for line in ["  ".join(p for p in inline if p), *groups] if line)

    def _options(self, element: dict[str, Any], block_id: str, source: ClickSource, options: Any,
                 group: str) -> str:
        picks = []
        for option in options if isinstance(options, list) else []:
            if isinstance(option, dict):
                text = _plain(option.get("text"))
                label = f"{group}: {text}" if group else text
                picks.append(f"[{self._add(label, element, block_id, source, option)}] {text}")
        return (f"{group}: " if group and picks else "") + " ".join(picks)

    def _add(self, label: str, element: dict[str, Any], block_id: str, source: ClickSource,
             option: dict[str, Any] | None) -> int:
        key = (source.channel_id, source.ts, str(element.get("action_id") or ""),
               str(element.get("value") or ""), str((option or {}).get("value") or ""))
        confirm = element.get("confirm") if isinstance(element.get("confirm"), dict) else None
        with self._lock:
            number = self._by_key.get(key)
            if number is None:
                number = self._by_key[key] = next(self._numbers)
            self._by_number[number] = Choice(number, label, element_action(element, block_id, option),
                                             source, confirm)
        return number


def confirm_question(choice: Choice) -> str | None:
    """What to ask before sending ``choice`` (Slack's confirmation dialog), or None to send at once."""
    if choice.confirm is None:
        return None
    title, text = _plain(choice.confirm.get("title")), _plain(choice.confirm.get("text"))
    return f"{title}: {text} [y/N]" if title else f"{text or 'Are you sure?'} [y/N]"


def _plain(obj: Any) -> str:
    """The text of a text object (plain_text or mrkdwn), on one line."""
    return " ".join(text_of(obj).split())
