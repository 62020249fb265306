"""Secrets never published: a container holding a token in its env, args, labels and log, read from chat.

The real pipeline (signed request → bot → Redis/RQ → worker process → Docker engine → stand-in Slack);
what the stand-in received (every Web API call, every uploaded file, every response_url post) and the
worker's log are searched for the secret. Also: RQ's own log lines, through a real logging setup.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import docker
import pytest
from redis import Redis
from rq import Queue, SimpleWorker

from dockbolt.core.redact import Redactor, install_log_redaction
from tests.integration.conftest import RUN_LABEL
from tests.integration.test_pipeline import MANAGED, finished, job_of, live, thread_text
from tests.support.pipeline import Pipeline
from tests.support.recorded import everything_received

pytestmark = pytest.mark.integration
__all__ = ["live"]  # the pipeline fixture, shared with test_pipeline


@pytest.fixture
def holder(docker_client: docker.DockerClient, test_image: str, test_run_id: str,
           docker_cleanup: None) -> Iterator[tuple[str, list[str]]]:
    """A running container made with the Docker API, not through chat, that shows its secrets everywhere:
    env, args, labels and log (60 filler lines make the log a file). Yields its name and the secrets."""
    token = f"xoxb-{int(time.time())}-4242-SeCrEt{test_run_id}"
    password = f"pw-{test_run_id}-hunter2"
    script = ("echo booted; echo SECRET_TOKEN=$SECRET_TOKEN; echo \"DB_PASSWORD=$DB_PASSWORD\"; "
              "echo connecting to postgres://app:$DB_PASSWORD@db/app; "
              f"echo literal {token}; for i in $(seq 1 60); do echo filler $i; done; sleep 600")
    c = docker_client.containers.run(
        test_image, ["sh", "-c", script, "sh", "--db-password", password], detach=True,
        name=f"dhit-{test_run_id}-secrets", environment={"SECRET_TOKEN": token, "DB_PASSWORD": password},
        labels={**MANAGED, RUN_LABEL: test_run_id, "com.example.slack-token": token, "owner": f"ops {token}"},
    )
    deadline = time.monotonic() + 30
    while b"filler 60" not in c.logs() and time.monotonic() < deadline:
        time.sleep(0.1)
    yield str(c.name), [token.split("-", 1)[1], password]


def test_inspect_and_logs_from_chat_never_show_the_secret(live: Pipeline,
                                                          holder: tuple[str, list[str]]) -> None:
    name, secrets = holder
    card, replies = finished(live, job_of(live, f"inspect {name}", user="UVIEWER"))
    assert card.status == "done", thread_text(replies)
    card, replies = finished(live, job_of(live, f"logs {name} --tail all", user="UVIEWER"))
    assert card.status == "done", thread_text(replies)
    sent = everything_received(live.standin)
    for secret in secrets:
        assert secret not in sent
        assert secret not in live.worker_log()
    # What was masked is still there by name: the output is useful, not blanked.
    inspect_file = next(f for f in live.standin.files if f.name.endswith(".json"))
    for shown in ('"SECRET_TOKEN=***"', '"--db-password",', '"com.example.slack-token": "***"', "xoxb-***"):
        assert shown in inspect_file.text
    logs_file = next(f for f in live.standin.files if f.name.endswith(".log"))
    for shown in ("booted", "SECRET_TOKEN=***", "DB_PASSWORD=***", "postgres://app:***@db/app", "filler 60"):
        assert shown in logs_file.text


def test_an_env_value_typed_in_chat_reaches_no_card_thread_or_worker_log(live: Pipeline, test_image: str,
                                                                         test_run_id: str) -> None:
    value = f"hello-{test_run_id}-value"
    job = job_of(live, f"run -d --name dhit-{test_run_id}-env -l dhtest.run={test_run_id} "
                       f"-e GREETING={value} {test_image} sleep 600")
    card, replies = finished(live, job)
    assert card.status == "done", thread_text(replies)
    assert "GREETING=***" in card.text
    assert value not in everything_received(live.standin)


def test_rqs_own_worker_log_lines_are_redacted(redis_url: str, root_log: io.StringIO) -> None:
    install_log_redaction(Redactor())
    with Redis.from_url(redis_url) as redis:
        q = Queue("redaction-test", connection=redis)
        q.enqueue("posixpath.basename", "run -e GREETING=hello-value -e DB_PASSWORD=hunter2 img xoxb-1-2-ab")
        SimpleWorker([q], connection=redis).work(burst=True, logging_level="INFO")
    out = root_log.getvalue()
    assert "posixpath.basename(" in out, out  # RQ logged the job's description
    for secret in ("hello-value", "hunter2", "1-2-ab"):
        assert secret not in out, out
