"""Scenario fixtures: the real Bolt app over HTTP, the stand-in Slack, a real Redis (no worker)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.pipeline import Pipeline, start_pipeline
from tests.support.socket_bot import SocketBot, start_socket_bot


@pytest.fixture
def pipeline(redis_url: str, tmp_path: Path) -> Iterator[Pipeline]:
    """A bot with no worker: what it acks and posts, and what it enqueues."""
    p = start_pipeline(redis_url, tmp_path)
    yield p
    p.close()


@pytest.fixture
def socket_bot(redis_url: str, tmp_path: Path) -> Iterator[SocketBot]:
    """`dockbolt bot` in Socket Mode, connected to the stand-in (connection 1 open)."""
    b = start_socket_bot(redis_url, tmp_path)
    try:
        b.wait_connected(1)
        yield b
    finally:
        b.close()
