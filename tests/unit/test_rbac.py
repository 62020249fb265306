"""authorize(): deny by default, bindings by user, group and channel, inheritance, "*", default_role."""

from __future__ import annotations

import json
import tomllib

import pytest

from bot.verbs import CATALOG, VERBS
from dockbolt.core.config import default_allows, parse_config
from dockbolt.core.rbac import (
    Binding,
    Decision,
    Policy,
    Role,
    allowed_verbs,
    authorize,
    decision_log_line,
    referenced_groups,
    roles_for,
)

_ALLOWS = default_allows(CATALOG)
OPEN_VERBS = _ALLOWS["everyone"]
VIEWER_VERBS = tuple(sorted(_ALLOWS["viewer"]))
OPERATOR_VERBS = _ALLOWS["operator"]

POLICY_TOML = """\
[rbac.roles.viewer]
allow = {viewer}

[rbac.roles.operator]
inherits = ["viewer"]
allow = {operator}

[rbac.roles.admin]
allow = ["*"]

[[rbac.bindings]]
role = "operator"
users = ["U0OPS"]

[[rbac.bindings]]
role = "viewer"
groups = ["S0DEVS"]
channels = ["C0DEV"]

[[rbac.bindings]]
role = "viewer"
users = ["U0VIEW"]

[[rbac.bindings]]
role = "admin"
users = ["U0ROOT"]
channels = ["C0OPS"]
"""
POLICY_TOML = POLICY_TOML.replace("{viewer}", json.dumps(_ALLOWS["viewer"])).replace(
    "{operator}", json.dumps(_ALLOWS["operator"])
)


def make_policy(before: str = "", after: str = "") -> Policy:
    """The policy above with TOML added around it, parsed exactly as the bot would parse it."""
    return parse_config(tomllib.loads(before + POLICY_TOML + after), "dockbolt.toml", CATALOG).policy


def check(
    policy: Policy, user: str, verb: str, channel: str = "C0ANY", groups: tuple[str, ...] = ()
) -> Decision:
    return authorize(policy, user_id=user, user_groups=groups, channel_id=channel, verb=verb)


def test_deny_by_default_for_a_stranger() -> None:
    d = check(make_policy(), "U0NOBODY", "ps")
    assert not d.allowed
    assert d.roles == ()
    assert d.reason.startswith("not allowed: you have no role in this channel")
    assert (d.user_id, d.channel_id, d.verb) == ("U0NOBODY", "C0ANY", "ps")


def test_empty_policy_denies_everything() -> None:
    for verb in VERBS:
        assert not check(Policy(), "U0ANY", verb).allowed


def test_viewer_can_ps_but_not_stop() -> None:
    policy = make_policy()
    ps = check(policy, "U0VIEW", "ps")
    assert ps.allowed
    assert ps.roles == ("viewer",)
    assert ps.matched_rule == "binding #3 (users) → viewer → allow ps"
    stop = check(policy, "U0VIEW", "stop")
    assert not stop.allowed
    assert stop.reason.startswith("not allowed")
    assert stop.reason == (
        "not allowed: `stop` needs a role that allows it (operator, admin); you have viewer in this channel"
    )


def test_operator_inherits_viewer_verbs() -> None:
    policy = make_policy()
    run = check(policy, "U0OPS", "run")
    assert run.allowed
    assert run.matched_rule == "binding #1 (users) → operator → allow run"
    logs = check(policy, "U0OPS", "logs")
    assert logs.allowed
    assert logs.matched_rule == "binding #1 (users) → operator → viewer → allow logs"


def test_inheritance_is_transitive() -> None:
    policy = make_policy(
        after='[rbac.roles.lead]\ninherits = ["operator"]\n'
        '[[rbac.bindings]]\nrole = "lead"\nusers = ["U0LEAD"]\n'
    )
    d = check(policy, "U0LEAD", "images")
    assert d.allowed
    assert d.matched_rule.endswith("lead → operator → viewer → allow images")
    assert allowed_verbs(policy, ["lead"]) == tuple(sorted((*OPEN_VERBS, *VIEWER_VERBS, *OPERATOR_VERBS)))


def test_wildcard_allows_every_verb() -> None:
    policy = make_policy()
    for verb in VERBS:
        d = check(policy, "U0ROOT", verb, channel="C0OPS")
        assert d.allowed, d
        want = "open to everyone" if verb in OPEN_VERBS else "binding #4 (users) → admin → allow *"
        assert d.matched_rule == want


def test_channel_scoped_binding_holds_only_in_its_channel() -> None:
    policy = make_policy()
    assert check(policy, "U0ROOT", "rm", channel="C0OPS").allowed
    elsewhere = check(policy, "U0ROOT", "rm", channel="C0DEV")
    assert not elsewhere.allowed
    assert elsewhere.roles == ()
    assert elsewhere.reason.startswith("not allowed: you have no role in this channel")


def test_group_binding_grants_its_role_to_members_in_its_channel() -> None:
    policy = make_policy()
    d = check(policy, "U0DEV", "ps", channel="C0DEV", groups=("S0OTHER", "S0DEVS"))
    assert d.allowed
    assert d.matched_rule == "binding #2 (groups) → viewer → allow ps"
    assert not check(policy, "U0DEV", "ps", channel="C0OPS", groups=("S0DEVS",)).allowed
    assert not check(policy, "U0DEV", "ps", channel="C0DEV", groups=("S0OTHER",)).allowed


def test_roles_from_several_bindings_add_up() -> None:
    policy = make_policy(
        after='[[rbac.bindings]]\nrole = "admin"\ngroups = ["S0DEVS"]\nchannels = ["C0OPS"]\n'
    )
    roles = roles_for(policy, user_id="U0OPS", user_groups=("S0DEVS",), channel_id="C0OPS")
    assert roles == ("operator", "admin")
    assert roles_for(policy, user_id="U0OPS", user_groups=("S0DEVS",), channel_id="C0DEV") == (
        "operator",
        "viewer",
    )


def test_default_role_applies_to_everyone() -> None:
    policy = make_policy('[rbac]\ndefault_role = "viewer"\n')
    ps = check(policy, "U0NOBODY", "ps")
    assert ps.allowed
    assert ps.roles == ("viewer",)
    assert ps.matched_rule == "default_role → viewer → allow ps"
    stop = check(policy, "U0NOBODY", "stop")
    assert not stop.allowed
    assert "you have viewer in this channel" in stop.reason
    # a binding's role comes first, and the default role is not listed twice
    assert check(policy, "U0VIEW", "ps").roles == ("viewer",)
    assert check(policy, "U0OPS", "ps").roles == ("operator", "viewer")


def test_verb_no_role_allows() -> None:
    policy = parse_config(
        tomllib.loads(
            # Built-in roles replaced, so that no role at all allows rm.
            "".join(f'[rbac.roles.{r}]\nallow = ["ps"]\n' for r in ("viewer", "operator", "admin", "v"))
            + '[[rbac.bindings]]\nrole = "v"\nusers = ["U0A"]\n'
        ),
        "dockbolt.toml",
        CATALOG,
    ).policy
    d = check(policy, "U0A", "rm")
    assert not d.allowed
    assert d.reason == "not allowed: no role allows `rm`"


def test_allowed_verbs_are_sorted_and_expanded() -> None:
    policy = make_policy()
    assert allowed_verbs(policy, ["viewer"]) == tuple(sorted((*OPEN_VERBS, *VIEWER_VERBS)))
    assert allowed_verbs(policy, ["admin"]) == tuple(sorted(VERBS))
    assert allowed_verbs(policy, []) == tuple(sorted(OPEN_VERBS))
    # without known verbs the wildcard cannot be expanded, so it is shown as is
    bare = Policy(roles={"admin": Role("admin", allow=("*",))})
    assert allowed_verbs(bare, ["admin"]) == ("*",)


def test_hand_built_cyclic_policy_does_not_loop() -> None:
    roles = {"a": Role("a", allow=("ps",), inherits=("b",)), "b": Role("b", inherits=("a",))}
    policy = Policy(roles=roles, bindings=(Binding("b", users=frozenset({"U0A"})),))
    assert check(policy, "U0A", "ps").allowed
    assert not check(policy, "U0A", "rm").allowed


def test_binding_to_an_undefined_role_grants_nothing() -> None:
    policy = Policy(bindings=(Binding("ghost", users=frozenset({"U0A"})),))
    assert not check(policy, "U0A", "ps").allowed


def test_referenced_groups() -> None:
    policy = make_policy('[[rbac.bindings]]\nrole = "admin"\ngroups = ["S0ADMINS", "S0DEVS"]\n')
    assert referenced_groups(policy) == frozenset({"S0DEVS", "S0ADMINS"})
    assert referenced_groups(Policy()) == frozenset()


@pytest.mark.parametrize(("user", "verb", "allowed"), [("U0OPS", "stop", True), ("U0VIEW", "stop", False)])
def test_decision_log_line_is_one_json_object(user: str, verb: str, allowed: bool) -> None:
    d = check(make_policy(), user, verb, channel="C0X")
    line = decision_log_line(d)
    assert "\n" not in line
    record = json.loads(line)
    assert record == {
        "event": "authz",
        "allowed": allowed,
        "user": user,
        "channel": "C0X",
        "verb": verb,
        "roles": list(d.roles),
        "rule": d.matched_rule,
    }
