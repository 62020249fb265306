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
from dataclasses import replace
from typing import Any

from bot.suggest import unknown_verb_message
from bot.verbs import VERBS
from bot.verbs.base import Flag, ParsedCommand, VerbSpec
from bot.verbs.help import HelpArgs
from dockbolt.core.args import NoArgs, RunArgs, StatsArgs
from dockbolt.core.contract import ALL_HOSTS, check_host_name
from dockbolt.core.errors import UsageError
from dockbolt.core.mrkdwn import code

_HELP_WORDS = ("-h", "--help")
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


def parse(text: str) -> ParsedCommand:
    """Parse slash-command text (as Slack sends it) into a verb and its args; UsageError on any problem.

    A first word ``@NAME`` names the Docker host the command runs on (``@all``: every live host, for the
    verbs that fan out)."""
    text = slack_unescape(text).strip()
    words = split_words(text)
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
