"""Turning Slack messages into terminal text: minimal mrkdwn, Block Kit text, file summaries.

Pure functions; the console (``dockbolt.console.view``) decides when and where lines are printed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from dockbolt.console.standin.models import Message, UploadedFile
from workers.formatting import human_size

FILE_PREVIEW_LINES = 10
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_EMOJI = {
    "hourglass_flowing_sand": "⏳",
    "gear": "⚙",
    "white_check_mark": "✅",
    "x": "❌",
    "alarm_clock": "⏰",
    "skull": "💀",
    "inbox_tray": "📥",
    "warning": "⚠",
    "no_entry": "⛔",
    "no_entry_sign": "🚫",
    "lock": "🔒",
    "mag": "🔍",
}
_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_EMOJI_CODE = re.compile(r":([a-z0-9_+-]+):")

# How an ``actions`` block is shown: by default its elements' labels in brackets ("[Stop]"); the console
# passes ``Choices.line`` bound to the message, which numbers them ("[3] Stop").
ActionsLine = Callable[[dict[str, Any]], str]


def mrkdwn(text: str) -> str:
    """Slack mrkdwn as terminal text: fences dropped, mentions and links spelled out, entities decoded."""
    text = text.replace("```", "")
    # The reporter breaks a fence inside output with a zero-width space ("`\u200b``"); undo it for display.
    text = text.replace("\u200b", "")
    text = _LINK.sub(_link, text)
    text = _EMOJI_CODE.sub(lambda m: _EMOJI.get(m.group(1), m.group(0)), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _link(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target[:1] in "@#":
        return target[0] + (label or target[1:])
    if target.startswith("!subteam^"):
        # Slack's label for a user group already carries its "@" (<!subteam^S123|@ops>).
        return label or "@" + target.split("^", 1)[1]
    if target.startswith("!"):
        return "@" + (label or target[1:])
    return f"{label} ({target})" if label and label != target else target


def blocks_text(blocks: list[Any], actions: ActionsLine | None = None) -> str:
    """The readable text of Block Kit blocks (sections, fields, context, headers, buttons)."""
    parts: list[str] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind in ("section", "header"):
            parts.append(text_of(block.get("text")))
            fields = [text_of(f) for f in block.get("fields") or []]
            parts.extend(f for f in fields if f)
        elif kind == "context":
            parts.append("  ".join(text_of(e) for e in block.get("elements") or [] if text_of(e)))
        elif kind == "actions":
            parts.append((actions or _labels)(block))
    return "\n".join(p for p in parts if p)


def _labels(block: dict[str, Any]) -> str:
    labels = [text_of(e.get("text")) for e in block.get("elements") or [] if isinstance(e, dict)]
    return " ".join(f"[{label}]" for label in labels if label)


def text_of(obj: Any) -> str:
    """The text of a Block Kit text object (``{"type": …, "text": …}``), or "" for anything else."""
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return str(obj["text"])
    return ""


def body(text: str, blocks: list[Any] | None, actions: ActionsLine | None = None) -> str:
    """What a message says: its blocks when it has any (they carry the detail), else its text."""
    raw = blocks_text(blocks, actions) if blocks else ""
    return mrkdwn(raw or text).strip("\n")


def card_summary(card: Message) -> str:
    """One line saying what a job card is about (its first section, else its text)."""
    first = next((b for b in card.blocks or [] if isinstance(b, dict) and b.get("type") == "section"), None)
    line = mrkdwn(text_of(first.get("text")) if first else card.text)
    return line.splitlines()[0] if line else ""


def card_detail(card: Message) -> str:
    """The card's status detail (progress or failure reason) from its context line, if any."""
    for block in card.blocks or []:
        if isinstance(block, dict) and block.get("type") == "context":
            text = mrkdwn(" ".join(text_of(e) for e in block.get("elements") or []))
            status_part = text.split(" · job ")[0]
            return status_part.partition(" — ")[2].strip()
    return ""


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG image (from its IHDR chunk), or None when ``data`` is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def file_lines(file: UploadedFile) -> list[str]:
    """A file as a heading (name, lines, size) and a preview of its first lines; an image as one line."""
    size = png_size(file.bytes)
    if size is not None:  # a terminal cannot show it: say what it is
        return [f"📎 [image {file.name}, PNG {size[0]}×{size[1]}, {human_size(file.size)}]"]
    try:
        text = file.bytes.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
        return [f"📎 {file.name} (binary, {human_size(file.size)})"]
    lines = text.splitlines()
    out = [f"📎 {file.name} ({len(lines)} lines, {human_size(file.size)})"]
    out += ["  " + line for line in lines[:FILE_PREVIEW_LINES]]
    if len(lines) > FILE_PREVIEW_LINES:
        out.append("  …")
    return out


def indent(text: str, prefix: str) -> list[str]:
    """Each line of ``text`` with ``prefix`` in front (an empty text gives no lines)."""
    return [prefix + line for line in text.splitlines()] if text else []
