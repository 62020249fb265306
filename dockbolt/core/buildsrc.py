"""Where a build context may come from, as the ``[build]`` table says — read from the text alone.

The bot uses it to refuse a context privately before queuing anything; the worker uses it again and
then checks what only its own filesystem can tell (real paths, symlinks resolved: ``workers.build_context``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from dockbolt.core.args import GIT_REF_RE
from dockbolt.core.run_policy import under  # lexical: `..` resolved, symlinks not

SCP_RE = re.compile(r"^(?P<user>[A-Za-z0-9._-]+)@(?P<host>[A-Za-z0-9.-]+):(?P<path>[^:]+)\Z")
SCHEMES = ("https", "ssh", "git", "file")


@dataclass(frozen=True)
class BuildConfig:
    """The ``[build]`` table: where a build context may come from (the worker checks every build)."""

    context_roots: tuple[str, ...] = ()  # absolute directories; a local context (or file:// repo) under one
    allow_git_hosts: tuple[str, ...] = ()  # hosts an https/ssh/git URL may name ([] = none)


@dataclass(frozen=True)
class Source:
    """A context the config allows: a git ``url`` at ``ref`` (``protocol`` the one git may use) or a
    directory ``path``; ``path`` is also a ``file://`` repository's directory."""

    url: str = ""
    ref: str = ""
    protocol: str = ""
    path: str = ""

    @property
    def git(self) -> bool:
        return bool(self.url)


def source_of(context: str, conf: BuildConfig, *, any_git_host: bool = False) -> Source:
    """The allowed source ``context`` names; raises ValueError saying why it is not allowed.

    ``any_git_host``: an app's own context (the config file names it, not a chat user): its git host need
    not be in ``allow_git_hosts``; local directories and ``file://`` repositories stay under the roots.
    """
    roots = ", ".join(conf.context_roots) or "none configured"
    base, _, ref = context.partition("#")
    if "://" in base or SCP_RE.match(base):
        if ref and not GIT_REF_RE.match(ref):
            raise ValueError(f"`{ref}` is not a branch or tag name")
        scp = SCP_RE.match(base)
        if scp:
            scheme, host, path = "ssh", scp["host"], ""
        else:
            parts = urlsplit(base)
            scheme, host, path = parts.scheme, parts.hostname or "", parts.path
            if scheme not in SCHEMES:
                raise ValueError(f"`{base}`: only https, ssh, git and file URLs can be built")
            if scheme == "file":
                if parts.netloc or not under(path, conf.context_roots):
                    raise ValueError(f"`{base}` is not under [build] context_roots ({roots})")
                return Source(url=base, ref=ref, protocol="file", path=path)
        if host not in conf.allow_git_hosts and not any_git_host:
            raise ValueError(f"git host `{host}` is not in [build] allow_git_hosts "
                             f"({', '.join(conf.allow_git_hosts) or 'none'})")
        return Source(url=base, ref=ref, protocol=scheme)
    if not context.startswith("/"):
        raise ValueError(f"`{context}` is neither a git URL nor an absolute directory")
    if not under(context, conf.context_roots):
        raise ValueError(f"`{context}` is not under [build] context_roots ({roots})")
    return Source(path=context)
