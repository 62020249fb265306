"""Slash-command text → a validated ParsedCommand (verb + typed args), the docker CLI's (pflag's) way.

Slack encodes `&`, `<` and `>` in slash-command text; they are decoded first. The text is then split
into words the way a POSIX shell would (quotes honoured) but is never given to a shell: every word
reaches the job args as a literal string. Flag rules, as in docker: `--flag value`, `--flag=value`,
`-t 5`, `-t5`, `-t=5`, combined short booleans `-af` (a value flag may end the group: `-at 5`), `--`
ends flags, flags before or after positionals, except for verbs that stop at their first positional
(`run`), where everything after IMAGE is the container's command, verbatim.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from typing import Any

from bot.suggest import unknown_verb_message
from bot.verbs import VERBS
from bot.verbs.base import Flag, ParsedCommand, VerbSpec
from bot.verbs.help import HelpArgs
from dockbolt.core.args import NoArgs, RunArgs, StatsArgs
from dockbolt.core.contract import ALL_HOSTS, check_host_name
from dockbolt.core.errors import UsageError
from dockbolt.core.mrkdwn import code
from dockbolt.core.scopes import subverb
from dockbolt.core.service_args import ServiceArgs

_HELP_WORDS = ("-h", "--help")
PRIVATE_FLAG = "--private"
# strconv.ParseBool's spellings, which pflag accepts for `--flag=value` on booleans.
_TRUE = ("1", "t", "T", "true", "TRUE", "True")
_FALSE = ("0", "f", "F", "false", "FALSE", "False")


def slack_unescape(text: str) -> str:
    """Decode the three entities Slack encodes in slash-command text (&amp; &lt; &gt;), and nothing else."""
    # "&amp;" last, so that a typed "&amp;lt;" comes back as the literal "&lt;" the user wrote.
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def split_words(text: str) -> list[str]:
    """Split text into words like a POSIX shell (quotes and backslashes honoured), without running one."""
    try:
        return shlex.split(text)
    except ValueError as exc:
        if "escaped" in str(exc):
            raise UsageError("trailing backslash: there is nothing after the last `\\` to escape") from None
        raise UsageError("unbalanced quote: every ' and \" needs a closing partner") from None


@dataclass(frozen=True)
class PrivateCommand(ParsedCommand):
    """A command typed with ``--private``: its answer goes to the caller alone."""


def reading_verb(cmd: ParsedCommand) -> str:
    """The name a command's verb has in the catalog (`service ls`: service-ls)."""
    return subverb("service", cmd.args.action) if isinstance(cmd.args, ServiceArgs) else cmd.verb


def answers_privately(cmd: ParsedCommand, private_verbs: frozenset[str] = frozenset()) -> bool:
    """True when the command's answer goes to the caller alone: typed with ``--private``, or its verb is
    one of the config's ``private_verbs``."""
    return isinstance(cmd, PrivateCommand) or reading_verb(cmd) in private_verbs


def _reads(words: list[str]) -> bool:
    """True when ``words`` (verb first) name a queued verb that only reads."""
    verb = words[0].lower() if words else ""
    if verb == "service" and len(words) > 1:
        verb = subverb("service", words[1].lower())
    spec = VERBS.get(verb)
    return spec is not None and spec.queued and spec.default_role == "viewer"


def _take_private(words: list[str]) -> tuple[list[str], bool]:
    """``words`` without ``--private`` (before a ``--``) and True, for a verb that only reads; otherwise
    as they are (the parser refuses the flag where it is one: `run IMAGE cmd --private` is the command's)."""
    end = words.index("--") if "--" in words else len(words)
    if PRIVATE_FLAG not in words[1:end]:
        return words, False
    kept = [w for w in words[:end] if w != PRIVATE_FLAG] + words[end:]
    return (kept, True) if _reads(kept) else (words, False)


def parse(text: str) -> ParsedCommand:
    """Parse slash-command text (as Slack sends it) into a verb and its args; UsageError on any problem.

    A first word ``@NAME`` names the Docker host the command runs on (``@all``: every live host, for the
    verbs that fan out). ``--private`` on a verb that only reads makes it a ``PrivateCommand``."""
    text = slack_unescape(text).strip()
    words = split_words(text)
    at = 1 if words and words[0].startswith("@") else 0
    rest, private = _take_private(words[at:])
    cmd = _parse_at(words[:at] + rest, text)
    if private and VERBS[cmd.verb].queued:  # `ps --private --help` is help
        return PrivateCommand(cmd.verb, cmd.args, cmd.text, cmd.host)
    return cmd


def _parse_at(words: list[str], text: str) -> ParsedCommand:
    if not words or not words[0].startswith("@"):
        return parse_words(words, text)
    host = words[0][1:]
    if host.lower() == ALL_HOSTS:
        host = ALL_HOSTS
    else:
        try:
            check_host_name(host)
        except ValueError as exc:
            raise UsageError(f"{code(words[0])}: {exc}") from None
    cmd = parse_words(words[1:], text)
    if cmd.verb == "help":  # `@db1 stop --help` asks about stop, wherever
        return cmd
    cmd = replace(cmd, host=host)
    spec = VERBS[cmd.verb]
    if not spec.queued:
        raise UsageError(f"`{cmd.verb}` is answered by the bot, not run on a host: drop {code(words[0])}")
    if host == ALL_HOSTS and not spec.fans_out:
        fanned = ", ".join(f"`{v.name}`" for v in VERBS.values() if v.fans_out)
        raise UsageError(f"`@all` works with {fanned}; `{cmd.verb}` runs on one host (`@NAME {cmd.verb} …`)")
    if host == ALL_HOSTS and isinstance(cmd.args, StatsArgs) and cmd.args.since is not None:
        raise UsageError("`--since` charts one container on one host: use `@NAME stats NAME --since …`")
    return cmd


def parse_words(words: list[str], text: str = "") -> ParsedCommand:
    """Parse a command already split into words (``text``: how it was typed, for the record)."""
    if not words:
        return ParsedCommand("help", HelpArgs(), text)
    name = words[0].lower()
    spec = VERBS.get("help" if name in _HELP_WORDS else name)
    if spec is None:
        raise UsageError(unknown_verb_message(words[0], VERBS))
    parsed = _Parser(spec, words[1:]).run()
    if parsed is None:
        # `stop --help` asks about stop, docker-style.
        return ParsedCommand("help", HelpArgs(spec.name), text)
    flags, positionals = parsed
    _check_arity(spec, positionals)
    try:
        args = spec.build(flags, positionals) if spec.build else NoArgs()
    except ValueError as exc:
        raise UsageError(str(exc), spec.usage) from None
    return ParsedCommand(spec.name, args, text)


def _plural(n: int) -> str:
    return f"{n} argument" + ("" if n == 1 else "s")


def _check_arity(spec: VerbSpec, positionals: list[str]) -> None:
    n, low, high = len(positionals), spec.min_positionals, spec.max_positionals
    if low <= n and (high is None or n <= high):
        return
    if high == 0:
        message = f"`{spec.name}` takes no arguments (got {code(' '.join(positionals))})"
    elif high == low:
        message = f"`{spec.name}` takes exactly {_plural(low)} (got {n})"
    elif n < low:
        message = f"`{spec.name}` needs at least {_plural(low)}"
    else:
        message = f"`{spec.name}` takes at most {_plural(high or 0)} (got {n})"
    raise UsageError(message, spec.usage)


class _Parser:
    """One pass over a verb's words, pflag style."""

    def __init__(self, spec: VerbSpec, words: list[str]) -> None:
        self.spec = spec
        self.words = words
        self.pos = 0
        self.by_name = {name: flag for flag in spec.flags for name in flag.names}
        self.values: dict[str, Any] = {flag.dest: _default(flag) for flag in spec.flags}
        self.positionals: list[str] = []

    def run(self) -> tuple[dict[str, Any], list[str]] | None:
        """Return (flag values by dest, positionals), or None when the words ask for help."""
        while self.pos < len(self.words):
            word = self._next()
            if word == "--":
                self.positionals += self._rest()
            elif word in _HELP_WORDS and word not in self.by_name:
                return None
            elif word.startswith("--"):
                self._long(word)
            elif word.startswith("-") and word != "-":
                self._short(word)
            else:
                self.positionals.append(word)
                if self.spec.stop_at_first_positional:
                    self.positionals += self._rest()
        return self.values, self.positionals

    def _next(self) -> str:
        word = self.words[self.pos]
        self.pos += 1
        return word

    def _rest(self) -> list[str]:
        rest, self.pos = self.words[self.pos :], len(self.words)
        return rest

    def _fail(self, message: str) -> UsageError:
        return UsageError(message, self.spec.usage)

    def _long(self, word: str) -> None:
        name, eq, value = word.partition("=")
        flag = self.by_name.get(name)
        if flag is None and name == PRIVATE_FLAG:  # `parse` takes it off the verbs that only read
            if eq:
                raise self._fail(f"{code(PRIVATE_FLAG)} takes no value")
            why = "changes things" if self.spec.queued else "answers only you anyway"
            raise self._fail(f"{code(PRIVATE_FLAG)} works only with the verbs that only read (`ps`, `logs`, "
                             f"`inspect`…): `{self.spec.name}` {why}")
        if flag is None:
            raise self._fail(f"unknown flag: {code(name)}")
        if flag.kind == "bool" and not eq:
            value = "true"
        elif not eq:
            value = self._argument(name, name)
        self._store(flag, name, value)

    def _short(self, word: str) -> None:
        letters = word[1:]
        for i, letter in enumerate(letters):
            flag = self.by_name.get("-" + letter)
            if flag is None:
                raise self._fail(f"unknown shorthand flag: {code(letter)} in {code(word)}")
            rest = letters[i + 1 :]
            if rest.startswith("="):
                self._store(flag, "-" + letter, rest[1:])
                return
            if flag.kind == "bool":
                self._store(flag, "-" + letter, "true")
                continue
            # A value flag takes the rest of the group (`-t5`) or else the next word (`-t 5`).
            self._store(flag, "-" + letter, rest or self._argument("-" + letter, word))
            return

    def _argument(self, shown: str, word: str) -> str:
        if self.pos >= len(self.words):
            detail = "" if shown == word else f" in {code(word)}"
            raise self._fail(f"flag needs an argument: {code(shown)}{detail}")
        return self._next()

    def _store(self, flag: Flag, shown: str, raw: str) -> None:
        if flag.kind == "bool":
            if raw not in _TRUE + _FALSE:
                raise self._fail(f"invalid value {code(raw)} for {code(shown)}: must be true or false")
            self.values[flag.dest] = raw in _TRUE
            return
        value: Any = raw
        if flag.convert is not None:
            try:
                value = flag.convert(raw)
            except ValueError as exc:
                raise self._fail(f"invalid value {code(raw)} for {code(shown)}: {exc}") from None
        if flag.kind == "multi":
            self.values[flag.dest].append(value)
        else:
            # Repeating a single-value flag keeps the last one, as docker does.
            self.values[flag.dest] = value


def _default(flag: Flag) -> Any:
    return {"bool": False, "value": None}.get(flag.kind, [])


def parse_run_words(words: list[str]) -> RunArgs:
    """An app's ``run`` table, as `run` words, parsed by `run` itself (for ``[apps.*]`` in the config)."""
    args = parse_words(["run", *words]).args
    assert isinstance(args, RunArgs)
    return args
