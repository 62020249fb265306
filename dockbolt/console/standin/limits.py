"""Slack's message limits, enforced by the stand-in so tests catch a message Slack would refuse.

Numbers from Slack's docs and observed behaviour: 50 blocks per message, 3,000 characters per section or
context text, 2,000 per section field, 150 per header, ``text`` over 40,000 refused, and messages whose
blocks serialise to more than about 13,000 characters refused (measured here on compact JSON, so keep a
margin).
"""

from __future__ import annotations

import json
from typing import Any

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_TEXT = 40_000
MAX_BLOCKS_JSON = 13_000


class ApiError(Exception):
    """A Web API error answer: ``{"ok": false, "error": error}`` plus Slack-style detail messages."""

    def __init__(self, error: str, *details: str) -> None:
        super().__init__(error)
        self.error = error
        self.details = list(details)


def check_message(text: Any, blocks: Any, metadata: Any, *, require_content: bool = True) -> None:
    """Raise ApiError when a message's text, blocks or metadata break one of Slack's rules."""
    if text is not None and not isinstance(text, str):
        raise ApiError("invalid_arguments", "[ERROR] text must be a string")
    if text and len(text) > MAX_TEXT:
        raise ApiError("msg_too_long", f"[ERROR] text is {len(text)} characters (max {MAX_TEXT})")
    if blocks is not None:
        check_blocks(blocks)
    if require_content and not text and not blocks:
        raise ApiError("no_text")
    if metadata is not None:
        check_metadata(metadata)


def check_blocks(blocks: Any) -> None:
    """Raise ApiError("invalid_blocks"…) for blocks Slack would refuse."""
    if not isinstance(blocks, list):
        raise ApiError("invalid_blocks_format", "[ERROR] blocks must be a JSON array")
    if len(blocks) > MAX_BLOCKS:
        raise ApiError("invalid_blocks", f"[ERROR] {len(blocks)} blocks (max {MAX_BLOCKS})")
    size = len(json.dumps(blocks, separators=(",", ":"), ensure_ascii=False))
    if size > MAX_BLOCKS_JSON:
        detail = f"[ERROR] blocks are {size} characters of JSON (max ~{MAX_BLOCKS_JSON})"
        raise ApiError("invalid_blocks", detail)
    for index, block in enumerate(blocks):
        problem = _block_problem(block)
        if problem:
            raise ApiError("invalid_blocks", f"[ERROR] {problem} [json-pointer:/blocks/{index}]")


def check_view_blocks(blocks: Any, max_blocks: int) -> None:
    """Raise ApiError("invalid_arguments"…) for a view's blocks Slack would refuse (a view's limit on the
    number of blocks is its own: 100 for Home tabs and modals)."""
    if not isinstance(blocks, list):
        raise ApiError("invalid_arguments", "[ERROR] view.blocks must be a JSON array")
    if len(blocks) > max_blocks:
        raise ApiError("invalid_arguments", f"[ERROR] {len(blocks)} blocks (max {max_blocks})")
    for index, block in enumerate(blocks):
        problem = _block_problem(block)
        if problem:
            raise ApiError("invalid_arguments", f"[ERROR] {problem} [json-pointer:/view/blocks/{index}]")


def check_metadata(metadata: Any) -> None:
    """Raise ApiError unless metadata has a string event_type and an object event_payload."""
    if (
        not isinstance(metadata, dict)
        or not isinstance(metadata.get("event_type"), str)
        or not isinstance(metadata.get("event_payload"), dict)
    ):
        raise ApiError("invalid_metadata_format", "[ERROR] metadata needs event_type and event_payload")


def _block_problem(block: Any) -> str | None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return "each block must be an object with a type"
    kind = block["type"]
    if kind == "section":
        if "text" not in block and "fields" not in block:
            return "a section needs text or fields"
        problem = _text_problem(block.get("text"), MAX_SECTION_TEXT, "section text", optional=True)
        for field in block.get("fields") or []:
            problem = problem or _text_problem(field, MAX_FIELD_TEXT, "section field")
        return problem
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            return "a context block needs elements"
        for element in elements:
            if isinstance(element, dict) and element.get("type") in ("mrkdwn", "plain_text"):
                problem = _text_problem(element, MAX_SECTION_TEXT, "context text")
                if problem:
                    return problem
        return None
    if kind == "header":
        return _text_problem(block.get("text"), MAX_HEADER_TEXT, "header text")
    return None


def _text_problem(obj: Any, limit: int, what: str, *, optional: bool = False) -> str | None:
    if obj is None and optional:
        return None
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return f"{what} must be a text object"
    if len(obj["text"]) > limit:
        return f"{what} is {len(obj['text'])} characters (max {limit})"
    if not obj["text"]:
        return f"{what} must not be empty"
    return None
