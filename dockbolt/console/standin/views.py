"""views.publish as the stand-in implements it: the Home tab of one user (the latest view is kept).

As Slack: ``user_id`` and a ``view`` of type ``home`` with valid blocks (at most 100) are required, and a
``hash`` given with the call must be the one the user's current view carries (else ``hash_conflict``).
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from dockbolt.console.slash_client import APP_ID, TEAM_ID
from dockbolt.console.standin.limits import ApiError, check_view_blocks
from dockbolt.console.standin.models import HomeView

if TYPE_CHECKING:
    from dockbolt.console.standin.api import WebApi

MAX_VIEW_BLOCKS = 100


def check_home_view(view: Any) -> dict[str, Any]:
    """The view when it is one views.publish accepts; else ApiError as Slack answers."""
    if not isinstance(view, dict):
        raise ApiError("invalid_arguments", "[ERROR] missing required field: view")
    if view.get("type") != "home":
        raise ApiError("invalid_arguments", "[ERROR] views.publish needs a view of type home "
                                            "[json-pointer:/view/type]")
    check_view_blocks(view.get("blocks"), MAX_VIEW_BLOCKS)
    return view


def publish(api: WebApi, params: dict[str, Any]) -> dict[str, Any]:
    """Publish ``view`` as the Home tab of ``user_id``."""
    user_id = params.get("user_id")
    if not isinstance(user_id, str) or not user_id:
        raise ApiError("invalid_arguments", "[ERROR] missing required field: user_id")
    view = check_home_view(params.get("view"))
    with api.state.lock:
        current = api.state.home_view(user_id)
        wanted = params.get("hash")
        if wanted and (current is None or wanted != current.hash):
            raise ApiError("hash_conflict")
        published = HomeView(
            user_id=user_id,
            view=view,
            id=current.id if current else "V" + secrets.token_hex(5).upper(),
            hash=f"{time.time():.6f}.{secrets.token_hex(4)}",
            number=(current.number if current else 0) + 1,
            at=time.time(),
        )
        api.state.put_home_view(published)
    # bot_id: as auth.test answers (api.BOT_ID)
    return {"view": {**view, "id": published.id, "team_id": TEAM_ID, "app_id": APP_ID, "bot_id": "BBOT",
                     "hash": published.hash, "state": {"values": {}}}}
