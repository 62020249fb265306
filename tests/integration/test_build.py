"""`build` end to end: signed slash command → worker → real git and the real engine's builder → thread.

Contexts are a directory under `[build] context_roots` and a local git repository (`file://`) at a tag;
what the config does not allow (a directory elsewhere, a git host not listed, a Dockerfile outside the
context) is refused with nothing built. A failed build names its failing step; a build printing 10,000
lines costs at most 20 Slack API calls.
"""

from __future__ import annotations

import contextlib
import html
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from bot.messages import accepted_job_id
from dockbolt.console.slack_standin import Message
from tests.integration.conftest import StartPipeline
from tests.support.pipeline import CHANNEL, TEST_CONFIG, Pipeline
from tests.support.recorded import final_card

pytestmark = pytest.mark.integration


@pytest.fixture
def roots(tmp_path: Path) -> Path:
    root = tmp_path / "contexts"
    root.mkdir()
    return root


@pytest.fixture
def live(pipelines: StartPipeline, roots: Path) -> Pipeline:
    return pipelines(TEST_CONFIG + f'\n[build]\ncontext_roots = ["{roots}"]\nallow_git_hosts = []\n')


@pytest.fixture
def tags(docker_client: docker.DockerClient, test_run_id: str) -> Iterator[list[str]]:
    """Image tags the test builds (removed afterwards)."""
    made: list[str] = []
    yield made
    for tag in made:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client.images.remove(tag, force=True)


def sent(p: Pipeline, text: str, user: str = "UADMIN") -> str:
    job = p.job_of(p.send(text, user_id=user))
    assert job is not None, text
    return job


def final(p: Pipeline, job: str) -> tuple[Message, str]:
    card = final_card(p.standin, job, timeout=300)
    return card, html.unescape(" ".join(m.text for m in p.standin.thread(CHANNEL, card.ts)))


def dockerfile(directory: Path, image: str, *steps: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Dockerfile").write_text("\n".join([f"FROM {image}", *steps]) + "\n")
    return directory


def git(repo: Path, *argv: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *argv],
                   check=True, capture_output=True)


def test_a_directory_context_builds_a_labelled_image(live: Pipeline, roots: Path, test_image: str,
                                                    test_run_id: str, tags: list[str],
                                                    docker_client: docker.DockerClient) -> None:
    ctx = dockerfile(roots / "app", test_image, "RUN echo built > /built.txt", "CMD cat /built.txt")
    tag = f"dhit-{test_run_id}/app:v1"
    tags.append(tag)
    job = sent(live, f"build -t {tag} {ctx}")
    card, said = final(live, job)
    assert card.status == "done", said
    assert f"Built `{tag}`" in said
    image = docker_client.images.get(tag)
    assert image.labels["dockbolt.managed"] == "true" and image.labels["dockbolt.job"] == job
    assert image.labels["dockbolt.created-by"] == "UADMIN"
    assert docker_client.containers.run(tag, remove=True).decode() == "built\n"


def test_a_git_repository_is_built_at_the_tag_asked_for(live: Pipeline, roots: Path, test_image: str,
                                                        test_run_id: str, tags: list[str],
                                                        docker_client: docker.DockerClient) -> None:
    repo = dockerfile(roots / "repo", test_image, "COPY version.txt /version.txt", "CMD cat /version.txt")
    git(repo, "init", "-q")
    (repo / "version.txt").write_text("v1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "v1")
    git(repo, "tag", "v1")
    (repo / "version.txt").write_text("v2\n")
    git(repo, "commit", "-qam", "v2")
    tag = f"dhit-{test_run_id}/repo:v1"
    tags.append(tag)
    card, said = final(live, sent(live, f"build -t {tag} file://{repo}#v1"))
    assert card.status == "done", said
    assert docker_client.containers.run(tag, remove=True).decode() == "v1\n"


def test_a_failed_build_names_its_failing_step(live: Pipeline, roots: Path, test_image: str,
                                               test_run_id: str, tags: list[str]) -> None:
    ctx = dockerfile(roots / "broken", test_image, "RUN echo fine", "RUN echo about to fail && exit 3",
                     "RUN echo never")
    tag = f"dhit-{test_run_id}/broken:v1"
    tags.append(tag)
    card, said = final(live, sent(live, f"build -t {tag} {ctx}"))
    assert card.status == "failed"
    # the engine adds a LABEL step for the dockbolt labels: 3 of 5 or more
    assert re.search(r"failed at step `3/\d+ : RUN echo about to fail && exit 3`", said), said
    assert "returned a non-zero code: 3" in said and "about to fail" in said
    assert "never" not in said.replace("RUN echo never", "")


def test_a_10000_line_build_costs_at_most_20_slack_calls(live: Pipeline, roots: Path, test_image: str,
                                                         test_run_id: str, tags: list[str]) -> None:
    ctx = dockerfile(roots / "chatty", test_image, "RUN seq 1 10000", "RUN echo done")
    tag = f"dhit-{test_run_id}/chatty:v1"
    tags.append(tag)
    before = len(live.standin.calls)
    card, said = final(live, sent(live, f"build --no-cache -t {tag} {ctx}"))
    assert card.status == "done", said
    (log,) = [f for f in live.standin.files if f.thread_ts == card.ts]
    assert "\n10000\n" in log.text  # the whole log, as a file in the thread
    calls = [c.method for c in live.standin.calls[before:] if c.method != "usergroups.users.list"]
    assert len(calls) <= 20, calls


@pytest.mark.parametrize(("context", "says"), [
    ("/etc", "is not under [build] context_roots"),
    ("https://github.com/acme/web.git", "git host `github.com` is not in [build] allow_git_hosts"),
    ("file:///etc/repo", "is not under [build] context_roots"),
    ("ext::sh -c touch% /tmp/pwned", "neither a git URL nor an absolute directory"),
])
def test_contexts_the_config_does_not_allow_are_refused_privately(live: Pipeline, roots: Path,
                                                                  context: str, says: str) -> None:
    before = len(live.standin.calls)
    refused = live.send(f"build -t web:v1 '{context}'", user_id="UADMIN")
    assert accepted_job_id(refused.json or {}) is None
    assert says in html.unescape(refused.body) and "Nothing was queued" in refused.body
    assert [c for c in live.standin.calls[before:] if c.method != "usergroups.users.list"] == []


def test_a_directory_that_leads_out_of_the_roots_is_refused_by_the_worker(
        live: Pipeline, roots: Path, tmp_path: Path, test_image: str, test_run_id: str,
        tags: list[str]) -> None:
    outside = dockerfile(tmp_path / "outside", test_image, "RUN true")
    (roots / "link").symlink_to(outside)  # under the roots by its name, not by its real path
    tag = f"dhit-{test_run_id}/link:v1"
    tags.append(tag)
    card, said = final(live, sent(live, f"build -t {tag} {roots / 'link'}"))
    assert card.status == "failed" and "is not under [build] context_roots" in said, said


def test_a_dockerfile_outside_the_context_is_refused(live: Pipeline, roots: Path, test_image: str,
                                                     test_run_id: str, tags: list[str]) -> None:
    ctx = dockerfile(roots / "linked", test_image, "RUN true")
    (ctx / "Evil").symlink_to("/etc/hostname")
    tag = f"dhit-{test_run_id}/linked:v1"
    tags.append(tag)
    card, said = final(live, sent(live, f"build -t {tag} -f Evil {ctx}"))
    assert card.status == "failed" and "leads outside the build context" in said, said
    refused = live.send(f"build -t {tag} -f ../Dockerfile {ctx}", user_id="UADMIN")
    assert accepted_job_id(refused.json or {}) is None and "inside the context" in refused.body


def test_build_is_for_admins_by_default(live: Pipeline, roots: Path) -> None:
    refused = live.send(f"build -t web:v1 {roots}", user_id="UOPERATOR")
    assert accepted_job_id(refused.json or {}) is None


def test_a_base_image_outside_allowed_images_is_refused_before_the_builder_pulls_it(
        pipelines: StartPipeline, roots: Path, test_run_id: str, docker_client: docker.DockerClient) -> None:
    p = pipelines(TEST_CONFIG + f'\n[policy]\nallowed_images = ["dockbolt-test/*"]\n'
                  f'[build]\ncontext_roots = ["{roots}"]\n')
    ctx = dockerfile(roots / "foreign", "busybox:1.36", "RUN true")
    tag = f"dhit-{test_run_id}/foreign:v1"
    card, said = final(p, sent(p, f"build -t {tag} {ctx}"))
    assert card.status == "failed"
    assert "base image `busybox:1.36` is not in [policy] allowed_images (dockbolt-test/*)" in said, said
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.images.get(tag)
