"""The TOML config: the documented example parses, and every kind of mistake is reported, all at once."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.parsing import parse_run_words
from bot.verbs import CATALOG, VERBS
from dockbolt.core.config import default_allows, load_config, parse_config
from dockbolt.core.config_default import default_config_toml
from dockbolt.core.errors import ConfigError
from dockbolt.core.rbac import allowed_verbs, authorize

ROOT = Path(__file__).resolve().parents[2]

EXAMPLE = """\
[slack]
command = "/docker"            # the slash command this bot answers
notify_channel = "C0123456"    # where notifications go (used by later work)

[rbac]
default_role = ""              # role for users with no binding; "" = none (deny)

[rbac.roles.viewer]
allow = ["help", "ps", "images", "logs", "stats", "inspect", "whoami", "jobs"]

[rbac.roles.operator]
inherits = ["viewer"]
allow = ["run", "stop", "start", "restart", "rm"]

[rbac.roles.admin]
allow = ["*"]

[[rbac.bindings]]
role = "operator"
users = ["U0123ABC"]           # Slack user ids

[[rbac.bindings]]
role = "viewer"
groups = ["S0456DEF"]          # Slack user-group ids
channels = ["C0123456"]        # optional: the binding holds only in these channels
"""


def problems_of(toml_text: str) -> list[str]:
    """Parse ``toml_text`` as dockbolt.toml and return the reported problems (fails if none)."""
    with pytest.raises(ConfigError) as info:
        parse_config(tomllib.loads(toml_text), "dockbolt.toml", CATALOG)
    return info.value.problems


def one_problem(toml_text: str) -> str:
    problems = problems_of(toml_text)
    assert len(problems) == 1, problems
    return problems[0]


def base() -> str:
    """A minimal valid config: one role and one binding (TOML can be appended to the binding)."""
    return '[rbac.roles.viewer]\nallow = ["ps"]\n[[rbac.bindings]]\nrole = "viewer"\nusers = ["U1"]\n'


# --- the happy paths -----------------------------------------------------------------------------------


def test_example_parses_into_the_policy_it_describes(tmp_path: Path) -> None:
    path = tmp_path / "dockbolt.toml"
    path.write_text(EXAMPLE)
    cfg = load_config(str(path), CATALOG)
    assert cfg.source == str(path)
    assert cfg.slack.command == "/docker"
    assert cfg.slack.notify_channel == "C0123456"
    policy = cfg.policy
    assert list(policy.roles) == ["deployer", "viewer", "operator", "admin"]  # deployer: built in
    assert policy.roles["operator"].inherits == ("viewer",)
    assert policy.roles["admin"].allow == ("*",)
    assert policy.default_role == ""
    first, second = policy.bindings
    assert (first.role, first.users, first.groups, first.channels) == (
        "operator",
        frozenset({"U0123ABC"}),
        frozenset(),
        frozenset(),
    )
    assert (second.role, second.groups, second.channels) == (
        "viewer",
        frozenset({"S0456DEF"}),
        frozenset({"C0123456"}),
    )


def test_missing_sections_take_safe_defaults() -> None:
    cfg = parse_config({}, "dockbolt.toml", CATALOG)
    assert cfg.slack.command == "/docker"
    assert cfg.policy.bindings == ()
    assert not authorize(cfg.policy, user_id="U1", user_groups=(), channel_id="C1", verb="ps").allowed
    # help, whoami and why need no role: a user without one learns their id and whom to ask
    assert authorize(cfg.policy, user_id="U1", user_groups=(), channel_id="C1", verb="whoami").allowed


def test_default_config_parses_and_makes_the_user_admin(tmp_path: Path) -> None:
    text = default_config_toml("U0ADMIN42", CATALOG)
    assert text.lstrip().startswith("#")  # it is meant to be read and edited by a person
    path = tmp_path / "dockbolt.toml"
    path.write_text(text)
    policy = load_config(str(path), CATALOG).policy
    for verb in VERBS:
        decision = authorize(policy, user_id="U0ADMIN42", user_groups=(), channel_id="C9", verb=verb)
        assert decision.allowed, decision
        assert decision.roles == ("admin",)
    other = authorize(policy, user_id="U0OTHER", user_groups=(), channel_id="C9", verb="ps")
    assert not other.allowed


def test_built_in_roles_give_each_verb_to_its_default_role() -> None:
    policy = parse_config({}, "d.toml", CATALOG).policy
    for name, spec in VERBS.items():
        everybody = {"viewer", "operator", "deployer", "admin"}
        allowed_by = {r for r in everybody if name in allowed_verbs(policy, [r])}
        expected = {"viewer": everybody, "operator": {"operator", "admin"}, "deployer": {"deployer", "admin"},
                    "admin": {"admin"}, "everyone": everybody}[spec.default_role]
        assert allowed_by == expected, name


def test_a_verb_joins_its_built_in_role_without_editing_any_config() -> None:
    fewer = {name: CATALOG[name] for name in ("help", "ps", "run")}
    policy = parse_config({}, "d.toml", fewer).policy
    assert policy.roles["viewer"].allow == ("ps",) and policy.roles["operator"].allow == ("run",)
    assert policy.open_verbs == {"help"}
    text = default_config_toml("U0ADMIN", CATALOG)
    assert "[rbac.roles." not in text.replace("# [rbac.roles.", "")  # the written config lists no verbs
    example = (ROOT / "deploy" / "dockbolt.example.toml").read_text()
    assert all(f"[rbac.roles.{r}]" not in example for r in ("viewer", "operator", "deployer", "admin"))
    config = parse_config(tomllib.loads(example), "example.toml", CATALOG, parse_run_words)  # and it is valid
    assert config.apps["flask"].run.ports[0].host_port == "8080"


def test_a_role_defined_in_the_file_replaces_the_built_in_one() -> None:
    toml_text = '[rbac.roles.viewer]\nallow = ["ps"]\n[[rbac.bindings]]\nrole = "operator"\nusers = ["U1"]\n'
    policy = parse_config(tomllib.loads(toml_text), "d.toml", CATALOG).policy
    assert allowed_verbs(policy, ["viewer"]) == tuple(sorted(("ps", *policy.open_verbs)))
    assert set(allowed_verbs(policy, ["operator"])) == {"ps", *policy.open_verbs,
                                                        *default_allows(CATALOG)["operator"]}


def test_default_config_refuses_a_malformed_admin_id() -> None:
    with pytest.raises(ValueError, match="not a Slack user id"):
        default_config_toml('U1"]\nrole = "x', CATALOG)


# --- each kind of problem ------------------------------------------------------------------------------


def test_unknown_verb_names_file_key_and_suggests() -> None:
    problem = one_problem(base().replace('allow = ["ps"]', 'allow = ["help", "ps", "psx", "*"]'))
    assert problem == 'dockbolt.toml: rbac.roles.viewer.allow[2]: unknown verb "psx" (did you mean "ps"?)'


def test_unknown_verb_without_a_close_match_mentions_the_wildcard() -> None:
    problem = one_problem(base().replace('["ps"]', '["frobnicate"]'))
    assert 'unknown verb "frobnicate"' in problem
    assert '"*"' in problem


def test_unknown_role_in_inherits() -> None:
    text = base() + '[rbac.roles.operator]\ninherits = ["viewr"]\nallow = ["stop"]\n'
    assert one_problem(text) == (
        'dockbolt.toml: rbac.roles.operator.inherits[0]: unknown role "viewr" (did you mean "viewer"?)'
    )


def test_unknown_role_in_binding() -> None:
    problem = one_problem(base().replace('role = "viewer"', 'role = "operators"'))
    assert problem.startswith('dockbolt.toml: rbac.bindings[0].role: unknown role "operators"')
    assert '(did you mean "operator"?)' in problem  # the built-in roles count as existing


def test_unknown_default_role() -> None:
    problem = one_problem('[rbac]\ndefault_role = "viewers"\n' + base())
    assert problem == 'dockbolt.toml: rbac.default_role: unknown role "viewers" (did you mean "viewer"?)'


def test_inheritance_cycle_is_named_once() -> None:
    text = (
        '[rbac.roles.a]\ninherits = ["b"]\n[rbac.roles.b]\ninherits = ["c"]\n'
        '[rbac.roles.c]\ninherits = ["a"]\n'
        '[[rbac.bindings]]\nrole = "a"\nusers = ["U1"]\n'
    )
    assert one_problem(text) == "dockbolt.toml: rbac.roles.a.inherits: inheritance cycle a → b → c → a"


def test_self_inheritance_is_a_cycle() -> None:
    problem = one_problem(base().replace('allow = ["ps"]', 'allow = ["ps"]\ninherits = ["viewer"]'))
    assert problem.endswith("inheritance cycle viewer → viewer")


@pytest.mark.parametrize(
    ("toml_line", "key", "words"),
    [
        ("[slack]\ncommand = 5\n", "slack.command", "must be a string, got integer"),
        ('[slack]\ncommand = "docker"\n', "slack.command", "is not a slash command"),
        ('[slack]\ncommand = "/Docker Cmd"\n', "slack.command", "is not a slash command"),
        ('[slack]\nnotify_channel = "#general"\n', "slack.notify_channel", "is not a Slack channel id"),
        ('[slack]\ndelivery_ttl = "soon"\n', "slack.delivery_ttl", 'is not a duration like "1h"'),
        ('[build]\ncontext_roots = ["srv/ctx"]\n', "build.context_roots[0]", "must be an absolute directory"),
        ('[build]\ncontext_roots = ["/"]\n', "build.context_roots[0]", "must be an absolute directory"),
        ('[build]\nallow_git_hosts = ["https://git.x"]\n', "build.allow_git_hosts[0]", "must be a host name"),
        ('[build]\ncontext_root = ["/srv"]\n', "build.context_root", 'unknown key "context_root"'),
        ("[slack]\ndelivery_ttl = 0\n", "slack.delivery_ttl", "is not a duration"),
        ("[slack]\ndelivery_ttl = true\n", "slack.delivery_ttl", "is not a duration"),
        ('[rbac]\ndefault_role = ["viewer"]\n', "rbac.default_role", "must be a string, got array"),
        ('slack = "x"\n', "slack", "must be a table, got string"),
        ('[rbac.roles]\nadmin = ["*"]\n', "rbac.roles.admin", "must be a table, got array"),
        (
            '[rbac.roles.admin]\nallow = "*"\n',
            "rbac.roles.admin.allow",
            "must be an array of strings, got string",
        ),
        (
            '[rbac.roles.admin]\nallow = ["*", 7]\n',
            "rbac.roles.admin.allow[1]",
            "must be a string, got integer",
        ),
        (
            '[rbac.roles.admin]\ninherits = "viewer"\n',
            "rbac.roles.admin.inherits",
            "must be an array of strings",
        ),
        ('[rbac.roles."ad min"]\nallow = ["*"]\n', "rbac.roles.ad min", "may use only letters, digits"),
    ],
)
def test_bad_types_and_shapes(toml_line: str, key: str, words: str) -> None:
    problem = one_problem(toml_line + base())
    assert problem.startswith(f"dockbolt.toml: {key}: "), problem
    assert words in problem


def test_bindings_written_as_a_table_instead_of_an_array() -> None:
    text = '[rbac.roles.viewer]\nallow = ["ps"]\n[rbac.bindings]\nrole = "viewer"\nusers = ["U1"]\n'
    assert one_problem(text) == (
        "dockbolt.toml: rbac.bindings: must be an array of tables ([[rbac.bindings]]), got table"
    )


@pytest.mark.parametrize(
    ("where", "typo", "suggestion"),
    [
        ("[slack]\n", "comand", "command"),
        ("[rbac]\n", "defualt_role", "default_role"),
        ("[rbac.roles.admin]\n", "alow", "allow"),
        ("[rbac.roles.admin]\n", "inherit", "inherits"),
        ("", "rabc", "rbac"),
    ],
)
def test_unknown_keys_are_typos_with_suggestions(where: str, typo: str, suggestion: str) -> None:
    text = f'{typo} = ["x"]\n' + base() if not where else where + f'{typo} = ["x"]\n' + base()
    problem = one_problem(text)
    assert f'unknown key "{typo}" (did you mean "{suggestion}"?)' in problem
    assert problem.startswith("dockbolt.toml: ")


def test_unknown_key_in_binding() -> None:
    problem = one_problem(base() + 'user = ["U2"]\n')
    assert problem == 'dockbolt.toml: rbac.bindings[0].user: unknown key "user" (did you mean "users"?)'


def test_binding_with_neither_users_nor_groups() -> None:
    text = base() + '[[rbac.bindings]]\nrole = "viewer"\nchannels = ["C1"]\n'
    assert (
        one_problem(text) == "dockbolt.toml: rbac.bindings[1]: binding names nobody: give users and/or groups"
    )


def test_binding_without_role() -> None:
    assert (
        one_problem(base().replace('role = "viewer"\n', ""))
        == "dockbolt.toml: rbac.bindings[0].role: missing (required)"
    )


@pytest.mark.parametrize(
    ("kind", "value", "what"),
    [
        ("users", "u0123abc", "user id"),
        ("users", "@alice", "user id"),
        ("users", "S0456DEF", "user id"),
        ("groups", "U0123ABC", "user-group id"),
        ("groups", "admins", "user-group id"),
        ("channels", "#ops", "channel id"),
        ("channels", "U0123ABC", "channel id"),
    ],
)
def test_id_shapes_are_errors(kind: str, value: str, what: str) -> None:
    ids = {"users": ["W0ENTERPRISE"], "groups": ["S0456DEF"], "channels": ["C0123456", "G0PRIVATE", "D0DM"]}
    ids[kind] = [*ids[kind], value]
    lines = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in ids.items())
    problem = one_problem(base() + f'[[rbac.bindings]]\nrole = "viewer"\n{lines}')
    key = f"rbac.bindings[1].{kind}[{len(ids[kind]) - 1}]"
    assert problem.startswith(f'dockbolt.toml: {key}: "{value}" is not a Slack {what}'), problem


def test_every_problem_is_reported_at_once() -> None:
    text = """\
[slack]
comand = "/docker"
[rbac]
default_role = "guest"
[rbac.roles.viewer]
allow = ["help", "psx"]
[rbac.roles.operator]
inherits = ["operator"]
alow = ["run"]
[[rbac.bindings]]
role = "operater"
users = ["alice"]
[[rbac.bindings]]
role = "viewer"
"""
    problems = problems_of(text)
    expected_keys = [
        "slack.comand",
        "rbac.roles.viewer.allow[1]",
        "rbac.roles.operator.alow",
        "rbac.roles.operator.inherits",
        "rbac.bindings[0].role",
        "rbac.bindings[0].users[0]",
        "rbac.bindings[1]",
        "rbac.default_role",
    ]
    assert [p.split(": ")[1] for p in problems] == expected_keys
    assert all(p.startswith("dockbolt.toml: ") for p in problems)
    assert str(ConfigError(problems)).count("\n") == len(problems) - 1


# --- reading the file ----------------------------------------------------------------------------------


def test_missing_file_is_a_clear_config_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as info:
        load_config(str(path), CATALOG)
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}: config file not found")


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "dockbolt.toml"
    path.write_text('[slack]\ncommand = "/docker"\nnotify_channel = \n')
    with pytest.raises(ConfigError) as info:
        load_config(str(path), CATALOG)
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}: line 3: TOML syntax error")


def test_directory_instead_of_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(str(tmp_path), CATALOG)


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "dockbolt.toml"
    path.write_bytes(b'[slack]\ncommand = "/d\xff"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(str(path), CATALOG)


def test_policy_table_defaults_are_the_documented_ones() -> None:
    g = parse_config({}, "d.toml", CATALOG).policy.guardrails
    assert (g.memory, g.pids_limit, g.publish_address) == (512 << 20, 512, "127.0.0.1")
    assert g.no_new_privileges
    assert (g.allowed_host_paths, g.allowed_images, g.read_unmanaged) == ((), ("*",), False)
    assert (str(g.rate), g.max_queued_per_user, g.job_ttl, g.redact) == ("20/minute", 5, 3600, ())


def test_policy_table_values_are_read_and_normalised() -> None:
    toml_text = """
[policy]
allowed_host_paths = ["/srv/data/../shared/", "//opt//x"]
memory = "none"
pids_limit = 64
publish_address = "::1"
rate = "3 / hour"
job_ttl = "30m"
redact = ['acme-[0-9]+']
"""
    g = parse_config(tomllib.loads(toml_text), "d.toml", CATALOG).policy.guardrails
    assert g.allowed_host_paths == ("/srv/shared", "/opt/x")
    assert (g.memory, g.pids_limit, g.publish_address, g.job_ttl) == (None, 64, "::1", 1800)
    assert (g.rate.count, g.rate.per_seconds, g.redact) == (3, 3600, ("acme-[0-9]+",))


def test_policy_table_problems_are_all_reported() -> None:
    toml_text = """
[policy]
allowed_host_paths = ["/", "relative"]
memory = "lots"
publish_address = "everywhere"
rate = "fast"
redact = ["("]
job_ttl = 0
read_unmanaged = "yes"
memmory = "1g"
"""
    with pytest.raises(ConfigError) as err:
        parse_config(tomllib.loads(toml_text), "d.toml", CATALOG)
    text = "\n".join(err.value.problems)
    for key in ("allowed_host_paths", "memory", "publish_address", "rate", "redact", "job_ttl",
                "read_unmanaged"):
        assert f"d.toml: policy.{key}: " in text, key
    assert 'policy.memmory: unknown key "memmory" (did you mean "memory"?)' in text
    assert '"/" would allow every host path' in text


def test_grants_and_scopes_are_checked() -> None:
    toml_text = """
[rbac.roles.ops]
grants = ["privileged", "root"]
[[rbac.bindings]]
role = "ops"
users = ["U1"]
containers = ["staging-*", ""]
images = "acme/*"
"""
    with pytest.raises(ConfigError) as err:
        parse_config(tomllib.loads(toml_text), "d.toml", CATALOG)
    text = "\n".join(err.value.problems)
    assert 'rbac.roles.ops.grants[1]: unknown grant "root"' in text
    assert "rbac.bindings[0].containers[1]: must not be empty" in text
    assert "rbac.bindings[0].images: must be an array of strings" in text


@pytest.mark.parametrize(("raw", "seconds"), [('"30m"', 1800), ('"1h30m"', 5400), ("90", 90), (None, 3600)])
def test_delivery_ttl_takes_a_duration_or_seconds_and_defaults_to_an_hour(raw: str | None,
                                                                          seconds: int) -> None:
    text = ("[slack]\n" + (f"delivery_ttl = {raw}\n" if raw is not None else "")) + base()
    assert parse_config(tomllib.loads(text), "dockbolt.toml", CATALOG).slack.delivery_ttl == seconds


def test_build_table_lists_where_contexts_may_come_from() -> None:
    text = '[build]\ncontext_roots = ["/srv/ctx/"]\nallow_git_hosts = ["git.example.com"]\n' + base()
    build = parse_config(tomllib.loads(text), "dockbolt.toml", CATALOG).build
    assert build.context_roots == ("/srv/ctx",) and build.allow_git_hosts == ("git.example.com",)
    assert parse_config(tomllib.loads(base()), "dockbolt.toml", CATALOG).build.context_roots == ()


MONITOR = """\
[slack]
notify_channel = "C0ALERTS"

[monitor]
interval = "30s"
cooldown = "1h"
restart_loop_count = 5

[[monitor.routes]]
channel = "C0PAY"
containers = ["pay-*"]

[[monitor.routes]]
channel = "C0TEAM"
labels = { team = "core" }
"""


def test_monitor_routes_pick_the_first_match_else_the_notify_channel() -> None:
    monitor = parse_config(tomllib.loads(MONITOR), "x.toml", CATALOG).monitor
    assert (monitor.interval, monitor.cooldown, monitor.restart_loop_count) == (30, 3600, 5)
    assert monitor.raw_retention == 86400 and monitor.quarter_retention == 90 * 86400  # defaults
    assert monitor.channel_for("pay-api", "acme/pay:1", {"team": "core"}) == "C0PAY"
    assert monitor.channel_for("web", "acme/web:1", {"team": "core"}) == "C0TEAM"
    assert monitor.channel_for("web", "acme/web:1", {"team": "other"}) == "C0ALERTS"


def test_every_monitor_mistake_is_reported_at_once() -> None:
    bad = """\
[monitor]
interval = "0s"
raw_retention = "8d"
minute_retention = "7d"
restart_loop_count = 1
colldown = "1m"

[[monitor.routes]]
channel = "#alerts"
labels = { team = 3 }
"""
    with pytest.raises(ConfigError) as err:
        parse_config(tomllib.loads(bad), "x.toml", CATALOG)
    text = "\n".join(err.value.problems)
    for expected in ('monitor.interval: "0s" is not a duration of at least 1 s',
                     "raw_retention ≤ minute_retention", "monitor.restart_loop_count: must be a whole number",
                     'monitor.colldown: unknown key "colldown" (did you mean "cooldown"?)',
                     'monitor.routes[0].channel: "#alerts" is not a Slack channel id',
                     "monitor.routes[0].labels: must be a table of strings"):
        assert expected in text, text
