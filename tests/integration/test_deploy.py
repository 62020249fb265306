"""`deploy`, `rollback`, `lock` and the CI webhook end to end: real git, the real engine, real Redis.

The app is a busybox httpd serving ``version.txt`` from a local git repository (tags v1, v2 and a v3
whose health check fails). Its port is published (stop-first); a second app without ports switches
start-first. Each deploy's announcement in the app's channel is read back with its final word.
"""

from __future__ import annotations

import contextlib
import html
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest
from redis import Redis

from bot.hooks import signature
from dockbolt.core.deploys import DeployStore
from dockbolt.core.jobstore import JobStore
from tests.integration.conftest import StartPipeline
from tests.integration.test_build import dockerfile, git
from tests.support.pipeline import CHANNEL, TEST_CONFIG, Pipeline, kill_worker, poll_until
from tests.support.recorded import final_card

pytestmark = pytest.mark.integration

APP_CHANNEL = "CDEPLOYS"
SECRET = "ci-secret-0c6f1e27a9b84d53"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def repo(tmp_path: Path, test_image: str) -> Path:
    """A git repository of a busybox httpd app: v1, v2, and v3 whose /version.txt is gone (unhealthy)."""
    root = tmp_path / "contexts" / "web"
    dockerfile(root, test_image, "COPY www /www", 'CMD ["httpd", "-f", "-p", "80", "-h", "/www"]')
    git(root, "init", "-q")
    (root / "www").mkdir()
    for version in ("v1", "v2"):
        (root / "www" / "version.txt").write_text(f"{version}\n")
        git(root, "add", "-A")
        git(root, "commit", "-qm", version)
        git(root, "tag", version)
    (root / "www" / "version.txt").unlink()
    (root / "www" / "index.html").write_text("no version here\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "v3")
    git(root, "tag", "v3")
    return root


@pytest.fixture
def images(docker_client: docker.DockerClient, test_run_id: str, redis_url: str) -> Iterator[str]:
    """The repository the apps build into. Afterwards the app containers go first (the pipelines'
    clean-up comes later: an image a running container uses cannot be removed), then the repository's
    images and the untagged ones this session's jobs built (a rebuilt tag leaves its old image behind as
    `<none>`; each build carries its job's id, so a ref built again is a new image); other sessions'
    images are left alone."""
    repository = f"dhit-{test_run_id}/web"
    yield repository
    for c in docker_client.containers.list(all=True, filters={"label": f"dhtest.run={test_run_id}"}):
        with contextlib.suppress(docker.errors.NotFound):
            c.remove(force=True)
    untagged = docker_client.images.list(filters={"dangling": True, "label": "dockbolt.app"})
    with Redis.from_url(redis_url) as redis:
        store = JobStore(redis)
        ours = [i for i in untagged if store.get(i.labels.get("dockbolt.job", "")) is not None]
    for image in [*docker_client.images.list(name=repository), *ours]:
        with contextlib.suppress(docker.errors.APIError):
            docker_client.images.remove(image.id, force=True)


def app_config(repo: Path, repository: str, run_id: str, port: int | None, name: str = "web") -> str:
    ports = f'ports = ["{port}:80"], ' if port else ""
    return f"""
[apps.{name}]
context = "file://{repo}"
image = "{repository}"
container = "dhit-{run_id}-{name}"
channel = "{APP_CHANNEL}"
run = {{ {ports}labels = ["dhtest.run={run_id}"] }}
health = {{ cmd = "wget -q -O- http://127.0.0.1/version.txt", timeout = "5s" }}
webhook_secret_env = "WEB_DEPLOY_SECRET"
"""


def config(repo: Path, *apps: str) -> str:
    return (TEST_CONFIG + f'\n[[rbac.bindings]]\nrole = "deployer"\nusers = ["UDEPLOYER"]\n\n[build]\n'
            f'context_roots = ["{repo.parent}"]\n' + "".join(apps))


@pytest.fixture
def web(pipelines: StartPipeline, repo: Path, images: str, test_run_id: str,
        monkeypatch: pytest.MonkeyPatch) -> tuple[Pipeline, int]:
    monkeypatch.setenv("WEB_DEPLOY_SECRET", SECRET)
    port = free_port()
    return pipelines(config(repo, app_config(repo, images, test_run_id, port))), port


def deployed(p: Pipeline, text: str, user: str = "UADMIN") -> tuple[str, str, str]:
    """Send ``text``; wait for the job's end. (job id, card status, the thread's text)."""
    job = p.job_of(p.send(text, user_id=user))
    assert job is not None, text
    card = final_card(p.standin, job, timeout=300)
    return job, str(card.status), html.unescape(" ".join(m.text for m in p.standin.thread(CHANNEL, card.ts)))


def ack(p: Pipeline, text: str, user: str) -> str:
    """The bot's private answer to ``text``."""
    return str((p.send(text, user_id=user).json or {}).get("text", ""))


def announced(p: Pipeline, job: str, word: str) -> str:
    """The job's announcement in the app channel, once it says ``word`` in bold (its final word)."""

    def final() -> str | None:
        ts = p.redis.hget(f"dockbolt:job:{job}", "announce_ts")
        msg = p.standin.message(APP_CHANNEL, ts.decode()) if ts else None
        return msg.text if msg is not None and f"*{word}*" in msg.text else None

    return poll_until(final, timeout=60, what=f"announcement of {job} saying {word}")


def version(port: int) -> str:
    def answer() -> str | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/version.txt", timeout=2) as resp:
                return str(resp.read().decode().strip())
        except (urllib.error.URLError, ConnectionError):
            return None

    return poll_until(answer, timeout=30, what=f"an answer on port {port}")


def test_deploy_switch_automatic_rollback_and_rollback(web: tuple[Pipeline, int], test_run_id: str,
                                                      docker_client: docker.DockerClient,
                                                      images: str) -> None:
    p, port = web
    job, status, said = deployed(p, "deploy web --ref v1")
    assert status == "done", said + p.worker_log()[-3000:]
    assert version(port) == "v1"
    assert "`web` deploy *succeeded*" in announced(p, job, "succeeded")
    container = docker_client.containers.get(f"dhit-{test_run_id}-web")
    assert container.labels["dockbolt.app"] == "web" and container.labels["dockbolt.ref"] == "v1"
    assert container.image.tags == [f"{images}:v1"]
    assert docker_client.images.get(f"{images}:v1").labels["dockbolt.app"] == "web"

    job, status, said = deployed(p, "deploy web --ref v2")
    assert status == "done", said
    assert version(port) == "v2"
    assert "succeeded" in announced(p, job, "succeeded")
    previous = docker_client.containers.get(f"dhit-{test_run_id}-web-previous")
    assert previous.status == "exited" and previous.labels["dockbolt.ref"] == "v1"
    first = previous.id

    job, status, said = deployed(p, "deploy web --ref v3")
    assert status == "failed"
    assert "rolled back" in said and "did not pass within 5 s" in said, said
    card = p.standin.find_card(job)
    assert card is not None and "rolled back: health check" in json.dumps(card.blocks)  # the card's last word
    text = announced(p, job, "rolled back")
    assert "wget -q -O- http://127.0.0.1/version.txt" in html.unescape(text)
    assert version(port) == "v2"
    names = {c.name for c in docker_client.containers.list(all=True, filters={"label": "dockbolt.app=web"})
             if c.name.startswith(f"dhit-{test_run_id}")}
    assert names == {f"dhit-{test_run_id}-web", f"dhit-{test_run_id}-web-previous"}
    assert docker_client.containers.get(f"dhit-{test_run_id}-web-previous").id == first  # v1, kept

    job, status, said = deployed(p, "rollback web")
    assert status == "done", said
    assert version(port) == "v1"
    assert "`web` rollback *succeeded*" in announced(p, job, "succeeded")

    history = ack(p, "deploys web", "UVIEWER")
    assert history.count("• ") == 4 and "*rolled back*" in history and "rollback by <@UADMIN>" in history


def test_an_app_without_ports_switches_start_first(pipelines: StartPipeline, repo: Path, images: str,
                                                   test_run_id: str,
                                                   docker_client: docker.DockerClient) -> None:
    p = pipelines(config(repo, app_config(repo, images, test_run_id, None, name="api")))
    name = f"dhit-{test_run_id}-api"
    _, status, said = deployed(p, "deploy api --ref v1")
    assert status == "done", said
    first = docker_client.containers.get(name).id
    _, status, said = deployed(p, "deploy api --ref v3")  # unhealthy: the old one never stopped
    assert status == "failed" and "rolled back" in said
    old = docker_client.containers.get(name)
    assert old.id == first and old.status == "running"
    assert old.attrs["State"]["StartedAt"] == docker_client.api.inspect_container(first)["State"]["StartedAt"]
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(f"{name}-next")
    _, status, said = deployed(p, "deploy api --ref v2")
    assert status == "done", said
    assert docker_client.containers.get(name).exec_run(["cat", "/www/version.txt"]).output == b"v2\n"
    assert docker_client.containers.get(f"{name}-previous").id == first
    _, status, said = deployed(p, f"deploy api --image {images}:v2")  # the same image again: converges
    assert status == "done", said
    current, previous = docker_client.containers.get(name), docker_client.containers.get(f"{name}-previous")
    assert current.image.tags == previous.image.tags == [f"{images}:v2"] and current.status == "running"


def test_a_lock_refuses_others_until_it_expires(web: tuple[Pipeline, int]) -> None:
    p, _ = web
    assert "locked by you" in ack(p, "lock web --for 2s release freeze, ask Ana", "UADMIN")
    refused = ack(p, "deploy web --ref v1", "UDEPLOYER")
    assert "locked by <@UADMIN>" in refused and "release freeze, ask Ana" in refused
    assert not p.redis.keys("dockbolt:app:web:deploying")  # nothing was queued
    poll_until(lambda: DeployStore(p.redis).lock_of("web") is None, timeout=10, what="the lock to expire")
    _, status, said = deployed(p, "deploy web --ref v1", user="UDEPLOYER")
    assert status == "done", said


def test_a_worker_killed_mid_deploy_is_reported_and_rollback_restores_service(
        pipelines: StartPipeline, repo: Path, images: str, test_run_id: str) -> None:
    port = free_port()
    slow = (app_config(repo, images, test_run_id, port)  # each health check takes 2 s
            .replace('cmd = "wget', """cmd = "sh -c 'sleep 2; wget""")
            .replace('version.txt", timeout', "version.txt'\", timeout"))
    p = pipelines(config(repo, slow))
    _, status, said = deployed(p, "deploy web --ref v1")
    assert status == "done", said
    job = p.job_of(p.send("deploy web --ref v3", user_id="UADMIN"))  # never healthy
    assert job is not None
    poll_until(lambda: "health-checking" in announced(p, job, "started"), timeout=120,
               what="the deploy at its health check")
    kill_worker(p.workers[0])  # mid-switch: v1 stopped and renamed, v3 running as the app, unchecked
    card = final_card(p.standin, job, timeout=120)
    assert card.status == "lost"
    assert "stopped responding" in " ".join(m.text for m in p.standin.thread(CHANNEL, card.ts))
    assert "stopped responding" in announced(p, job, "failed")  # the channel is told too
    p.start_worker()
    _, status, said = deployed(p, "rollback web")  # takes the dead deploy's lock over
    assert status == "done", said
    assert version(port) == "v1"


def hook(p: Pipeline, body: dict[str, object], *, stamp: int | None = None, secret: str = SECRET,
         sig: str | None = None) -> tuple[int, dict[str, object], str]:
    raw = json.dumps(body).encode()
    ts = str(int(time.time()) if stamp is None else stamp)
    assert p.bot.server is not None
    url = f"http://127.0.0.1:{p.bot.server.port}/hooks/deploy"
    headers = {"Content-Type": "application/json", "X-Dockbolt-Timestamp": ts,
               "X-Dockbolt-Signature": sig or signature(secret, ts, raw)}
    req = urllib.request.Request(url, data=raw, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read()), req.headers["X-dockbolt-signature"]
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), req.headers["X-dockbolt-signature"]


def test_the_webhook_deploys_announces_and_refuses_what_it_must(web: tuple[Pipeline, int],
                                                                images: str) -> None:
    p, port = web
    status, answer, sig = hook(p, {"app": "web", "ref": "v2"})
    assert status == 202, answer
    job = str(answer["job_id"])
    text = announced(p, job, "succeeded")
    assert "by CI (webhook)" in text and "ref `v2`" in text
    assert version(port) == "v2"
    ts = p.redis.hget(f"dockbolt:job:{job}", "announce_ts")
    assert ts is not None
    poll_until(lambda: p.standin.thread(APP_CHANNEL, ts.decode()), timeout=60,  # the details: written
               what="the details in the announcement's thread")  # after its last word, delivered after it
    assert p.standin.find_card(job) is None  # no card: the announcement is the job's message

    before = len(p.standin.messages())
    assert hook(p, {"app": "web", "ref": "v1"}, sig=sig)[0] == 401  # wrong signature for this body
    assert hook(p, {"app": "web", "ref": "v1"}, secret="not-the-secret")[0] == 401
    assert hook(p, {"app": "web", "ref": "v1"}, stamp=int(time.time()) - 301)[0] == 401
    body = {"app": "web", "image": f"{images}:none"}
    stamp = int(time.time())
    raw_sig = signature(SECRET, str(stamp), json.dumps(body).encode())
    first = hook(p, body, stamp=stamp, sig=raw_sig)
    assert first[0] == 202
    replay = hook(p, body, stamp=stamp, sig=raw_sig)
    assert replay[0] == 401 and "replay" in str(replay[1]["error"])
    assert hook(p, {"app": "nope", "ref": "v1"})[0] == 401  # as a wrong signature: apps cannot be probed
    assert hook(p, {"app": "web", "ref": "../x"})[0] == 400
    final_card_of_image = announced(p, str(first[1]["job_id"]), "failed")  # no such image: Docker's words
    assert "No such object" in html.unescape(final_card_of_image), final_card_of_image
    assert len(p.standin.messages()) >= before

    p.send("lock web --for 1h CI freeze", user_id="UADMIN")
    status, answer, _ = hook(p, {"app": "web", "ref": "v1"})
    assert status == 423 and "CI freeze" in str(answer["error"])
    poll_until(lambda: any("CI's deploy of `web` was refused" in m.text and "CI freeze" in m.text
                           for m in p.standin.messages(APP_CHANNEL)), timeout=30,
               what="the refusal in the app channel")
    assert version(port) == "v2"

    status, answer, _ = hook(p, {"app": "web", "announce": {"status": "succeeded", "ref": "v9",
                                                            "url": "https://ci.example.com/runs/9"}})
    assert status == 202
    text = announced(p, str(answer["job_id"]), "succeeded")
    assert "ref `v9`" in text and "https://ci.example.com/runs/9" in text
