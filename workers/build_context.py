"""Where a build's files come from: a git repository cloned at a ref, or a directory on the worker.

Only what ``[build]`` allows (read from the text by ``dockbolt.core.buildsrc``, as the bot did before
queuing; then checked here against this worker's filesystem): a directory, or a ``file://`` repository,
whose real path (symlinks resolved) lies under one of ``context_roots``; an ``https``/``ssh``/``git``
URL whose host is in ``allow_git_hosts``. git runs without a shell, with only that URL's protocol
allowed, no prompts, no user or system config; a clone lives in a temporary directory removed after the
build. The Dockerfile must be inside the context (its real path too). Nothing a user types reaches a
shell or an option of git.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dockbolt.core.buildsrc import BuildConfig, source_of
from dockbolt.core.errors import UserError
from dockbolt.core.guardrails import Guardrails
from dockbolt.core.run_policy import image_allowed, under

CLONE_TIMEOUT = 300


class ContextRefused(UserError):
    """A context the ``[build]`` config does not allow, or one that cannot be read (said in the thread)."""


def _under(path: str, roots: tuple[str, ...]) -> bool:
    """``path`` is under one of ``roots`` once symlinks are resolved on this worker."""
    return under(os.path.realpath(path), [os.path.realpath(root) for root in roots])


def _git(argv: list[str], env: dict[str, str], cwd: str, what: str) -> str:
    argv = ["git", *argv]  # found on PATH, as the worker's own environment has it
    try:
        # An argv list, no shell; the URL comes after "--" and the ref was checked against GIT_REF_RE.
        done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True,  # noqa: S603
                              timeout=CLONE_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise ContextRefused(f"{what} took longer than {CLONE_TIMEOUT} s") from None
    if done.returncode != 0:
        said = " ".join(done.stderr.strip().splitlines()[-3:])[:500]
        raise ContextRefused(f"{what} failed: {said}")
    return done.stdout.strip()


def _clone(url: str, ref: str, protocol: str, into: str) -> str:
    """Fetch ``ref`` (a branch, a tag or a commit; "" = the default branch) of ``url`` alone, one commit
    deep, into ``into``/src; the commit's SHA."""
    home = os.path.join(into, ".home")
    src = os.path.join(into, "src")
    os.mkdir(home)
    os.mkdir(src)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "GIT_TERMINAL_PROMPT": "0",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_ALLOW_PROTOCOL": protocol, "GIT_ASKPASS": "/bin/false"}
    what = f"git fetch of `{url}`{f' at `{ref}`' if ref else ''}"
    _git(["init", "--quiet"], env, src, what)
    _git(["-c", "protocol.allow=never", "-c", f"protocol.{protocol}.allow=always", "fetch", "--quiet",
          "--depth", "1", "--no-recurse-submodules", "--", url, ref or "HEAD"], env, src, what)
    _git(["-c", "advice.detachedHead=false", "checkout", "--quiet", "FETCH_HEAD"], env, src, what)
    return _git(["rev-parse", "HEAD"], env, src, what)


def _dockerfile_in(context: str, dockerfile: str) -> str:
    path = os.path.join(context, dockerfile)
    if not _under(path, (context,)):
        raise ContextRefused(f"`{dockerfile}` leads outside the build context")
    if not os.path.isfile(path):
        raise ContextRefused(f"no `{dockerfile}` in the build context")
    return dockerfile


@dataclass(frozen=True)
class Prepared:
    """A build context ready for the builder: its directory, the Dockerfile in it, the commit (git)."""

    path: str
    dockerfile: str
    commit: str = ""


@contextmanager
def prepared(context: str, dockerfile: str, conf: BuildConfig, progress: Callable[[str], None], *,
             any_git_host: bool = False) -> Iterator[Prepared]:
    """Yield the context ``context`` names, a git URL with an optional ``#ref`` or an absolute directory;
    raise ContextRefused when it is not allowed (``any_git_host``: an app's own context, from the config)."""
    try:
        source = source_of(context, conf, any_git_host=any_git_host)
    except ValueError as exc:
        raise ContextRefused(str(exc)) from None
    roots = ", ".join(conf.context_roots)
    if source.path and not _under(source.path, conf.context_roots):  # a symlink out of the roots
        raise ContextRefused(f"`{source.path}` is not under [build] context_roots ({roots})")
    if source.git:
        with tempfile.TemporaryDirectory(prefix="dockbolt-build-") as tmp:
            progress(f"cloning {source.url}{f' at {source.ref}' if source.ref else ''}…")
            commit = _clone(source.url, source.ref, source.protocol, tmp)
            src = os.path.join(tmp, "src")
            yield Prepared(src, _dockerfile_in(src, dockerfile), commit)
        return
    real = os.path.realpath(source.path)
    if not Path(real).is_dir():
        raise ContextRefused(f"`{context}` is not a directory on the worker")
    yield Prepared(real, _dockerfile_in(real, dockerfile))


_FROM_RE = re.compile(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE)
_ARG_RE = re.compile(r"^ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?", re.IGNORECASE)
_VAR_RE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def base_images(dockerfile_text: str, build_args: Mapping[str, str]) -> list[str]:
    """The images a Dockerfile's FROM lines pull (build args and ARG defaults substituted; earlier stages
    and ``scratch`` left out). A reference that stays unresolved is returned as written (``$X``)."""
    lines = re.sub(r"\\\n", " ", dockerfile_text).splitlines()
    args: dict[str, str] = {}
    stages: set[str] = set()
    images: list[str] = []
    for line in (raw.strip() for raw in lines):
        arg, found = _ARG_RE.match(line), _FROM_RE.match(line)
        if arg and not stages and not images:  # only ARGs before the first FROM apply to FROM lines
            args[arg[1]] = build_args.get(arg[1], arg[2] or "")
        if found:
            image = _VAR_RE.sub(lambda m: args.get(m[1] or m[3]) or m[2] or m[0], found[1])
            if image.lower() != "scratch" and image not in stages:
                images.append(image)
            if found[2]:
                stages.add(found[2])
    return images


def check_bases(src: Prepared, build_args: Mapping[str, str], guardrails: Guardrails) -> None:
    """Refuse a build whose Dockerfile starts from an image ``[policy] allowed_images`` does not allow
    (the builder would pull it): the same rule `run` follows."""
    with open(os.path.join(src.path, src.dockerfile), encoding="utf-8", errors="replace") as f:
        text = f.read()
    for image in base_images(text, build_args):
        if "$" in image or not image_allowed(image, guardrails):
            globs = ", ".join(guardrails.allowed_images) or "none"
            raise ContextRefused(f"the Dockerfile's base image `{image}` is not in [policy] allowed_images "
                                 f"({globs})")
