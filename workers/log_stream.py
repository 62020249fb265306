"""Reading a container's log stream off the engine's HTTP response, knowing whether it ended cleanly.

docker-py's own reader treats an early end, or a half-received frame, as the normal end of the log; here
a stream is complete only when the engine ended it properly, and ``cut_reason`` says why it was not.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any

import requests.exceptions
import urllib3.exceptions


def cut_reason(exc: BaseException, timeout: object, reason: Callable[[BaseException], str]) -> str:
    """Why a log stream stopped early, in a few words."""
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError | requests.exceptions.Timeout | TimeoutError):
        return f"the engine sent nothing for {timeout} s (read timed out)"
    if isinstance(exc, Truncated):
        return str(exc)
    why = reason(exc)
    if isinstance(exc, urllib3.exceptions.ProtocolError) and why == str(exc).splitlines()[0]:
        why = "the connection closed before the stream's end"  # not an OS error: an early EOF
    return why


class Truncated(Exception):
    """The response ended inside a frame of the log stream."""


def read_exactly(raw: Any, n: int) -> bytes:
    """``n`` bytes of the response, or fewer where it ends."""
    parts, got = [], 0
    while got < n:
        piece = raw.read(n - got)
        if not piece:
            break
        parts.append(piece)
        got += len(piece)
    return b"".join(parts)


def frames(raw: Any) -> Iterator[bytes]:
    """The payloads of a multiplexed log stream (8-byte header: stream, 3 zero bytes, big-endian size)."""
    while header := read_exactly(raw, 8):
        if len(header) < 8:
            raise Truncated("the stream ended inside a frame header")
        size = struct.unpack(">BxxxL", header)[1]
        payload = read_exactly(raw, size)
        if len(payload) < size:
            raise Truncated(f"the stream ended {size - len(payload)} bytes short of a frame's end")
        yield payload


def raw_chunks(raw: Any) -> Iterator[bytes]:
    """The bytes of a tty container's log stream, as they come."""
    while piece := raw.read(65536):
        yield piece
