"""The `dockbolt` command: bot, worker, up (the embedded default) and check."""

from __future__ import annotations

import argparse
import logging
import sys

from dockbolt.core.errors import ConfigError
from dockbolt.core.settings import load_settings


def _http_args(p: argparse.ArgumentParser, when: str) -> None:
    p.add_argument("--port", type=int, default=3000, help=f"{when}port (default 3000)")
    p.add_argument("--host", default="0.0.0.0", help=f"{when}bind address (default 0.0.0.0)")  # noqa: S104


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dockbolt", description="Slack ChatOps for Docker.")
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bot", help="run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP)")
    _http_args(b, "HTTP mode ")
    w = sub.add_parser("worker", help="run an RQ worker with access to the Docker engine")
    w.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    u = sub.add_parser("up", help="the embedded default: private Redis + worker + console (or Slack)")
    u.add_argument("--as", dest="as_user", default="ULOCALADMIN", help="console: your Slack user id")
    u.add_argument("--channel", default="CCONSOLE", help="console: the channel you type in")
    _http_args(u, "with Slack tokens, HTTP mode ")
    sub.add_parser("check", help="validate the config and reach Redis, Docker and Slack")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    bad = settings.problems()
    if bad:
        for line in bad:
            print(f"dockbolt: {line}", file=sys.stderr)
        return 2
    try:
        if args.cmd == "worker":
            from workers.main import run_worker

            return run_worker(settings, burst=args.burst)
        if args.cmd == "bot":
            from dockbolt.cli.run_bot import run_bot

            return run_bot(settings, host=args.host, port=args.port)
        if args.cmd == "up":
            from dockbolt.cli.up import run_up

            return run_up(settings, user_id=args.as_user, channel_id=args.channel, host=args.host,
                          port=args.port)
        from dockbolt.cli.check import run_check

        return run_check(settings)
    except ConfigError as exc:
        for line in exc.problems:
            print(f"dockbolt: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
