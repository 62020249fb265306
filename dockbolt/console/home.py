"""The console's `home` command: open the App Home tab as Slack does, and print the view the bot publishes.

Slack sends ``app_home_opened`` when a user opens the app's Home tab, and shows whatever the app then
publishes with views.publish. Here the event is POSTed to the bot, signed as Slack signs it
(``EventsClient``), and the console waits for the stand-in to record a newer Home view of the user.
"""

from __future__ import annotations

from typing import Any

from dockbolt.console.render import mrkdwn
from dockbolt.console.standin.events import EventsClient
from dockbolt.console.standin.models import HomeView
from dockbolt.console.standin.state import StandInState

HOME_WORD = "home"
RULE = "  " + "─" * 40


def home_lines(view: HomeView) -> list[str]:
    """The Home view as terminal lines: the header underlined, sections and context as text, dividers as
    rules."""
    lines = [f"  [Home tab of {view.user_id}]"]
    for block in view.blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "header":
            title = _text(block.get("text"))
            lines += [f"  {title}", "  " + "═" * len(title)]
        elif kind == "divider":
            lines.append(RULE)
        elif kind == "section":
            texts = [_text(block.get("text"))] + [_text(f) for f in block.get("fields") or []]
            lines += [f"  {line}" for t in texts if t for line in mrkdwn(t).splitlines()]
        elif kind == "context":
            text = "  ".join(_text(e) for e in block.get("elements") or [] if _text(e))
            lines += [f"  {line}" for line in mrkdwn(text).splitlines()]
    return lines


def _text(obj: Any) -> str:
    return str(obj["text"]) if isinstance(obj, dict) and isinstance(obj.get("text"), str) else ""


def open_home(standin: StandInState, bot_url: str, signing_secret: str, user_id: str,
              timeout: float = 15) -> list[str]:
    """Send ``app_home_opened`` for ``user_id`` to the bot and return the Home view it publishes, as lines
    (or what went wrong)."""
    before = standin.home_view(user_id)
    seen = before.number if before is not None else 0
    try:
        resp = EventsClient(bot_url, signing_secret).app_home_opened(user_id)
    except OSError as exc:
        return [f"  ! cannot reach the bot at {bot_url}: {exc}"]
    if resp.status != 200:
        return [f"  ! the bot answered HTTP {resp.status}: {resp.body.strip()[:300]}"]

    def newer() -> HomeView | None:
        view = standin.home_view(user_id)
        return view if view is not None and view.number > seen else None

    try:
        return home_lines(standin.wait_for(newer, timeout=timeout))
    except TimeoutError:
        return [f"  (the bot published no Home view within {timeout:g} s; its log says why)"]
