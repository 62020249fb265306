"""Signed job envelopes: the bot signs every job it queues; a worker runs only a job it can verify.

The one argument of every RQ job dockbolt queues is the envelope::

    {"job": <JobRequest.to_dict()>, "sig": "v1=<64 hex digits>"}

``sig`` is HMAC-SHA256 keyed with ``DOCKBOLT_JOB_SECRET`` (held by the bot and the workers only) over
``b"dockbolt-job-v1\\n"`` followed by the job's canonical JSON: ``json.dumps(job, sort_keys=True,
separators=(",", ":"), ensure_ascii=True, allow_nan=False)``, UTF-8. The canonical form survives RQ's JSON
serializer unchanged, so the worker recomputes it from what it dequeued; the signature covers every field
(job id, verb, args, user, channel, thread, response_url, queued_at, schema) and is compared in constant
time. The prefix names the scheme, so a future one can be told apart.

A valid signature proves only that a holder of the secret made the job. What it cannot prove — that the
job is fresh, not replayed, and queued under its own id — the worker checks next (``workers.trust``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from dockbolt.core.errors import DockboltError
from dockbolt.core.settings import Secret

SCHEME = "v1"
_DOMAIN = b"dockbolt-job-v1\n"
JOB_KEY = "job"
SIG_KEY = "sig"


class BadSignature(DockboltError):
    """The envelope is malformed, unsigned, or its signature does not match its job."""


def canonical(job: Mapping[str, Any]) -> bytes:
    """The exact bytes that are signed (raises ValueError/TypeError for what JSON cannot carry)."""
    return json.dumps(job, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("utf-8")


def signature(job: Mapping[str, Any], secret: Secret) -> str:
    """``v1=<hex HMAC-SHA256>`` of the job under ``secret``."""
    if not secret:
        raise ValueError("no job secret: set DOCKBOLT_JOB_SECRET")
    digest = hmac.new(secret.value.encode("utf-8"), _DOMAIN + canonical(job), hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def sign(job: Mapping[str, Any], secret: Secret) -> dict[str, Any]:
    """Return the envelope for ``job`` (a ``JobRequest.to_dict()``); its job is exactly what was signed."""
    signed: dict[str, Any] = json.loads(canonical(job))
    return {JOB_KEY: signed, SIG_KEY: signature(signed, secret)}


def open_envelope(envelope: object, secret: Secret) -> dict[str, Any]:
    """Return the job of a correctly signed envelope; raise BadSignature (saying why) otherwise."""
    if not isinstance(envelope, dict) or set(envelope) != {JOB_KEY, SIG_KEY}:
        raise BadSignature(f'not a signed job envelope (want exactly the keys "{JOB_KEY}" and "{SIG_KEY}")')
    job, sig = envelope[JOB_KEY], envelope[SIG_KEY]
    if not isinstance(job, dict) or not isinstance(sig, str):
        raise BadSignature("not a signed job envelope (job must be an object, sig a string)")
    if not sig.startswith(f"{SCHEME}="):
        raise BadSignature(f"unsigned job or unknown signature scheme (want {SCHEME}=…)")
    try:
        expected = signature(job, secret)
    except (TypeError, ValueError) as exc:
        raise BadSignature(f"job cannot be put in canonical form: {exc}") from None
    if not hmac.compare_digest(expected.encode("utf-8"), sig.encode("utf-8")):
        raise BadSignature("signature does not match the job (wrong key, or the job was altered)")
    return job
