"""Exceptions shared by bot/ and workers/.

Exception tree::

    DockboltError                 root of everything we raise on purpose
    ├── UserError                 the reason is shown to the user verbatim; never retried
    │   ├── TargetNotFound        e.g. "No such container: web" (Docker's words)
    │   ├── DockerError           any other error the Docker engine reported, in its words
    │   └── UsageError            bad flags or arguments (carries the verb's usage line)
    ├── DockerUnavailable         the engine cannot be reached (connection refused, timeout)
    ├── ContractError             a job payload that does not match the contract
    └── ConfigError               the config file is invalid (names file, key and problem)

Anything else that escapes a job is a bug: logged with its traceback, the user is told "job X failed".
"""

from __future__ import annotations


class DockboltError(Exception):
    """Root of every exception dockbolt raises on purpose."""


class UserError(DockboltError):
    """An error whose message is meant for the user, verbatim."""


class TargetNotFound(UserError):
    """The container, image or network named by the user does not exist."""


class DockerError(UserError):
    """The Docker engine refused or failed the request; the message is Docker's."""


class UsageError(UserError):
    """The command's flags or arguments are malformed."""

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.usage = usage


class DockerUnavailable(DockboltError):
    """The Docker engine cannot be reached."""


class ContractError(DockboltError):
    """A job payload does not match the job contract."""


class ConfigError(DockboltError):
    """The configuration file is invalid; each problem names the file and the key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
