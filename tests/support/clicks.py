"""Clicking the bot's buttons as Slack would: a signed ``block_actions`` payload built from a message the
stand-in holds (the console's own payload builder), sent to the bot's real endpoint."""

from __future__ import annotations

from typing import Any

from dockbolt.console.block_actions import ClickSource, block_actions, element_action
from dockbolt.console.slash_client import SlashResponse
from dockbolt.console.standin.models import Ephemeral, Message
from tests.support.harness import Pipeline


def choices(blocks: list[Any] | None) -> dict[str, tuple[dict[str, Any], str, dict[str, Any] | None]]:
    """Every clickable choice of ``blocks`` by label: a button's text, or "GROUP: option" of a menu."""
    found: dict[str, tuple[dict[str, Any], str, dict[str, Any] | None]] = {}
    for block in blocks or ():
        if block.get("type") != "actions":
            continue
        for element in block.get("elements", ()):
            if element.get("type") == "button":
                found[element["text"]["text"]] = (element, block.get("block_id", ""), None)
            for group in element.get("option_groups", ()):
                for option in group["options"]:
                    found[f"{group['label']['text']}: {option['text']['text']}"] = (
                        element, block.get("block_id", ""), option)
    return found


def click(p: Pipeline, on: Message | Ephemeral, label: str, user_id: str) -> SlashResponse:
    """``user_id`` clicks the choice called ``label`` on ``on``; the bot's HTTP answer."""
    element, block_id, option = choices(on.blocks)[label]
    source = ClickSource.of_message(on) if isinstance(on, Message) else ClickSource.of_ephemeral(on)
    payload = block_actions(action=element_action(element, block_id, option), source=source, user_id=user_id,
                            response_url=p.standin.new_response_url())
    return p.slash.send_interaction(payload)
