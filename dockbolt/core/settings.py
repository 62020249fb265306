"""Settings read once from an (injectable) environment into a typed, frozen object.

Secrets are held in ``Secret`` whose repr is masked, so a logged Settings never leaks a token. Who holds
which: the bot holds all of them; a worker holds ``SLACK_BOT_TOKEN`` (to report) and
``DOCKBOLT_JOB_SECRET`` (to verify jobs), never ``SLACK_SIGNING_SECRET`` or ``SLACK_APP_TOKEN``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from dockbolt.core.contract import check_host_name

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_CONFIG_PATH = "./dockbolt.toml"
DEFAULT_REDIS_URL = "redis://localhost:6379/0"


@dataclass(frozen=True)
class Secret:
    """A string whose repr and str never show the value."""

    value: str

    def __repr__(self) -> str:
        return "Secret('***')" if self.value else "Secret('')"

    def __str__(self) -> str:
        return "***" if self.value else ""

    def __bool__(self) -> bool:
        return bool(self.value)


@dataclass(frozen=True)
class DockerTLS:
    """The docker CLI's TLS variables: ``DOCKER_CERT_PATH`` (ca.pem, cert.pem, key.pem) turns TLS on for a
    ``tcp://`` engine; ``DOCKER_TLS_VERIFY`` (any value) checks the engine's certificate against ca.pem."""

    verify: bool = False
    cert_path: str = ""

    @property
    def enabled(self) -> bool:
        """Whether a ``tcp://`` engine is reached over TLS."""
        return self.verify or bool(self.cert_path)


@dataclass(frozen=True)
class Settings:
    """Everything dockbolt reads from the environment."""

    slack_bot_token: Secret
    slack_signing_secret: Secret
    slack_app_token: Secret
    slack_api_url: str
    redis_url: str | None
    docker_host: str | None
    config_path: str
    # Shared by the bot (signs every job) and the workers (run only jobs it verifies); see core.jobsign.
    job_secret: Secret
    docker_tls: DockerTLS = DockerTLS()
    # The Docker host this worker/watcher serves (DOCKBOLT_HOST_NAME or --host-name; "" = the engine's Name).
    host_name: str = ""

    @property
    def redis_location(self) -> str:
        """REDIS_URL, or the default (localhost:6379, db 0) when it is not set."""
        return self.redis_url or DEFAULT_REDIS_URL

    @property
    def redis_shown(self) -> str:
        """``redis_location`` fit for a log line or a message: a password in it is masked."""
        url = self.redis_location
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        if parts.password is None and all(k != "password" for k, _ in query):
            return url
        netloc = parts.netloc
        if parts.password is not None:
            netloc = f"{parts.username or ''}:***@{netloc.rpartition('@')[2]}"
        masked = urlencode([(k, "***" if k == "password" else v) for k, v in query], safe="*")
        return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{masked}" if masked else "")

    @property
    def socket_mode(self) -> bool:
        """True when an app-level token is set: Slack is reached over Socket Mode."""
        return bool(self.slack_app_token)

    @property
    def has_slack(self) -> bool:
        """True when a bot token is set (a real Slack workspace, not the local console)."""
        return bool(self.slack_bot_token)

    def problems(self) -> list[str]:
        """Return one line per setting that is malformed."""
        out: list[str] = []
        if self.slack_bot_token and not self.slack_bot_token.value.startswith("xoxb-"):
            out.append("SLACK_BOT_TOKEN must be a bot token starting with 'xoxb-'")
        if self.slack_app_token and not self.slack_app_token.value.startswith("xapp-"):
            out.append("SLACK_APP_TOKEN must be an app-level token starting with 'xapp-'")
        if not self.slack_api_url.startswith(("http://", "https://")):
            out.append(f"SLACK_API_URL must be an http(s) URL, got {self.slack_api_url!r}")
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            out.append(f"REDIS_URL must start with redis://, rediss:// or unix://, got {self.redis_url!r}")
        if self.host_name:
            try:
                check_host_name(self.host_name)
            except ValueError as exc:
                out.append(f"DOCKBOLT_HOST_NAME: {exc}")
        return out


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from ``environ`` (default: the process environment)."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str:
        return env.get(name, "").strip()

    api_url = get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    if not api_url.endswith("/"):
        api_url += "/"
    return Settings(
        slack_bot_token=Secret(get("SLACK_BOT_TOKEN")),
        slack_signing_secret=Secret(get("SLACK_SIGNING_SECRET")),
        slack_app_token=Secret(get("SLACK_APP_TOKEN")),
        slack_api_url=api_url,
        redis_url=get("REDIS_URL") or None,
        docker_host=get("DOCKER_HOST") or None,
        config_path=get("DOCKBOLT_CONFIG") or DEFAULT_CONFIG_PATH,
        job_secret=Secret(get("DOCKBOLT_JOB_SECRET")),
        docker_tls=DockerTLS(verify=bool(get("DOCKER_TLS_VERIFY")), cert_path=get("DOCKER_CERT_PATH") or (
            os.path.join(os.path.expanduser("~"), ".docker") if get("DOCKER_TLS_VERIFY") else "")),
        host_name=get("DOCKBOLT_HOST_NAME"),
    )
