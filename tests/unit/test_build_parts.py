"""The build's pure parts: the step read from the builder's stream, and which contexts `[build]` allows."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockbolt.core.buildsrc import BuildConfig, Source, source_of
from dockbolt.core.guardrails import Guardrails
from workers import build_context
from workers.build_context import ContextRefused
from workers.handlers.build import MAX_LOG_CHARS, BuildLog


def test_the_current_step_is_read_from_the_stream_and_the_log_stays_bounded() -> None:
    log = BuildLog()
    assert log.add("Step 1/3 : FROM busybox\n") == "building step 1/3: FROM busybox"
    assert log.add(" ---> 0123abcd\n") is None
    assert log.add("x\nStep 2/3 : RUN make\nStep 3/3 : CMD run\n") == "building step 3/3: CMD run"
    assert (log.step, log.steps, log.lines) == ("3/3 : CMD run", 3, 5)
    for _ in range(3):
        log.add("y" * (MAX_LOG_CHARS // 2))
    assert len(log.text()) <= MAX_LOG_CHARS and log.text().endswith("y")


@pytest.mark.parametrize(("context", "says"), [
    ("git@github.com:acme/web.git", "git host `github.com` is not in [build] allow_git_hosts"),
    ("https://git.example.com.evil.io/x.git", "git host `git.example.com.evil.io`"),
    ("ftp://git.example.com/x.git", "only https, ssh, git and file URLs"),
    ("file://git.example.com/srv/x", "is not under [build] context_roots"),
    ("https://git.example.com/x.git#../../etc", "is not a branch or tag name"),
    ("https://git.example.com/x.git#-uhack", "is not a branch or tag name"),
    ("relative/dir", "neither a git URL nor an absolute directory"),
])
def test_contexts_outside_the_config_are_refused_before_git_runs(context: str, says: str,
                                                                 tmp_path: Path) -> None:
    conf = BuildConfig(context_roots=(str(tmp_path),), allow_git_hosts=("git.example.com",))
    with pytest.raises(ContextRefused) as info, build_context.prepared(context, "Dockerfile", conf, print):
        pass
    assert says in str(info.value)


def test_a_directory_reached_through_a_symlink_out_of_the_roots_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "Dockerfile").write_text("FROM scratch\n")
    (root / "link").symlink_to(outside)
    conf = BuildConfig(context_roots=(str(root),))
    with pytest.raises(ContextRefused, match="not under"), \
            build_context.prepared(str(root / "link"), "Dockerfile", conf, print):
        pass


CONF = BuildConfig(context_roots=("/srv/ctx",), allow_git_hosts=("git.example.com",))


@pytest.mark.parametrize(("context", "source"), [
    ("https://git.example.com/acme/web.git#v2",
     Source(url="https://git.example.com/acme/web.git", ref="v2", protocol="https")),
    ("git@git.example.com:acme/web.git", Source(url="git@git.example.com:acme/web.git", protocol="ssh")),
    ("file:///srv/ctx/repo#release/1.2",
     Source(url="file:///srv/ctx/repo", ref="release/1.2", protocol="file", path="/srv/ctx/repo")),
    ("/srv/ctx/app", Source(path="/srv/ctx/app")),
    ("/srv/ctx", Source(path="/srv/ctx")),
])
def test_the_sources_the_config_allows(context: str, source: Source) -> None:
    assert source_of(context, CONF) == source


@pytest.mark.parametrize("context", ["/srv/ctx/../etc", "/srv/ctxother", "/srv", "file:///srv/ctx/../x"])
def test_paths_that_only_look_under_a_root_are_refused(context: str) -> None:
    with pytest.raises(ValueError, match="not under"):
        source_of(context, CONF)


@pytest.mark.parametrize(("text", "build_args", "bases"), [
    ("ARG BASE=python:3.12-slim\nFROM ${BASE}\nRUN make\n", {}, ["python:3.12-slim"]),
    ("ARG BASE=python:3.12-slim\nFROM $BASE\n", {"BASE": "alpine:3"}, ["alpine:3"]),
    ("FROM golang:1 AS build\nRUN go build\nFROM scratch\nCOPY --from=build /app /app\n", {}, ["golang:1"]),
    ("FROM a/b:1 as deps\nFROM deps\nFROM \\\n  c:2\n", {}, ["a/b:1", "c:2"]),
    ("from --platform=linux/amd64 x:1\n", {}, ["x:1"]),
    ("FROM ${X:-debian:12}\n", {}, ["debian:12"]),
    ("FROM $NOT_DECLARED\n", {"NOT_DECLARED": "evil:1"}, ["$NOT_DECLARED"]),  # only ARGs before FROM count
    ("FROM a:1\nARG LATE=b:2\nFROM ${LATE}\n", {}, ["a:1", "${LATE}"]),
])
def test_the_base_images_a_dockerfile_pulls(text: str, build_args: dict[str, str], bases: list[str]) -> None:
    assert build_context.base_images(text, build_args) == bases


@pytest.mark.parametrize(("dockerfile", "refused"), [
    ("FROM acme/base:1\nRUN true\n", None),
    ("FROM evil/miner:1\n", "`evil/miner:1` is not in [policy] allowed_images (acme/*)"),
    ("ARG BASE\nFROM ${BASE}\n", "`${BASE}` is not in [policy] allowed_images"),
    ("FROM acme/base:1 AS a\nFROM busybox\n", "`busybox` is not in"),
])
def test_a_base_image_outside_allowed_images_is_refused(tmp_path: Path, dockerfile: str,
                                                        refused: str | None) -> None:
    (tmp_path / "Dockerfile").write_text(dockerfile)
    src = build_context.Prepared(str(tmp_path), "Dockerfile")
    rails = Guardrails(allowed_images=("acme/*",))
    if refused is None:
        build_context.check_bases(src, {}, rails)
        return
    with pytest.raises(ContextRefused) as info:
        build_context.check_bases(src, {}, rails)
    assert refused in str(info.value)
