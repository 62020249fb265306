"""Property tests: any slash-command text is parsed or refused with a message; authorize() always decides.

Generated texts: every verb of the registry with random flags of its own spec (and values, plausible or
not), random words, quotes (balanced or not), unicode, Slack's entities (&lt; &gt; &amp;), very long
words, empty text. ``parse()`` must return a ParsedCommand or raise ``UsageError`` with a one-paragraph
message written for a person — never another exception. Every ParsedCommand then goes through
``authorize()`` for a generated user, channel and user groups against a fixed policy: it returns a
Decision with a reason, always, and for the callers whose roles the policy fixes, the decision the rules
give. The last property adds what the worker adds: requirements and the resolved targets.

How many examples: ``DOCKBOLT_FUZZ_EXAMPLES`` (default 10_000) split across the three properties, each
example one generated command; with ``CI`` set the run is derandomized (the same examples every run, no
example database) so CI is reproducible. ``make fuzz`` runs 100_000.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shlex
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.parsing import parse, slack_unescape
from bot.verbs import CATALOG, VERBS
from bot.verbs.base import Flag, ParsedCommand
from dockbolt.core.args import RunArgs
from dockbolt.core.config import parse_config
from dockbolt.core.errors import UsageError
from dockbolt.core.mrkdwn import escape
from dockbolt.core.rbac import GRANTS, Decision, authorize
from dockbolt.core.scopes import Target, typed_targets

T = TypeVar("T")

# --- the settings profile ------------------------------------------------------------------------------

FUZZ_EXAMPLES = int(os.environ.get("DOCKBOLT_FUZZ_EXAMPLES", "10000"))
IN_CI = bool(os.environ.get("CI"))
settings.register_profile(
    "dockbolt-fuzz",
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=IN_CI,
    # A derandomized run replays no saved examples either: CI runs exactly the same examples every time.
    **({"database": None} if IN_CI else {}),
    # Very long words are part of the input space on purpose.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = settings.get_profile("dockbolt-fuzz")
# Each property's share of DOCKBOLT_FUZZ_EXAMPLES (every example is one generated command).
SHARES = {"any_text": 0.25, "command_like": 0.45, "worker_view": 0.3}


def share(name: str) -> settings:
    return settings(PROFILE, max_examples=max(1, round(FUZZ_EXAMPLES * SHARES[name])))


def test_the_shares_add_up_to_the_examples_asked_for() -> None:
    assert sum(max(1, round(FUZZ_EXAMPLES * s)) for s in SHARES.values()) >= FUZZ_EXAMPLES


# --- the fixed policy ------------------------------------------------------------------------------------

POLICY = parse_config(tomllib.loads("""
[policy]
read_unmanaged = true

[rbac.roles.deployer]
inherits = ["operator"]
grants = ["privileged", "unmanaged"]

[[rbac.bindings]]
role = "viewer"
users = ["UVIEW"]

[[rbac.bindings]]
role = "operator"
users = ["UOPS"]

[[rbac.bindings]]
role = "admin"
users = ["UADMIN"]

[[rbac.bindings]]
role = "operator"
groups = ["SOPS"]
channels = ["COPS"]

[[rbac.bindings]]
role = "deployer"
users = ["UDEPLOY"]
containers = ["staging-*"]
images = ["acme/*"]
"""), "fuzz.toml", CATALOG).policy
# The built-in role each of these holds in every channel (and nothing else, outside SOPS in COPS).
FIXED_ROLE = {"UVIEW": "viewer", "UOPS": "operator", "UADMIN": "admin"}
NAMED_USERS = (*FIXED_ROLE, "UDEPLOY")
# The default roles whose verbs each built-in role allows (admin: "*").
HOLDS = {"viewer": {"everyone", "viewer"}, "operator": {"everyone", "viewer", "operator"},
         "admin": {"everyone", "viewer", "operator", "deployer", "admin"}}
OPEN_VERBS = frozenset(v for v, role in CATALOG.items() if role == "everyone")
READ_VERBS = frozenset(v for v, role in CATALOG.items() if role == "viewer")
# The only grants anyone holds here: the deployer's, on staging-* containers of acme/* images.
DEPLOYER_GRANTS = frozenset({"privileged", "unmanaged"})


# --- strategies --------------------------------------------------------------------------------------------
# Hypothesis pays per draw, not per character: flags with their values, callers and targets are
# precomputed pools drawn in one go, with a None entry standing for "draw something random instead".

# Values a flag or an argument might plausibly get, right or wrong, including run's guardrail flags' values.
PLAUSIBLE = (
    "web", "staging-a", "a", "-", "--", "-x", "0", "1", "5", "-1", "300", "301", "99999999999999999999",
    "1.5", ".5", "1e3", "NaN", "all", "10m", "1h30m", "2d", "0s", "2024-05-01T12:00Z", "2024-13-45",
    "1700000000", "1700000000.5", "name=web", "status=running", "status=bogus", "label=a=b", "x=", "=x",
    "busybox", "busybox:1.36", "acme/app:1.0", "BusyBox", "localhost:5000/a/b@sha256:" + "a" * 64,
    "80", "8080:80", "0.0.0.0:80:80/udp", "[::1]:80:80", "1-2:3", "80/icmp", "/srv:/data:ro", "/:/host",
    "vol:/data", "/var/run/docker.sock:/s", "/srv/../etc:/x", "type=bind,source=/srv,target=/data,readonly",
    "type=tmpfs,target=/t", "type=volume,volume-opt=x", "host", "container:web", "none", "private",
    "root", "0:0", "00", "nobody:nogroup", "NET_ADMIN", "ALL", "cap_sys_admin", "/dev/kvm",
    "/dev/sda:/dev/x:rwm", "seccomp=unconfined", "apparmor=x", "no-new-privileges",
    "no-new-privileges:false", "label=disable", "512m", "1g", "5m", "on-failure:3", "always:2", "no", "K=V",
    "K", "dockbolt.managed=false", "A B", "--privileged", "-u", "$(id)", "`id`", "; rm -rf /", "<!channel>",
    "<@U123>", "&amp;", "&lt;", "&gt;", "\u202e", "\x00", "é", "日本", "🐳", "'", '"', "\\", "a\nb",
)
# Arguments that often make a valid command, so that many generated commands reach authorize().
GOOD_ARGS = ("web", "staging-a", "db-1", "busybox", "acme/app:1.0", "echo", "hi", "sh")
# Flags no verb has, and the words that end flags or ask for help.
BOGUS_FLAGS = ("--", "-", "--help", "-h", "--bogus", "--bogus=1", "-Z")


def pool(items: Iterable[T], first: T) -> st.SearchStrategy[T]:
    """Draw from ``items`` in a fixed shuffled order, ``first`` (what examples shrink to) in front.

    Hypothesis draws low indices far more often than high ones (it shrinks towards them): an ordered
    pool would be explored mostly by its head. Shuffled, each part keeps about its weight (repetitions).
    """
    rest = list(items)
    random.Random(0).shuffle(rest)
    return st.sampled_from([first, *rest])


def quoted(word: str, how: str) -> str:
    """The word as typed: bare, shell-quoted, in quotes that may stay open, or with a stray backslash."""
    if how == "shell":
        return shlex.quote(word)
    if how == "double":
        return '"' + word + '"'
    if how == "single-open":
        return "'" + word
    if how == "backslash":
        return word + "\\"
    return word


def accepts(flag: Flag, value: str) -> bool:
    """Whether the flag's own value check takes ``value`` (only to weight the generated words)."""
    try:
        if flag.convert is not None:
            flag.convert(value)
    except ValueError:
        return False
    return True


def flag_pool(flags: list[Flag], values: tuple[str, ...] = PLAUSIBLE) -> list[str]:
    """Each flag in pflag's spellings: booleans alone or `=BOOL`; value flags with each value as `-t 5`,
    `--time=5`, `-t5` (and alone, which lacks its argument)."""
    out: list[str] = []
    for flag in flags:
        for name in flag.names:
            if flag.kind == "bool":
                out += [name] * 20 + [f"{name}={b}" for b in ("true", "false", "1", "0", "maybe", "")]
                continue
            out.append(name)
            for v in values:
                out += [f"{name} {shlex.quote(v)}", f"{name} {v}", shlex.quote(f"{name}={v}")]
                if not name.startswith("--"):
                    out.append(shlex.quote(name + v))
    return out


def good_flag_pool(flags: list[Flag]) -> list[str]:
    """The flags with only the plausible values their checks accept: commands that get through."""
    out: list[str] = []
    for flag in flags:
        good = tuple(v for v in PLAUSIBLE if accepts(flag, v))
        out += flag_pool([flag], good) if flag.kind == "bool" or good else []
    return out


# Every other word: plausible values quoted every which way, flags no verb has.
OTHER_WORDS = [
    *(quoted(v, how) for v in PLAUSIBLE for how in ("bare", "bare", "bare", "shell", "double")),
    *(quoted(v, "single-open") for v in PLAUSIBLE[:10]),
    *BOGUS_FLAGS,
]


def weighted(*parts: tuple[float, list[str | None]]) -> tuple[str | None, ...]:
    """One pool to sample from in which each (non-empty) part has about its weight."""
    total = 20_000
    return tuple(word for weight, part in parts if part
                 for word in part * max(1, round(weight * total / len(part))))


def word_pool(flags: list[Flag], positionals: bool) -> tuple[str | None, ...]:
    """A verb's words, weighted so that many commands are valid: its flags with accepted values, good
    arguments (if it takes any); and then anything: any value for its flags, odd words and flags, and
    None, which stands for a random word."""
    return weighted(
        (0.3 if positionals else 0.02, list(GOOD_ARGS)),
        (0.35, list(good_flag_pool(flags))),
        (0.1, list(flag_pool(flags))),
        (0.15, list(OTHER_WORDS)),
        (0.1, [None]),
    )


WORDS = {verb: st.lists(pool(word_pool(list(spec.flags), spec.max_positionals != 0), "web"), max_size=6)
         for verb, spec in VERBS.items()}
# For a verb word that is no verb (typos, random text): every verb's flags.
ANY_WORDS = st.lists(pool(word_pool([f for spec in VERBS.values() for f in spec.flags], True), "web"),
                     max_size=6)
# The verb: mostly one of the registry's, sometimes upper case, a help flag, a typo or (None) random text.
VERB_WORD = pool((*sorted(VERBS) * 8, *(v.upper() for v in VERBS), "-h", "--help", "Ps", "stpo", "", None,
                  None), "ps")
random_word = st.builds(quoted, st.text(max_size=10) | st.text(alphabet="abc09-_=:/,.[]@+~ ", max_size=12),
                        st.sampled_from(("bare",) * 3 + ("shell", "double", "single-open", "backslash")))
# Slack caps the text of a slash command at a few thousand characters; a word may take all of it.
LONG_WORDS = tuple(c * n for n in (256, 1000, 4000) for c in "xé/-:=🐳")
LONG_WORD = st.sampled_from(LONG_WORDS)
# (separator, Slack-encoded, padding, a very long word?): Slack sends & < > encoded; the text may come with
# blanks around; now and then one word is very long.
LAYOUTS = pool([(sep, enc, pad, long) for sep in (" ",) * 6 + ("  ", "\t", "\n", "\u00a0")
                for enc in (True, False) for pad in ("", " ", "\n")
                for long in (False,) * 9 + (True,)], (" ", False, "", False))


@st.composite
def command_text(draw: st.DrawFn) -> str:
    """A slash-command text: a verb, then its flags and arguments in any order, as Slack would send it."""
    first = draw(VERB_WORD)
    if first is None:
        first = draw(random_word)
    words = [w if w is not None else draw(random_word) for w in draw(WORDS.get(first.lower(), ANY_WORDS))]
    words.insert(0, first)
    sep, encoded, pad, long = draw(LAYOUTS)
    if long:
        words.insert(draw(st.integers(min_value=1, max_value=len(words))), draw(LONG_WORD))
    text = sep.join(words)
    return pad + (escape(text) if encoded else text) + pad


any_text = st.one_of(st.text(max_size=40), st.text(alphabet=" \t\n'\"\\&;<>-=aps", max_size=40),
                     st.sampled_from(("", " ", "\n", "&amp;lt;", "&lt;&gt;", "-h", "--", "'", "\\", "ps -a",
                                      LONG_WORDS[0], LONG_WORDS[-1])))


@dataclass(frozen=True)
class Caller:
    """Who sends the command, where, in which user groups."""

    user: str
    channel: str
    groups: tuple[str, ...]


CALLERS: tuple[Caller | None, ...] = (
    *(Caller(u, c, g) for u in (*NAMED_USERS, "USTRANGER", "uops", "")
      for c in ("COPS", "CDEV", "D0DM", "")
      for g in ((), ("SOPS",), ("SOTHER",), ("SOTHER", "SOPS"))),
    *(None,) * 20,
)
KNOWN_CALLER = pool(CALLERS, Caller("UOPS", "COPS", ()))
random_caller = st.builds(Caller, st.text(max_size=6), st.text(max_size=6),
                          st.lists(st.text(max_size=6), max_size=2).map(tuple))


@st.composite
def caller(draw: st.DrawFn) -> Caller:
    """Mostly a caller the policy knows (or deliberately does not), sometimes random ids."""
    return draw(KNOWN_CALLER) or draw(random_caller)


# --- what a refusal and a decision must look like --------------------------------------------------------

# Python's own words: a traceback, a repr, a conversion error that escaped the verb's value checks.
PYTHON_MARKERS = ("Traceback", "<class", " object at 0x", 'File "', "invalid literal for int()",
                  "could not convert string", "InvalidOperation", "Error(", "NoneType")
USAGES = {spec.usage for spec in VERBS.values()}


def check_refusal(text: str, err: UsageError) -> None:
    message = str(err)
    typed = slack_unescape(text)
    assert message.strip(), f"empty message for {text!r}"
    assert message == message.strip(), f"message with leading/trailing blanks: {message!r}"
    for marker in PYTHON_MARKERS:
        if marker not in typed:
            assert marker not in message, f"{marker!r} in the message for {text!r}: {message!r}"
    # One paragraph: our own words never break a line; a line break can only be the user's, echoed back.
    if len(typed.splitlines()) <= 1:
        assert len(message.splitlines()) == 1, f"multi-line message for {text!r}: {message!r}"
    assert err.usage == "" or err.usage in USAGES


def parse_or_refuse(text: str) -> ParsedCommand | None:
    """parse(): a ParsedCommand (checked) or None after a UsageError (checked); anything else propagates."""
    try:
        cmd = parse(text)
    except UsageError as err:
        check_refusal(text, err)
        return None
    assert cmd.verb in VERBS
    assert cmd.text == slack_unescape(text).strip()
    # What the bot queues is what the worker decodes.
    assert type(cmd.args).from_dict(json.loads(json.dumps(cmd.args.to_dict()))) == cmd.args
    return cmd


def check_decision(d: Decision, verb: str, who: Caller) -> None:
    """A Decision that names its verb, caller and reason; for callers with a fixed role, the rules' answer."""
    assert isinstance(d, Decision)
    assert (d.verb, d.user_id, d.channel_id) == (verb, who.user, who.channel)
    assert d.reason.strip() and d.matched_rule.strip()
    assert d.reason.startswith("allowed: " if d.allowed else "not allowed: ")
    in_ops_group = "SOPS" in who.groups and who.channel == "COPS"
    if verb in OPEN_VERBS:
        assert d.allowed
    elif who.user not in NAMED_USERS and not in_ops_group:
        assert not d.allowed, "deny by default"
        assert d.roles == ()
        assert "no role" in d.reason
    elif who.user in FIXED_ROLE and not in_ops_group:
        assert d.allowed is (CATALOG[verb] in HOLDS[FIXED_ROLE[who.user]]), d


def decide(cmd: ParsedCommand, who: Caller) -> Decision:
    return authorize(POLICY, user_id=who.user, user_groups=who.groups, channel_id=who.channel, verb=cmd.verb)


# --- the properties ------------------------------------------------------------------------------------


@share("any_text")
@given(text=any_text, who=caller())
def test_any_text_is_parsed_or_refused_and_then_decided(text: str, who: Caller) -> None:
    cmd = parse_or_refuse(text)
    if cmd is not None:
        check_decision(decide(cmd, who), cmd.verb, who)


@share("command_like")
@given(text=command_text(), who=caller())
def test_command_like_text_is_parsed_or_refused_and_then_decided(text: str, who: Caller) -> None:
    cmd = parse_or_refuse(text)
    if cmd is not None:
        check_decision(decide(cmd, who), cmd.verb, who)


@dataclass(frozen=True)
class Need:
    """A requirement as ``authorize`` reads it (``dockbolt.core.scopes.Requirement``)."""

    flag: str
    grant: str | None
    reason: str


NEEDS = tuple(Need(flag, grant, "why") for flag in ("--privileged", "-v /:/h")
              for grant in (None, "no-such-grant", *GRANTS))
# No requirement (mostly), one, or two: one draw.
NEED_SETS = pool(((),) * 100 + tuple((n,) for n in NEEDS) + tuple(itertools.product(NEEDS, NEEDS)), ())
Found = tuple[str, bool, bool]
# How the worker may find a typed container: its image, whether dockbolt manages it, whether protected.
FOUND = tuple((image, managed, protected) for image in ("acme/app:1", "busybox", "")
              for managed in (True, False) for protected in (False, True))
# The n-th typed container is found as the (n % 3)-th of three; and whether an image is a target too.
FOUND_SETS = pool(itertools.product(itertools.product(FOUND, repeat=3), (False, True)),
                  ((FOUND[0],) * 3, False))


@share("worker_view")
@given(text=command_text(), who=caller(), needs=NEED_SETS, found=FOUND_SETS)
def test_worker_view_commands_with_requirements_and_resolved_targets(
    text: str, who: Caller, needs: tuple[Need, ...], found: tuple[tuple[Found, ...], bool]
) -> None:
    """As the worker does: the typed containers resolved (image, labels), `run`'s new container, plus
    requirements. Whatever the rules forbid outright is denied, and fewer targets never deny more."""
    cmd = parse_or_refuse(text)
    if cmd is None:
        return
    resolved, image_target = found
    targets = []
    for n, name in enumerate(typed_targets(cmd.args)):
        image, managed, protected = resolved[n % len(resolved)]
        targets.append(Target(name, image, managed=managed, protected=protected))
    if isinstance(cmd.args, RunArgs):
        targets.append(Target(cmd.args.name or "", cmd.args.image, kind="new"))
    if image_target:
        targets.append(Target("", resolved[0][0], kind="image"))
    d = authorize(POLICY, user_id=who.user, user_groups=who.groups, channel_id=who.channel, verb=cmd.verb,
                  needs=needs, targets=targets)
    assert (d.verb, d.user_id, d.channel_id) == (cmd.verb, who.user, who.channel)
    assert d.reason.strip() and d.reason.startswith("allowed: " if d.allowed else "not allowed: ")
    if cmd.verb in OPEN_VERBS:
        assert d.allowed
        return
    reads = cmd.verb in READ_VERBS
    grants = {n.grant for n in needs}
    if None in grants:
        assert not d.allowed, "a requirement without a grant is never allowed"
    if not reads and any(t.protected for t in targets):
        assert not d.allowed, "a protected container is never changed"
    needs_a_grant = bool(grants) or (not reads and any(not t.managed for t in targets))
    if who.user != "UDEPLOY" and needs_a_grant:
        assert not d.allowed, "nobody else holds a grant"
    if who.user == "UDEPLOY" and d.allowed and needs_a_grant:
        # Only the deployer's binding has them, and it covers only staging-* of acme/* images.
        assert grants <= DEPLOYER_GRANTS
        for t in targets:
            assert t.kind == "image" or fnmatchcase(t.name, "staging-*")
            assert fnmatchcase(t.image, "acme/*")
    if d.allowed:
        fewer = authorize(POLICY, user_id=who.user, user_groups=who.groups, channel_id=who.channel,
                          verb=cmd.verb, needs=needs[:1], targets=targets[:1])
        assert fewer.allowed, (d, fewer)
    check_decision(decide(cmd, who), cmd.verb, who)
