"""The stand-in's HTTP face: body parsing (query, form, JSON, multipart) and routing.

Routes: ``/api/<method>`` (Web API), ``/upload/<file id>`` (upload URLs), ``/response/<key>``
(response URLs). Form bodies carry blocks/metadata/files as JSON strings; they are decoded so that
recorded params look the same whichever encoding the client chose.
"""

from __future__ import annotations

import json
import logging
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl

from dockbolt.console.standin.api import WebApi
from dockbolt.console.standin.files import receive_upload
from dockbolt.console.standin.limits import ApiError
from dockbolt.console.standin.response_urls import ResponseUrls

JSON_FIELDS = {
    "blocks": "invalid_blocks_format",
    "attachments": "invalid_attachments",
    "metadata": "invalid_metadata_format",
    "files": "invalid_arguments",
    "view": "invalid_arguments",
}
log = logging.getLogger(__name__)


def parse_params(content_type: str, body: bytes, query: str = "") -> dict[str, Any]:
    """Merge query and body parameters the way Slack reads them; JSON-string fields are decoded."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise ApiError("invalid_json") from None
        if not isinstance(data, dict):
            raise ApiError("invalid_json")
        params.update(data)
    elif kind == "multipart/form-data":
        params.update(
            {
                name: value.decode("utf-8", "replace")
                for name, _, value in multipart_parts(content_type, body)
                if name
            }
        )
    elif body:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    for key, error in JSON_FIELDS.items():
        value = params.get(key)
        if value == "":
            params.pop(key)
        elif isinstance(value, str):
            try:
                params[key] = json.loads(value)
            except ValueError:
                raise ApiError(error, f"[ERROR] {key} is not valid JSON") from None
    return params


def multipart_parts(content_type: str, body: bytes) -> list[tuple[str | None, str | None, bytes]]:
    """Split a multipart/form-data body into (field name, filename, bytes) parts."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    parts = []
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        parts.append((part.get_param("name", header="content-disposition"), part.get_filename(), data))
    return [(str(n) if n is not None else None, f, d) for n, f, d in parts]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class StandInServer(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1, on ``port`` (0: chosen by the OS)."""

    daemon_threads = True

    def __init__(self, api: WebApi, responses: ResponseUrls, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.api = api
        self.responses = responses


class _Handler(BaseHTTPRequestHandler):
    server_version = "dockbolt-slack-standin/1"

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("stand-in: " + format, *args)

    def _route(self, verb: str) -> None:
        server = cast(StandInServer, self.server)
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        section, _, name = path.lstrip("/").partition("/")
        if section == "api" and name:
            self._api(server.api, name, content_type, body, query)
        elif section == "upload" and verb == "POST":
            parts = multipart_parts(content_type, body) if content_type.startswith("multipart/") else []
            data = next((d for _, filename, d in parts if filename), body)
            ok = receive_upload(server.api, name, data)
            self._send(200 if ok else 404, b"OK - " + str(len(data)).encode() if ok else b"not_found")
        elif section == "response" and verb == "POST":
            try:
                payload = json.loads(body)
            except ValueError:
                payload = None
            status, text = server.responses.post(name, payload)
            self._send(status, text.encode(), json_body=text.startswith("{"))
        else:
            self._send(404, b"not_found")

    def _api(self, api: WebApi, method: str, content_type: str, body: bytes, query: str) -> None:
        try:
            params = parse_params(content_type, body, query)
        except ApiError as exc:
            self._send(200, json.dumps({"ok": False, "error": exc.error}).encode(), json_body=True)
            return
        token = bearer_token(self.headers.get("Authorization")) or params.pop("token", None)
        params.pop("token", None)
        answer = api.call(method, params, token)
        self._send(answer.status, json.dumps(answer.payload).encode(), answer.headers, json_body=True)

    def _send(
        self, status: int, body: bytes, headers: dict[str, str] | None = None, *, json_body: bool = False
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8" if json_body else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
