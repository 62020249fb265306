"""`pull` and `run --pull`: parsing, who may pull what (the same checks as `run`'s image, on both sides),
and the handlers against the recording stub: progress folded into one line, what is answered, when `run`
pulls."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable

import pytest

from bot.parsing import parse
from bot.verbs import CATALOG, VERBS
from dockbolt.core.args import PullArgs
from dockbolt.core.config import parse_config
from dockbolt.core.contract import JobRequest
from dockbolt.core.errors import DockerError, UsageError
from dockbolt.core.rbac import Decision, Policy, authorize
from dockbolt.core.scopes import run_requirements
from tests.support.recording_docker import RecordingDocker, canned_id
from workers import authz
from workers.handlers import HANDLERS
from workers.handlers.base import HandlerContext
from workers.image_pull import PullProgress
from workers.reply import Reply

IMAGE = "127.0.0.1:5000/acme/web:1"

# --- parsing ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("image", ["busybox", "busybox:1.36", IMAGE, "registry.local/a/b@sha256:" + "a" * 64])
def test_pull_takes_one_image_reference(image: str) -> None:
    cmd = parse(f"pull {image}")
    assert cmd.verb == "pull" and cmd.args == PullArgs(image=image)
    sent = json.loads(json.dumps(cmd.args.to_dict()))
    assert sent == {"image": image} and PullArgs.from_dict(sent) == cmd.args


@pytest.mark.parametrize(("text", "fragment"), [
    ("pull", "takes exactly 1 argument (got 0)"),
    ("pull a b", "takes exactly 1 argument (got 2)"),
    ("pull Busybox", "repository name must be lowercase"),
    ("pull bad//name", "invalid reference format"),
    ("pull --all-tags busybox", "--all-tags"),
])
def test_pull_refuses_what_docker_would(text: str, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        parse(text)
    assert info.value.usage == VERBS["pull"].usage
    assert fragment in str(info.value)


def test_pull_is_an_operator_verb_like_run() -> None:
    assert VERBS["pull"].default_role == VERBS["run"].default_role == "operator"


# --- authorization (the bot's and the worker's: one run_requirements) ------------------------------------

CONFIG = """
[[rbac.bindings]]
role = "viewer"
users = ["UVIEW"]

[[rbac.bindings]]
role = "operator"
users = ["UOPS"]

[[rbac.bindings]]
role = "operator"
users = ["USCOPED"]
images = ["127.0.0.1:*/acme/*"]
"""


def policy(extra: str = "") -> Policy:
    return parse_config(tomllib.loads(CONFIG + extra), "d.toml", CATALOG).policy


def decide(text: str, user: str, pol: Policy) -> Decision:
    cmd = parse(text)
    needs, targets = run_requirements(cmd.args, pol.guardrails)
    return authorize(pol, user_id=user, user_groups=(), channel_id="C1", verb=cmd.verb, needs=needs,
                     targets=targets)


def worker_decides(text: str, user: str, pol: Policy) -> Decision:
    cmd = parse(text)
    docker = RecordingDocker()
    decision = authz.check(pol, authz.Caller(user, (), "C1", cmd.verb), cmd.args, docker)
    assert docker.calls == []  # nothing to look up on the engine: the image is checked as typed
    return decision


Check = Callable[[str, str, Policy], Decision]


@pytest.mark.parametrize("check", [decide, worker_decides])
def test_who_may_pull(check: Check) -> None:
    pol = policy()
    assert check(f"pull {IMAGE}", "UOPS", pol).allowed
    denied = check(f"pull {IMAGE}", "UVIEW", pol)
    assert not denied.allowed and "`pull` needs a role that allows it (operator" in denied.reason
    assert check(f"pull {IMAGE}", "USCOPED", pol).allowed
    outside = check("pull busybox", "USCOPED", pol)
    assert not outside.allowed and "image `busybox` is outside your images scope" in outside.reason


@pytest.mark.parametrize("check", [decide, worker_decides])
def test_pull_and_run_share_the_allowed_images(check: Check) -> None:
    pol = policy('\n[policy]\nallowed_images = ["127.0.0.1:*/*"]\n')
    for text in ("pull busybox", "run busybox", "run --pull always busybox"):
        denied = check(text, "UOPS", pol)
        assert not denied.allowed and "not in [policy] allowed_images (127.0.0.1:*/*)" in denied.reason, text
    # A tag-less reference is checked as `:latest`, as run's image is.
    loose = policy('\n[policy]\nallowed_images = ["acme/web:latest"]\n')
    assert check("pull acme/web", "UOPS", loose).allowed
    assert not check("pull acme/web:2", "UOPS", loose).allowed
    assert check(f"pull {IMAGE}", "UOPS", pol).allowed


# --- handlers ---------------------------------------------------------------------------------------------


def handle(docker: RecordingDocker, text: str, progress: list[str]) -> Reply:
    """Run the command's handler as the runner does: args through the queue's JSON, then typed."""
    cmd = parse(text)
    job = JobRequest(job_id="job42", verb=cmd.verb, args=cmd.args.to_dict(), user_id="UALICE",
                     channel_id="C1", command_text=text)
    ctx = HandlerContext(job=job, docker=docker, progress=progress.append)
    handler = HANDLERS[cmd.verb]
    return handler.run(ctx, handler.args.from_dict(json.loads(json.dumps(cmd.args.to_dict()))))


LAYERS = [
    {"status": "Pulling from acme/web", "id": "1"},
    {"status": "Pulling fs layer", "id": "aaa"},
    {"status": "Pulling fs layer", "id": "bbb"},
    {"status": "Downloading", "id": "aaa", "progressDetail": {"current": 500_000, "total": 1_000_000}},
    {"status": "Downloading", "id": "bbb", "progressDetail": {"current": 0, "total": 3_000_000}},
    {"status": "Download complete", "id": "aaa"},
    {"status": "Pull complete", "id": "aaa"},
    {"status": "Digest: sha256:" + "d" * 64},
]


def test_pull_shows_its_progress_and_answers_digest_and_size() -> None:
    docker, progress = RecordingDocker(), []
    docker.pull_output = LAYERS
    reply = handle(docker, f"pull {IMAGE}", progress)
    assert docker.calls == [("pull", IMAGE)]
    digest = "sha256:" + canned_id("digest " + IMAGE)
    assert reply.ok and reply.text == f"Pulled `{IMAGE}` (`{digest}`, 1.23MB)."
    assert progress[0] == f"pulling {IMAGE}…"
    assert progress[1:3] == [f"pulling {IMAGE}: 0/1 layers", f"pulling {IMAGE}: 0/2 layers"]
    assert progress[-1] == f"pulling {IMAGE}: 1/2 layers, 1MB of 4MB"
    assert len(progress) == 1 + 6  # the "Pulling from" and "Digest" messages are not about a layer


def test_progress_counts_each_layer_once() -> None:
    state = PullProgress("x")
    state.add({"status": "Already exists", "id": "aaa"})
    state.add({"status": "Downloading", "id": "bbb", "progressDetail": {"current": 10, "total": 40}})
    state.add({"status": "Downloading", "id": "bbb", "progressDetail": {"current": 30, "total": 40}})
    assert state.line() == "pulling x: 1/2 layers, 30B of 40B"


def test_a_refused_pull_is_dockers_error() -> None:
    docker = RecordingDocker()
    docker.fail("pull", DockerError("unauthorized: authentication required"))
    with pytest.raises(DockerError, match=r"^unauthorized: authentication required$"):
        handle(docker, f"pull {IMAGE}", [])


@pytest.mark.parametrize(("flag", "local", "pulls"), [
    ("", False, True), ("--pull missing", False, True), ("--pull missing", True, False),
    ("--pull always", True, True), ("--pull never", False, False), ("--pull never", True, False),
])
def test_run_pulls_as_its_pull_policy_says(flag: str, local: bool, pulls: bool) -> None:
    docker, progress = RecordingDocker(), []
    if local:
        docker.local_images.add(IMAGE)
    reply = handle(docker, f"run {flag} {IMAGE}", progress)
    methods = [c[0] for c in docker.calls]
    assert methods == [*(["has_image"] if "always" not in flag and "never" not in flag else []),
                       *(["pull"] if pulls else []), "run"]
    assert reply.text.startswith(f"Pulled `{IMAGE}`") == pulls
    assert reply.text.endswith(f"from `{IMAGE}`.")
    assert (f"pulling {IMAGE}…" in progress) == pulls


def test_run_does_not_create_when_the_pull_fails() -> None:
    docker = RecordingDocker()
    docker.fail("pull", DockerError("manifest unknown"))
    with pytest.raises(DockerError, match="manifest unknown"):
        handle(docker, f"run {IMAGE}", [])
    assert docker.called("run") == []
