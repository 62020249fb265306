"""Buttons and menus on the bot's messages: each one is a command, run as whoever clicks it.

A click is never trusted for more than a typed command: its value is the command text (``@db1 restart
web``), and the bot parses, authorizes (as the clicker), guards and audits it exactly like one typed by
the clicker (``bot.actions``). So a forged payload can do no more than its sender could type. Built with
slack-sdk's Block Kit models; the worker decides which buttons a result offers, the bot renders approvals
and confirmations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    InteractiveElement,
    Option,
    OptionGroup,
    StaticSelectElement,
)

ACTION_PREFIX = "dockbolt_"  # every action id of the bot's own buttons
ACTION_RUN = "dockbolt_run"  # value: a command to run as the clicker
ACTION_CONFIRMED = "dockbolt_confirmed"  # the same, after a confirm dialog or a confirmation message
ACTION_CANCEL = "dockbolt_cancel"  # a confirmation message's Cancel
ACTION_APPROVE = "dockbolt_approve"  # value: an approval request's id
ACTION_DENY = "dockbolt_deny"
ACTIONS_BLOCK = "dockbolt_actions"
MENU_MAX = 30  # containers offered in a result's menu (Slack: at most 100 options in a select)
VALUE_MAX = 2000  # Slack's limit on a button's value


@dataclass(frozen=True)
class Button:
    """One choice: ``command`` is what a click runs. With ``group`` (a container name) it is an option of
    the result's menu rather than a button; ``confirm`` is the question of a confirm dialog."""

    label: str
    command: str
    style: str = ""  # "" | "primary" | "danger"
    confirm: str = ""
    group: str = ""
    action: str = ACTION_RUN

    def to_dict(self) -> dict[str, str]:
        """JSON-ready (an outbox entry carries buttons as dicts)."""
        return {k: v for k in self.__dataclass_fields__ if (v := getattr(self, k))}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Button:
        """Read one back (unknown keys ignored)."""
        return cls(**{k: str(data[k]) for k in cls.__dataclass_fields__ if k in data})


def on_host(command: str, host: str) -> str:
    """``command`` aimed at ``host`` (unless it already names one)."""
    return command if not host or command.startswith("@") else f"@{host} {command}"


def container_buttons(name: str, running: bool, host: str = "") -> list[Button]:
    """What a run/start/stop/restart result offers for container ``name``."""
    logs = Button("Logs", on_host(f"logs {name} --tail 50", host))
    if not running:
        return [logs, Button("Start", on_host(f"start {name}", host), style="primary")]
    return [logs, Button("Restart", on_host(f"restart {name}", host)),
            Button("Stop", on_host(f"stop {name}", host), style="danger", action=ACTION_CONFIRMED,
                   confirm=f"Stop `{name}`?")]


def container_menu(containers: Iterable[tuple[str, bool]], host: str = "") -> list[Button]:
    """A `ps` result's menus: Logs and Restart (or Start) for each listed container, and Stop in a menu of
    its own that asks first."""
    options: list[Button] = []
    for name, running in list(containers)[:MENU_MAX]:
        options.append(Button("Logs", on_host(f"logs {name} --tail 50", host), group=name))
        if running:
            options += [Button("Restart", on_host(f"restart {name}", host), group=name),
                        Button("Stop", on_host(f"stop {name}", host), group=name, action=ACTION_CONFIRMED,
                               confirm="Stop the container you picked?")]
        else:
            options.append(Button("Start", on_host(f"start {name}", host), group=name))
    return options


def retry_button(command_text: str, host: str, masked: bool) -> list[Button]:
    """A failed job's Retry (none when the shown command had secrets masked: it could not run again)."""
    if masked or not command_text:
        return []
    return [Button("Retry", on_host(command_text, host), style="primary")]


def actions_block(buttons: Iterable[Button]) -> dict[str, Any]:
    """One Block Kit actions block: the buttons, then the grouped choices as menus — one for those that
    run at once, one for those that ask first (a menu's confirm dialog covers all its options)."""
    buttons = list(buttons)
    plain = [b for b in buttons if not b.group]
    elements: list[InteractiveElement] = [_button(b, i) for i, b in enumerate(plain)]
    menus: dict[tuple[str, str], dict[str, list[Button]]] = {}
    for b in buttons:
        if b.group:
            menus.setdefault((b.action, b.confirm), {}).setdefault(b.group, []).append(b)
    for i, ((action, confirm), groups) in enumerate(menus.items()):
        labels = dict.fromkeys(b.label for opts in groups.values() for b in opts)
        elements.append(StaticSelectElement(
            placeholder=", ".join(labels)[:140] + "…", action_id=f"{action}:menu{i}",
            confirm=ConfirmObject(title="Are you sure?", text=confirm, confirm="Yes", deny="Cancel")
            if confirm else None,
            option_groups=[OptionGroup(label=name[:75], options=[Option(value=b.command[:150], label=b.label)
                                                                for b in opts])
                           for name, opts in groups.items()]))
    block: dict[str, Any] = ActionsBlock(block_id=ACTIONS_BLOCK, elements=elements).to_dict()
    return block


def _button(b: Button, index: int) -> ButtonElement:
    confirm = (ConfirmObject(title="Are you sure?", text=b.confirm, confirm=b.label, deny="Cancel")
               if b.confirm else None)
    # action ids must be unique within a message: the index tells two "run" buttons apart.
    return ButtonElement(text=b.label, action_id=f"{b.action}:{index}", value=b.command[:VALUE_MAX],
                         style=b.style or None, confirm=confirm)


def action_name(action_id: str) -> str:
    """The action an element's id stands for (``dockbolt_run:2`` → ``dockbolt_run``)."""
    return action_id.partition(":")[0]
