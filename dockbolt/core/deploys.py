"""An app's deploy state in Redis: its lock, the deploy in progress, its history, webhook replays.

- ``dockbolt:app:<app>:lock``       hash (user, reason, since, until): `lock APP`; expires by itself
- ``dockbolt:app:<app>:deploying``  the job deploying the app now (JSON: job, by, since); one at a time
- ``dockbolt:app:<app>:deploys``    list of finished deploys (JSON), newest first, the last HISTORY kept
- ``dockbolt:hook:seen:<sig>``      a webhook signature already used (kept past its 5-minute window)

Times are the Redis server's clock (one clock for bot, webhook and workers). The deploy in progress is
taken with SET NX; one whose job is over (done, failed, lost: its worker was killed) is taken over, so a
dead worker never blocks `rollback` until its timeout.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from redis import Redis
from redis.exceptions import WatchError

from dockbolt.core.jobstore import JobStore, redis_time
from dockbolt.core.mrkdwn import escape

HISTORY = 50
# The user id of deploys a CI system asked for through the signed webhook (not a Slack user: never holds
# a lock, and may only deploy the app whose secret signed the request, exactly as the config says).
WEBHOOK_USER = "webhook"
HOOK_REPLAY_SECONDS = 600  # longer than the signature's 5-minute window


def _key(app: str, what: str) -> str:
    return f"dockbolt:app:{app}:{what}"


@dataclass(frozen=True)
class Lock:
    """Who locked an app, why, since and until when (unix seconds)."""

    user: str
    reason: str
    since: float
    until: float


# The words people search a channel for, and their icons.
DEPLOY_ICONS = {"started": ":rocket:", "succeeded": ":white_check_mark:", "failed": ":x:",
                "rolled back": ":leftwards_arrow_with_hook:"}


def announcement(*, app: str, verb: str, word: str, by: str, ref: str, image: str = "", image_id: str = "",
                 elapsed: float | None = None, now: str = "", reason: str = "", url: str = "") -> str:
    """The app channel's one message about a deploy (or rollback): app, who, ref, image, duration and the
    word people search for (started, succeeded, failed, rolled back); ``now`` the current step."""
    parts = [f"by {by}"]
    parts += [f"ref `{escape(ref)}`"] if ref else []
    if image:
        short = image_id.removeprefix("sha256:")[:12]
        parts.append(f"image `{escape(image)}`" + (f" (`{short}`)" if short else ""))
    if elapsed is not None:
        parts.append(f"{elapsed:.0f} s" if elapsed >= 10 else f"{elapsed:.1f} s")
    parts += [f"<{escape(url)}|details>"] if url else []
    head = f"{DEPLOY_ICONS.get(word, '')} `{app}` {verb} *{word}* — " + " · ".join(parts)
    tail = f"\n_{escape(now)}_" if now else ""
    return head + (f"\n{escape(reason)}" if reason else "") + tail


def utc(unix: float) -> str:
    """A time as deploy messages show it: minutes, UTC."""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(unix))


def locked_text(app: str, lock: Lock) -> str:
    """Why a deploy of ``app`` is refused: who holds its lock, since and until when, and why (bot, worker
    and webhook say the same)."""
    return (f":lock: `{app}` is locked by <@{lock.user}> since {utc(lock.since)} until {utc(lock.until)}: "
            f"{escape(lock.reason)}. Ask them to `unlock {app}`, or wait for the lock to end.")


def busy_text(app: str, held: Deploying) -> str:
    """Why a deploy of ``app`` is refused: another one runs."""
    return (f":hourglass: `{app}` is being deployed by {held.by} (job `{held.job}`); "
            "try again when it is done.")


@dataclass(frozen=True)
class Deploying:
    """The deploy running now."""

    job: str
    by: str
    since: float


@dataclass(frozen=True)
class Deploy:
    """One finished deploy or rollback, as `deploys APP` lists it."""

    job: str
    verb: str  # "deploy" | "rollback"
    by: str  # "<@U…>" or "webhook"
    ref: str  # the ref built, or "" for an image
    image: str  # the image reference deployed (repository:tag)
    image_id: str
    outcome: str  # "succeeded" | "failed" | "rolled back" (or "started", announced by CI)
    started: float
    duration: float
    phases: dict[str, float] = field(default_factory=dict)  # "build", "start", "health", "switch": seconds

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Deploy:
        d: dict[str, Any] = json.loads(raw)
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


_RELEASE_LUA = """
local held = redis.call('GET', KEYS[1])
if held and cjson.decode(held)['job'] == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class DeployStore:
    """Locks, the deploy in progress and the history of every app."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def now(self) -> float:
        return redis_time(self.redis)

    # -- locks (`lock APP`) ------------------------------------------------------------------------------
    def lock(self, app: str, user: str, reason: str, seconds: int) -> Lock:
        """Lock ``app`` for ``seconds`` (replacing an earlier lock: the caller checked who holds it)."""
        now = self.now()
        lock = Lock(user=user, reason=reason, since=now, until=now + seconds)
        pipe = self.redis.pipeline()
        pipe.delete(_key(app, "lock"))
        pipe.hset(_key(app, "lock"), mapping={k: str(v) for k, v in asdict(lock).items()})
        pipe.expire(_key(app, "lock"), seconds)
        pipe.execute()
        return lock

    def lock_of(self, app: str) -> Lock | None:
        """The app's lock, unless there is none (or it expired)."""
        raw = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
               for k, v in self.redis.hgetall(_key(app, "lock")).items()}
        if not raw:
            return None
        return Lock(user=raw["user"], reason=raw["reason"], since=float(raw["since"]),
                    until=float(raw["until"]))

    def unlock(self, app: str) -> bool:
        """Remove the app's lock; False when there was none."""
        return bool(self.redis.delete(_key(app, "lock")))

    # -- the deploy in progress ---------------------------------------------------------------------------
    def deploying(self, app: str) -> Deploying | None:
        """The deploy of ``app`` running now, if its job is not over."""
        raw = self.redis.get(_key(app, "deploying"))
        if raw is None:
            return None
        held = Deploying(**json.loads(raw))
        return None if self._over(held.job) else held

    def begin(self, app: str, job: str, by: str, ttl: int) -> Deploying | None:
        """Take the app for ``job`` (for at most ``ttl`` seconds); the deploy holding it, when one does.

        Optimistic: the holder is read and judged under WATCH, and the key is set only if nobody changed it
        meanwhile (two workers taking over a dead deploy at once: one wins, the other sees it held)."""
        key = _key(app, "deploying")
        mine = json.dumps(asdict(Deploying(job=job, by=by, since=self.now())))
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]
                    raw = pipe.get(key)
                    held = Deploying(**json.loads(raw)) if raw is not None else None
                    if held is not None and held.job != job and not self._over(held.job):
                        return held
                    pipe.multi()
                    pipe.set(key, mine, px=ttl * 1000)
                    pipe.execute()
                    return None
                except WatchError:
                    continue

    def end(self, app: str, job: str) -> None:
        """Let go of the app (only if ``job`` holds it)."""
        self.redis.eval(_RELEASE_LUA, 1, _key(app, "deploying"), job)

    def _over(self, job: str) -> bool:
        rec = JobStore(self.redis).get(job)
        return rec is None or rec.status.final

    # -- history -----------------------------------------------------------------------------------------
    def record(self, app: str, deploy: Deploy) -> None:
        """Add a finished deploy to the app's history."""
        pipe = self.redis.pipeline()
        pipe.lpush(_key(app, "deploys"), deploy.to_json())
        pipe.ltrim(_key(app, "deploys"), 0, HISTORY - 1)
        pipe.execute()

    def history(self, app: str, limit: int = 10) -> list[Deploy]:
        """The app's last ``limit`` deploys, newest first."""
        return [Deploy.from_json(r) for r in self.redis.lrange(_key(app, "deploys"), 0, limit - 1)]

    def previous_good(self, app: str, current_image_id: str) -> Deploy | None:
        """The newest successful deploy of an image other than ``current_image_id``: what a rollback
        puts back."""
        for deploy in self.history(app, HISTORY):
            if deploy.outcome == "succeeded" and deploy.image_id and deploy.image_id != current_image_id:
                return deploy
        return None

    # -- webhook replays ---------------------------------------------------------------------------------
    def first_use(self, signature: str) -> bool:
        """True the first time a webhook signature is seen (within HOOK_REPLAY_SECONDS)."""
        return bool(self.redis.set(f"dockbolt:hook:seen:{signature}", "1", nx=True, ex=HOOK_REPLAY_SECONDS))
