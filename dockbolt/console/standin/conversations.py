"""conversations.open as the stand-in implements it: a DM between the bot and one user.

The DM's id is derived from the user's (``dm_channel``: the same user always gets the same DM, as in
Slack), so what is posted or uploaded there is recorded like any channel's messages and files.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dockbolt.console.standin.limits import ApiError

if TYPE_CHECKING:
    from dockbolt.console.standin.api import WebApi

_USER_RE = re.compile(r"^[UW][A-Z0-9]+\Z")


def dm_channel(user_id: str) -> str:
    """The id of the bot's DM with ``user_id``."""
    return "D" + user_id


def open_conversation(api: WebApi, params: dict[str, Any]) -> dict[str, Any]:
    """Open (or find) the DM with the one user in ``users``; multi-person DMs are not played."""
    users = [u.strip() for u in str(params.get("users") or "").split(",") if u.strip()]
    if not users and not params.get("channel"):
        raise ApiError("users_list_not_supplied")
    if params.get("channel"):
        channel = api.check_channel(params.get("channel"))
        return {"channel": {"id": channel}, "already_open": True}
    if len(users) > 1:
        raise ApiError("not_supported", "[ERROR] the stand-in opens DMs with one user only")
    user = users[0]
    if user == api.bot_user_id:
        raise ApiError("cannot_dm_bot")
    if not _USER_RE.match(user):
        raise ApiError("user_not_found")
    return {"channel": {"id": dm_channel(user), "is_im": True, "user": user}, "no_op": True,
            "already_open": True}
