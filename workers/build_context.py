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
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dockbolt.core.buildsrc import BuildConfig, source_of
from dockbolt.core.errors import UserError
from dockbolt.core.run_policy import under

CLONE_TIMEOUT = 300


class ContextRefused(UserError):
    """A context the ``[build]`` config does not allow, or one that cannot be read (said in the thread)."""


def _under(path: str, roots: tuple[str, ...]) -> bool:
    """``path`` is under one of ``roots`` once symlinks are resolved on this worker."""
    return under(os.path.realpath(path), [os.path.realpath(root) for root in roots])


def _clone(url: str, ref: str, protocol: str, into: str) -> None:
    home = os.path.join(into, ".home")
    os.mkdir(home)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "GIT_TERMINAL_PROMPT": "0",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_ALLOW_PROTOCOL": protocol, "GIT_ASKPASS": "/bin/false"}
    argv = ["git", "-c", "protocol.allow=never", "-c", f"protocol.{protocol}.allow=always",
            "clone", "--quiet", "--depth", "1", "--no-recurse-submodules"]
    argv += ["--branch", ref] if ref else []
    argv += ["--", url, os.path.join(into, "src")]
    try:
        # An argv list, no shell; the URL comes after "--" and the ref was checked against _REF_RE.
        done = subprocess.run(argv, env=env, capture_output=True, text=True,  # noqa: S603
                              timeout=CLONE_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise ContextRefused(f"git clone of `{url}` took longer than {CLONE_TIMEOUT} s") from None
    if done.returncode != 0:
        said = " ".join(done.stderr.strip().splitlines()[-3:])[:500]
        raise ContextRefused(f"git clone of `{url}`{f' at `{ref}`' if ref else ''} failed: {said}")


def _dockerfile_in(context: str, dockerfile: str) -> str:
    path = os.path.join(context, dockerfile)
    if not _under(path, (context,)):
        raise ContextRefused(f"`{dockerfile}` leads outside the build context")
    if not os.path.isfile(path):
        raise ContextRefused(f"no `{dockerfile}` in the build context")
    return dockerfile


@contextmanager
def prepared(context: str, dockerfile: str, conf: BuildConfig,
             progress: Callable[[str], None]) -> Iterator[tuple[str, str]]:
    """Yield (a directory holding the context, the Dockerfile's path in it) for ``context``, a git URL
    with an optional ``#ref`` or an absolute directory; raise ContextRefused when it is not allowed."""
    try:
        source = source_of(context, conf)
    except ValueError as exc:
        raise ContextRefused(str(exc)) from None
    roots = ", ".join(conf.context_roots)
    if source.path and not _under(source.path, conf.context_roots):  # a symlink out of the roots
        raise ContextRefused(f"`{source.path}` is not under [build] context_roots ({roots})")
    if source.git:
        with tempfile.TemporaryDirectory(prefix="dockbolt-build-") as tmp:
            progress(f"cloning {source.url}{f' at {source.ref}' if source.ref else ''}…")
            _clone(source.url, source.ref, source.protocol, tmp)
            src = os.path.join(tmp, "src")
            yield src, _dockerfile_in(src, dockerfile)
        return
    real = os.path.realpath(source.path)
    if not Path(real).is_dir():
        raise ContextRefused(f"`{context}` is not a directory on the worker")
    yield real, _dockerfile_in(real, dockerfile)
