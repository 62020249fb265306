"""Secrets are masked before anything leaves the process: Slack messages and files, logs, job records.

One ``Redactor`` holds the built-in patterns (compiled once, at import) plus the ``[policy] redact``
regexes of the config. ``redact`` masks, in any text:

- assignments whose key looks secret: ``DB_PASSWORD=…``, ``"apiKey": "…"``, ``token: …``, ``--secret=…``
  (the key is split into ``_ - .`` and camelCase parts; a part must *be* a secret word, so ``MONKEY``
  and ``AUTHOR`` are not secret, or end with a long one: ``DBPASSWORD``, ``githubToken``);
- well-known tokens by their prefix: Slack ``xox?-``/``xapp-`` and webhook URLs, AWS key ids
  ``AKIA``/``ASIA``, GitHub ``ghp_``…/``github_pat_``, GitLab ``glpat-``, ``sk-``, Stripe ``sk_live_``,
  Google ``AIza``, npm, PyPI, Docker Hub ``dckr_pat_``, JWTs; ``Bearer …``;
- the password of ``scheme://user:PASSWORD@host``, and PEM private-key blocks (also a block cut in half).

``redact_command`` also masks the value of every ``-e K=V`` / ``--env K=V`` / ``--env=K=V`` / ``-eK=V``
(whatever ``K``): the Slack client and the logging filter use it, so a command quoted anywhere is safe.
The value goes, the name stays (``DB_PASSWORD=***``, ``xoxb-***``), and masking twice changes nothing.
Extra regexes mask their whole match, or only their capturing groups when they have some.
``mask_env``/``mask_args``/``mask_mapping``/``mask_document`` do the same on structured data.

Speed (``python -m bench.redaction``): only the lines holding a trigger word are searched (``str.find``
on the lower-cased text; every built-in match lies on one line and contains its trigger), each with just
the patterns it triggered. Extra regexes scan the whole text.
"""

from __future__ import annotations

import functools
import logging
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from typing import Any

MASK = "***"

_WORDS = frozenset(("pass", "passwd", "password", "passwords", "pwd", "secret", "secrets", "token", "tokens",
                    "key", "keys", "apikey", "apikeys", "accesskey", "secretkey", "privatekey", "credential",
                    "credentials", "cred", "creds", "auth", "authorization", "private", "passphrase"))
_LONG_WORDS = ("password", "passwd", "secret", "token", "apikey", "credential", "credentials", "passphrase",
               "privatekey", "secrets", "tokens", "passwords", "accesskey", "secretkey")
_NOT_SECRET = frozenset({"pwd", "oldpwd"})  # the shell's working directories
_KEY_PARTS = re.compile(r"[\W_]+|(?<=[a-z0-9])(?=[A-Z])")
_KV_WORDS = ("pass", "pwd", "secret", "token", "key", "auth", "cred", "private")  # in every _WORDS entry


def _any_case(words: Iterable[str]) -> str:
    """``words`` in any case, led by a plain character class: the regex engine then skips ahead in C, where
    a case-insensitive alternation is tried at every position (20x slower)."""
    firsts = sorted({w[0] for w in words})
    rest = "|".join(f"(?<={c})(?:{'|'.join(w[1:] for w in words if w[0] == c)})" for c in firsts)
    return f"[{''.join(c + c.upper() for c in firsts)}](?i:{rest})"


# An unquoted value: after "=" up to a space or quote (or an "&" that starts the next URL parameter); after
# a quoted key (JSON, a dict) up to , } ] too; after "KEY: " (YAML, a header) to the end of the line.
_Q = "\"'`"
_VALUE = (rf"[^\s{_Q}{{\[(](?:[^\s{_Q}&]|&(?!\w+=))*", rf"[^\s{_Q},}}\]{{\[(][^\s{_Q},}}\]]*",
          rf"[^\s{_Q}{{\[(](?:[^\n{_Q}]*[^\s{_Q}])?")
# The key's head before the secret word is not matched (it is kept anyway); _replace looks back for it.
_KV = (
    rf"(?P<kv>(?P<key>{_any_case(_KV_WORDS)}[\w.\-]*)(?P<kq>[\"'])?"
    r"(?P<sep>(?P<eq>[ \t]*=[ \t]*)|(?(kq)[ \t]*:[ \t]*|[ \t]*:[ \t]+))"
    r"(?P<val>\"(?:[^\"\\\n]|\\.)+\"|'(?:[^'\\\n]|\\.)+'|(?!(?:null|true|false)\b)"
    rf"(?(eq){_VALUE[0]}|(?(kq){_VALUE[1]}|{_VALUE[2]}))))"
)
# (trigger, kept part, masked part, must not follow a letter/digit/_): each match contains its trigger.
_PREFIXED = (
    ("xox", r"xox[abposre]-|xoxe\.xox[bp]-", r"(?=[A-Za-z0-9-]{6})[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*", True),
    ("xapp", r"xapp-", r"(?=[A-Za-z0-9-]{6})[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*", True),
    ("hooks.slack.com", r"hooks\.slack\.com/(?:services|workflows|triggers)/", r"[A-Za-z0-9/_-]{8,}", False),
    ("akia", r"AKIA", r"[0-9A-Z]{16}(?![0-9A-Za-z])", True),
    ("asia", r"ASIA", r"[0-9A-Z]{16}(?![0-9A-Za-z])", True),
    ("gh", r"gh[pousr]_", r"[A-Za-z0-9]{30,}", True),
    ("pat_", r"github_pat_|dckr_pat_", r"[A-Za-z0-9_-]{20,}", True),
    ("glpat-", r"glpat-", r"[A-Za-z0-9_-]{20,}", True),
    ("sk-", r"sk-", r"[A-Za-z0-9_-]{20,}", True),
    ("k_live_", r"[sr]k_live_", r"[A-Za-z0-9]{10,}", True),
    ("aiza", r"AIza", r"[0-9A-Za-z_-]{30,}", True),
    ("npm_", r"npm_", r"[A-Za-z0-9]{30,}", True),
    ("pypi-", r"pypi-", r"[A-Za-z0-9_-]{40,}", True),
    ("eyj", r"eyJ", r"[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*", True),
    ("bearer", rf"{_any_case(['bearer'])}[ \t]+", r"[A-Za-z0-9\-._~+/]{8,}=*", True),
    ("://", r"://[^\s:/?#@\"'<>]*:", r"[^\s/?#\"'<>]+(?=@)", False),  # the password in a URL
)
_BOUNDED = frozenset(f"t{i}" for i, spec in enumerate(_PREFIXED) if spec[3])
_ENV_WORD = r"(?:[^\s'\"\\]|\\.|'[^'\n]*'|\"(?:[^\"\\\n]|\\.)*\"|['\"][^\n]*)+"  # unclosed quote: to the end
_ENV = rf"(?P<env>(?P<eflag>-(?:-env(?:=|[ \t]+)|e(?:[ \t]+|(?=[A-Za-z_]))))(?P<eword>{_ENV_WORD}))"
# Every alternative with the triggers that find its lines, in the order a combined regex tries them.
_ALTS = (
    (("-e",), _ENV),  # only in redact_command ("-e" also finds "--env")
    (_KV_WORDS, _KV),
    *(((t,), rf"(?P<t{i}>{keep}){secret}") for i, (t, keep, secret, _) in enumerate(_PREFIXED)),
)
_TEXT_ALTS, _COMMAND_ALTS = tuple(range(1, len(_ALTS))), tuple(range(len(_ALTS)))


@functools.lru_cache(maxsize=256)
def _regex(alts: tuple[int, ...]) -> re.Pattern[str]:
    return re.compile("|".join(_ALTS[i][1] for i in alts))


_TEXT_RE = _regex(_TEXT_ALTS)
_COMMAND_RE = _regex(_COMMAND_ALTS)
for _alt in _COMMAND_ALTS:  # a line usually triggers one alternative: each compiled at import (where a
    _regex((_alt,))         # worker's forked jobs inherit it), not again in every job
_PEM = re.compile(r"(?P<begin>-----BEGIN (?P<kind>[A-Z0-9 ]*?)PRIVATE KEY(?: BLOCK)?-----).*?"
                  r"(?P<end>-----END (?P=kind)PRIVATE KEY(?: BLOCK)?-----|\Z)", re.S)
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_BASE64_LINE = re.compile(r"[ \t]*[A-Za-z0-9+/=]*[ \t]*\r?\n?")


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """True when a variable, label or field name looks like it holds a secret (see the module doc)."""
    key = key.strip("\"'-")
    if key.lower() in _NOT_SECRET:
        return False
    parts = (p.lower().rstrip("0123456789") for p in _KEY_PARTS.split(key) if p)
    return any(p in _WORDS or p.endswith(_LONG_WORDS) for p in parts)


def _pem(text: str) -> str:
    end, begin = _PEM_END.search(text), _PEM_BEGIN.search(text)
    if end and (begin is None or begin.start() > end.start()):  # the block's head was cut off (a log's start)
        start = end.start()
        while start > 0:  # back over the key's base64 lines
            prev = text.rfind("\n", 0, start - 1) + 1
            if not _BASE64_LINE.fullmatch(text, prev, start):
                break
            start = prev
        if start < end.start():
            text = text[:start] + MASK + text[end.start():]
    return _PEM.sub(lambda m: m["begin"] + MASK + m["end"], text)


class Redactor:
    """Masks secrets in text and in structured data; ``extra`` regexes run after the built-in patterns."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.extra = tuple(extra)
        self._extra = [re.compile(p) for p in self.extra]

    def redact(self, text: str) -> str:
        """``text`` with every secret the patterns recognise masked."""
        return self._run(text, _TEXT_ALTS)

    def redact_command(self, text: str) -> str:
        """A slash command with each ``-e K=V`` value masked (``K=***``), plus what ``redact`` masks."""
        return self._run(text, _COMMAND_ALTS)

    def mask_env(self, entries: Iterable[Any]) -> list[Any]:
        """Environment entries with every value masked, whatever the name: ``K=V`` → ``K=***``."""
        return [f"{e.partition('=')[0]}={MASK}" if isinstance(e, str) and "=" in e else e for e in entries]

    def mask_args(self, items: Iterable[Any]) -> list[Any]:
        """Command-line items redacted; the item after a secret-looking flag (``--password X``) masked."""
        out: list[Any] = []
        prev: Any = None
        for item in items:
            flag = isinstance(prev, str) and prev.startswith("-") and "=" not in prev and is_secret_key(prev)
            out.append(item if not isinstance(item, str) else MASK if flag else self.redact(item))
            prev = item
        return out

    def mask_mapping(self, mapping: Mapping[str, Any]) -> dict[str, Any]:
        """A copy with the values of secret-looking keys masked and every other string value redacted."""
        return {k: MASK if is_secret_key(k) else self.redact(v) if isinstance(v, str) else v
                for k, v in mapping.items()}

    def mask_document(self, doc: Any) -> Any:
        """A copy of a ``docker inspect`` document: ``Env`` values, secret ``Labels``, ``Cmd``/``Entrypoint``/
        ``Args`` items and every other string redacted (the input is not changed)."""
        if isinstance(doc, Mapping):
            return {k: self._field(k, v) for k, v in doc.items()}
        if isinstance(doc, list):
            return [self.mask_document(v) for v in doc]
        return self.redact(doc) if isinstance(doc, str) else doc

    def _field(self, key: str, value: Any) -> Any:
        if key == "Env" and isinstance(value, list):
            return self.mask_env(value)
        if key in ("Cmd", "Entrypoint", "Args") and isinstance(value, list):
            return self.mask_args(value)
        if key == "Labels" and isinstance(value, Mapping):
            return self.mask_mapping(value)
        return self.mask_document(value)

    def _run(self, text: str, alts: tuple[int, ...]) -> str:
        if "PRIVATE KEY" in text:
            text = _pem(text)
        text = _by_lines(text, alts, self._replace)
        for rx in self._extra:
            text = rx.sub(_mask_groups, text)
        return text

    def _replace(self, m: re.Match[str]) -> str:
        group, text, start = m.lastgroup or "", m.string, m.start()
        if group == "kv":
            head = start
            while head and (text[head - 1].isalnum() or text[head - 1] in "_.-"):
                head -= 1
            quote, value = m["kq"] or "", m["val"]
            kept = f"{m['key']}{quote}{m['sep']}"
            if not is_secret_key(text[head:start] + m["key"]):
                return kept + _TEXT_RE.sub(self._replace, value)
            return kept + (value[0] + MASK + value[0] if value[0] in "\"'" else MASK)
        if group == "env":
            if start and not text[start - 1].isspace():
                return m[0]
            try:
                words = shlex.split(m["eword"])
            except ValueError:  # an unclosed quote: mask the lot
                return m["eflag"] + MASK
            name, eq, _ = words[0].partition("=") if len(words) == 1 else ("", "", "")
            rest = f"{shlex.quote(name)}={MASK}" if eq else _TEXT_RE.sub(self._replace, m["eword"])
            return m["eflag"] + rest
        if group in _BOUNDED and start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            return m[0]
        return m[group] + MASK


def _by_lines(text: str, alts: tuple[int, ...], replace: Callable[[re.Match[str]], str]) -> str:
    """Substitute ``alts`` only on the lines holding one of their triggers (each match is within such a
    line), each line with just the alternatives it triggered, in their usual order."""
    low = text.lower()
    if len(low) != len(text):  # a few characters lower-case to two: offsets would not line up
        return _regex(alts).sub(replace, text)
    lines: dict[tuple[int, int], set[int]] = {}
    for alt in alts:
        for trigger in _ALTS[alt][0]:
            at = low.find(trigger)
            while at >= 0:
                start, end = low.rfind("\n", 0, at) + 1, low.find("\n", at)
                end = len(low) if end < 0 else end
                lines.setdefault((start, end), set()).add(alt)
                at = low.find(trigger, end)
    if not lines:
        return text
    out, last = [], 0
    for (start, end), hit in sorted(lines.items()):
        out += [text[last:start], _regex(tuple(sorted(hit))).sub(replace, text[start:end])]
        last = end
    return "".join([*out, text[last:]])


def _mask_groups(m: re.Match[str]) -> str:
    """An extra regex's match: all of it masked, or only its (outermost) capturing groups."""
    if m.start() == m.end():
        return ""
    if not m.re.groups:
        return MASK
    out, last = [], m.start()
    for i in range(1, m.re.groups + 1):
        if m.start(i) >= last and m.end(i) > m.start(i):
            out += [m.string[last:m.start(i)], MASK]
            last = m.end(i)
    return "".join([*out, m.string[last:m.end()]])


class RedactingFilter(logging.Filter):
    """Rewrites each log record into its redacted message (``-e`` values too), traceback included."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "dockbolt_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as usual
            return True
        record.msg, record.args = self.redactor.redact_command(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.redact(record.stack_info)
        setattr(record, "dockbolt_redacted", True)  # noqa: B010 (not a declared attribute)
        return True


def install_log_redaction(redactor: Redactor | None = None) -> RedactingFilter:
    """Add a ``RedactingFilter`` to every handler configured so far (root's and any logger's), replacing one
    an earlier call added; call it after logging is set up. RQ's worker logs through root's handlers."""
    flt = RedactingFilter(redactor or Redactor())
    loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values()
                                       if isinstance(lg, logging.Logger))]
    for handler in {id(h): h for lg in loggers for h in lg.handlers}.values():
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(flt)
    return flt
