"""``POST /hooks/deploy``: a CI system deploys an app (or announces a deploy it did), signed with the app's
secret the way Slack signs its own requests.

Headers ``X-Dockbolt-Timestamp: <unix seconds>`` and ``X-Dockbolt-Signature: v1=<hex HMAC-SHA256 of
"v1:<timestamp>:<raw body>">``, keyed with the value of the app's ``webhook_secret_env`` variable. An
unknown app, an app without a webhook secret, a missing or wrong signature or a timestamp more than 5
minutes off → 401 and nothing happens, all with one answer (``NOT_VERIFIED``; the bot's log says which):
a caller without the secret learns nothing, not even which apps exist. A signature already used → 401
"replay". Bodies: ``{"app": "web", "ref": "v2"}`` (build and deploy), ``{"app": "web", "image":
"acme/web:v2"}`` (deploy an image), ``{"app": "web", "announce": {"status": "succeeded", "ref": "v2",
"url": "…"}}`` (only announce). 202 ``{"job_id": …}``; 400 for a body that is not a JSON object, or a
signed one that is wrong; 423 while the app is locked (said in the app's channel too); 409 while another
deploy of it runs.

The deploy is the app's config entry and nothing else (the worker checks that again); its identity is
``webhook`` (``dockbolt.core.deploys.WEBHOOK_USER``), which may only deploy. Its announcement in the app's
channel is the job's one message (no card), with the details in its thread.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from bot.enqueue import Dispatcher
from bot.routing import route
from bot.verbs.deploy import DEPLOY_TIMEOUT
from bot.verbs.run import image_ref
from dockbolt.core.apps import AppConfig
from dockbolt.core.args import GIT_REF_RE
from dockbolt.core.config import HostsConfig
from dockbolt.core.contract import JobRequest, JobStatus, new_job_id
from dockbolt.core.deploys import WEBHOOK_USER, Deploy, DeployStore, announcement, busy_text, locked_text
from dockbolt.core.hosts import HostRegistry

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

WINDOW = 300  # seconds a signed request stays valid
BY = "CI (webhook)"
STATUSES = ("started", "succeeded", "failed", "rolled back")
# Printable ASCII without spaces or what would end a Slack link (<url|text>) early.
_URL_RE = re.compile(r"^https?://[!-;=?-{}~]{1,500}\Z")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Dockbolt-Signature`` value of a request (what CI computes; see the README's curl)."""
    digest = hmac.new(secret.encode(), f"v1:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


NOT_VERIFIED = ("not verified: check the app's name and webhook secret, X-Dockbolt-Timestamp (within 5 "
                "minutes) and X-Dockbolt-Signature; the bot's log says which is wrong")


class Refused(Exception):
    """An answer other than 202: its HTTP status, the reason given in the body, and what the log says
    (the reason unless ``detail``)."""

    def __init__(self, status: int, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.status = status
        self.detail = detail or reason


def _unverified(detail: str) -> Refused:
    """A request not (yet) shown to hold the app's secret: the one answer, the detail for the log."""
    return Refused(401, NOT_VERIFIED, detail)


class DeployHook:
    """The WSGI endpoint. ``environ`` holds the apps' secrets (the process environment)."""

    def __init__(self, apps: Mapping[str, AppConfig], dispatcher: Dispatcher, *,
                 environ: Mapping[str, str] = os.environ, clock: Callable[[], float] = time.time,
                 hosts: HostsConfig | None = None) -> None:
        self.apps = apps
        self.dispatcher = dispatcher
        self.hosts = hosts or HostsConfig()
        self.registry = HostRegistry(dispatcher.redis)
        self.deploys = DeployStore(dispatcher.store.redis)
        self.environ = environ
        self.clock = clock

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        status, answer = self.answer(environ)
        body = json.dumps(answer).encode()
        start_response(f"{status} {HTTPStatus(status).phrase}", [("Content-Type", "application/json"),
                                          ("Content-Length", str(len(body)))])
        return [body]

    def answer(self, environ: WSGIEnvironment) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON answer) of one request."""
        if environ.get("REQUEST_METHOD") != "POST":
            return 405, {"error": "POST only"}
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
        try:
            return 202, {"job_id": self._accept(environ, raw)}
        except Refused as exc:
            log.info("deploy hook refused (%d): %s", exc.status, exc.detail)
            return exc.status, {"error": str(exc)}
        except RedisError as exc:
            log.warning("deploy hook: Redis unavailable: %s", exc)
            return 503, {"error": "the queue is unavailable; nothing was done, try again"}

    def _accept(self, environ: WSGIEnvironment, raw: bytes) -> str:
        body = _json(raw)
        app = self.apps.get(str(body.get("app", "")))
        if app is None:
            raise _unverified(f"unknown app {body.get('app')!r}")
        self._verify(app, environ, raw)
        kinds = [k for k in ("ref", "image", "announce") if k in body]
        if len(kinds) != 1 or set(body) - {"app", *kinds}:
            raise Refused(400, 'give exactly one of "ref", "image" and "announce" (and "app")')
        if kinds == ["announce"]:
            return self._announce_only(app, body["announce"])
        ref, image = _checked(body, kinds[0])
        if image and not app.own_image(image):
            raise Refused(400, f'"image" must be a tag of {app.image} (the app\'s repository)')
        lock = self.deploys.lock_of(app.name)
        if lock is not None:
            refused = f"CI's deploy of `{app.name}` was refused. " + locked_text(app.name, lock)
            self._note(app, JobStatus.FAILED, refused)
            raise Refused(423, refused.replace("`", "").replace(":lock: ", ""))
        held = self.deploys.deploying(app.name)
        if held is not None:
            raise Refused(409, busy_text(app.name, held).replace("`", ""))
        job = replace(self._job(app, f"deploy {app.name} " + (f"--ref {ref}" if ref else f"--image {image}"),
                                self._host(app)), args=app.deploy_args(by=BY, ref=ref, image=image).to_dict())
        self.dispatcher.accept(job, DEPLOY_TIMEOUT)
        self.dispatcher.outbox.announce(job.job_id, app.channel, announcement(
            app=app.name, verb="deploy", word="started", by=BY, ref=ref, image=image, now="queued"))
        self.dispatcher.deliver(job)
        return job.job_id

    def _verify(self, app: AppConfig, environ: WSGIEnvironment, raw: bytes) -> None:
        secret = self.environ.get(app.webhook_secret_env) if app.webhook_secret_env else None
        if not secret:
            raise _unverified(f"webhooks are off for {app.name}: no secret configured")
        stamp = str(environ.get("HTTP_X_DOCKBOLT_TIMESTAMP") or "")
        given = str(environ.get("HTTP_X_DOCKBOLT_SIGNATURE") or "")
        if not stamp.isdigit() or len(stamp) > 15 or abs(self.clock() - int(stamp)) > WINDOW:
            raise _unverified(f"{app.name}: missing or stale X-Dockbolt-Timestamp (5 minutes at most)")
        if not given.isascii() or not hmac.compare_digest(given, signature(secret, stamp, raw)):
            raise _unverified(f"{app.name}: bad X-Dockbolt-Signature")
        if not self.deploys.first_use(given):
            raise Refused(401, "this signed request was already used (replay)")

    def _job(self, app: AppConfig, text: str, host: str = "") -> JobRequest:
        if not app.channel:
            raise Refused(400, f"{app.name} has no channel to announce in ([apps.{app.name}] channel)")
        return JobRequest(job_id=new_job_id(), verb="deploy", args={}, user_id=WEBHOOK_USER,
                          channel_id=app.channel, command_text=f"{text} (webhook)", announce_in=app.channel,
                          queued_at=self.clock(), host=host)

    def _host(self, app: AppConfig) -> str:
        """The host the app's channel deploys to (its default host, or the one live host)."""
        where = route("", app.channel, "deploy", False, self.hosts, self.registry)
        if where.refusal:
            raise Refused(503, where.refusal.replace("`", "").replace(":no_entry: ", "").replace(
                ":question: ", ""))
        return where.hosts[0]

    def _announce_only(self, app: AppConfig, announce: object) -> str:
        if not isinstance(announce, dict) or announce.get("status") not in STATUSES:
            raise Refused(400, f'"announce" needs a "status": one of {", ".join(STATUSES)}')
        ref, url = str(announce.get("ref") or ""), str(announce.get("url") or "")
        if (ref and not GIT_REF_RE.match(ref)) or (url and not _URL_RE.match(url)) or set(announce) - {
                "status", "ref", "url"}:
            raise Refused(400, '"announce" takes "status", a "ref" (a git ref) and a "url" (http/https)')
        word = str(announce["status"])
        job = self._note(app, JobStatus.DONE, announcement(app=app.name, verb="deploy", word=word, by=BY,
                                                           ref=ref, url=url))
        self.deploys.record(app.name, Deploy(job=job, verb="deploy", by=BY, ref=ref, image="", image_id="",
                                             outcome=word, started=self.deploys.now(), duration=0.0))
        return job

    def _note(self, app: AppConfig, status: JobStatus, text: str) -> str:
        """Post ``text`` in the app's channel as a job of its own that is over already; its id."""
        job = self._job(app, f"announce {app.name}")
        self.dispatcher.note(job, text, status)
        self.dispatcher.deliver(job)
        return job.job_id


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise Refused(400, 'the body must be a JSON object like {"app": "web", "ref": "v2"}')
    return body


def _checked(body: Mapping[str, Any], kind: str) -> tuple[str, str]:
    value = body[kind]
    if not isinstance(value, str):
        raise Refused(400, f'"{kind}" must be a string')
    if kind == "ref":
        if not GIT_REF_RE.match(value):
            raise Refused(400, f'"ref" {value!r} is not a branch, tag or commit name')
        return value, ""
    try:
        return "", image_ref(value)
    except ValueError as exc:
        raise Refused(400, str(exc).replace("`", "")) from None
