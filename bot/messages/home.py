"""The texts of the App Home tab (bot/home.py): what `whoami`, `jobs` and `hosts` tell the viewer."""

from __future__ import annotations

from collections.abc import Sequence

from dockbolt.core.mrkdwn import escape

HOME_HEADER, HOME_ROLES, HOME_HOSTS = "dockbolt", "*Your roles*", "*Docker hosts*"
HOME_JOBS, HOME_NO_JOBS = "*Your recent jobs* (newest first)", "No recent jobs."
HOME_NO_HOSTS = "No host has registered yet: start `dockbolt worker` with access to a Docker engine."


def _hcode(text: str) -> str:
    from dockbolt.core.mrkdwn import code  # the one helper this section adds to the imports above

    return code(escape(text))


def _hlist(items: Sequence[str]) -> str:
    return ", ".join(_hcode(i) for i in items) if items else "nothing"


def home_intro(user: str, command: str, when: str) -> str:
    """Under the title: who is looking, and which commands say the same."""
    c = escape(command)
    return (f"You are <@{escape(user)}> ({_hcode(user)}). What `{c} whoami`, `{c} jobs` and `{c} hosts` tell "
            f"you, as of {escape(when)}; reopen this tab to refresh it.")


def home_no_roles(user: str) -> str:
    """A viewer who holds no role anywhere."""
    return f"You have no roles — ask an admin to bind one to your id {_hcode(user)}."


def home_role(role: str, how: str, channels: Sequence[str], scope: Sequence[tuple[str, Sequence[str]]],
              allows: Sequence[str], grants: Sequence[str]) -> str:
    """One role: how it is held, where (every channel, or its channels), scope globs, verbs and grants."""
    where = ("only in " + ", ".join(f"<#{escape(c)}>" for c in channels)) if channels else "in every channel"
    only = " and ".join(f"{what} {_hlist(globs)}" for what, globs in scope if globs)
    return (f"• {_hcode(role)} ({escape(how)}) — {where}" + (f" — only {only}" if only else "")
            + f"\n      allows {_hlist(allows)}" + (f" · grants {_hlist(grants)}" if grants else ""))


def home_may_run(verbs: Sequence[str]) -> str:
    """The verbs the viewer may run in any channel."""
    return f"*In any channel you may run:* {_hlist(verbs)}. A channel-bound role adds its verbs there."


def home_job(job_id: str, command_text: str, status: str, host: str, age: str, channel: str) -> str:
    """One job of the viewer's: what, status, host, how long ago it was queued, where."""
    on = f" on {_hcode(host)}" if host else ""
    return (f"• {_hcode(job_id)} {_hcode(command_text)} — *{escape(status)}*{on} · queued {escape(age)} · "
            f"<#{escape(channel)}>")


def home_host(name: str, workers: int, load: str, seen: str) -> str:
    """One host: live (its workers) or no worker, its load, when it was last seen."""
    state = f"live ({workers} worker{'s' if workers != 1 else ''})" if workers else "*no worker*"
    return f"• {_hcode(name)} — {state} · {escape(load)} · last seen {escape(seen)}"


def home_not_allowed(verb: str) -> str:
    """A section none of the viewer's everywhere-roles allows (as the verb would refuse)."""
    return (f"Not shown: none of your roles allows `{verb}` in every channel (where a channel-bound role "
            "does, the command answers in that channel).")


def home_unavailable(what: str) -> str:
    """A section that could not be read."""
    return f":x: {what} unavailable right now (Redis unreachable); reopen this tab to try again."
