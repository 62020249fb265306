"""What a card offers (buttons, menus, confirm dialogs), and the approval rules and store (real Redis)."""

from __future__ import annotations

import threading

import pytest
from redis import Redis

from dockbolt.core.approvals import (
    ApprovalRequest,
    ApprovalRule,
    ApprovalStore,
    needs_confirm,
    parse_approvals,
    parse_confirm,
    rule_for,
)
from dockbolt.core.buttons import (
    ACTION_CONFIRMED,
    ACTION_RUN,
    Button,
    action_name,
    actions_block,
    container_buttons,
    container_menu,
    retry_button,
)

VERBS = ("ps", "rm", "stop", "deploy", "logs")


def test_a_running_container_offers_logs_restart_and_a_stop_that_asks() -> None:
    block = actions_block(container_buttons("web", running=True, host="db1"))
    labels = [e["text"]["text"] for e in block["elements"]]
    assert labels == ["Logs", "Restart", "Stop"]
    logs, restart, stop = block["elements"]
    assert logs["value"] == "@db1 logs web --tail 50" and restart["value"] == "@db1 restart web"
    assert action_name(stop["action_id"]) == ACTION_CONFIRMED
    assert stop["confirm"]["text"]["text"] == "Stop `web`?"
    assert "confirm" not in restart and len({e["action_id"] for e in block["elements"]}) == 3


def test_a_stopped_container_offers_start() -> None:
    assert [b.label for b in container_buttons("web", running=False)] == ["Logs", "Start"]


def test_a_list_gets_two_menus_and_only_the_stop_menu_asks() -> None:
    block = actions_block(container_menu(iter([("web", True), ("old", False)]), host="db1"))
    run, stop = block["elements"]
    assert (run["type"], action_name(run["action_id"]), "confirm" in run) == ("static_select", ACTION_RUN,
                                                                               False)
    groups = [(g["label"]["text"], [o["text"]["text"] for o in g["options"]]) for g in run["option_groups"]]
    assert groups == [("web", ["Logs", "Restart"]), ("old", ["Logs", "Start"])]
    assert action_name(stop["action_id"]) == ACTION_CONFIRMED and stop["confirm"]
    assert [o["value"] for g in stop["option_groups"] for o in g["options"]] == ["@db1 stop web"]


def test_retry_repeats_the_command_on_its_host_unless_secrets_were_masked() -> None:
    assert [b.command for b in retry_button("restart web", "db1", masked=False)] == ["@db1 restart web"]
    assert [b.command for b in retry_button("@db2 restart web", "db2", masked=False)] == ["@db2 restart web"]
    assert retry_button("run -e A=*** nginx", "db1", masked=True) == []


def test_a_button_survives_the_outbox_round_trip() -> None:
    b = Button("Stop", "stop web", style="danger", confirm="Stop?", action=ACTION_CONFIRMED)
    assert Button.from_dict(b.to_dict()) == b


@pytest.mark.parametrize(("rule", "verb", "targets", "app", "held"), [
    (ApprovalRule(verbs=("rm",), containers=("prod-*",)), "rm", ["prod-web"], "", True),
    (ApprovalRule(verbs=("rm",), containers=("prod-*",)), "rm", ["staging-web"], "", False),
    (ApprovalRule(verbs=("rm",), containers=("prod-*",)), "stop", ["prod-web"], "", False),
    (ApprovalRule(verbs=("rm",)), "rm", ["anything"], "", True),
    (ApprovalRule(verbs=("deploy",), apps=("api",)), "deploy", ["api"], "api", True),
    (ApprovalRule(verbs=("deploy",), apps=("api",)), "deploy", ["web"], "web", False),
])
def test_which_commands_need_approval(rule: ApprovalRule, verb: str, targets: list[str], app: str,
                                      held: bool) -> None:
    assert (rule_for([rule], verb, targets, app) is not None) is held


def test_approvers_are_named_users_or_group_members() -> None:
    rule = ApprovalRule(verbs=("rm",), users=("UBOSS",), groups=("SSRE",))
    assert rule.approver("UBOSS", []) and rule.approver("UANY", ["SSRE"])
    assert not rule.approver("UANY", ["SX"])


def test_confirm_always_many_never() -> None:
    confirm = {"rm": "always", "stop": "many"}
    assert needs_confirm(confirm, "rm", 1) and needs_confirm(confirm, "stop", 2)
    assert not needs_confirm(confirm, "stop", 1) and not needs_confirm(confirm, "restart", 5)


def test_config_problems_are_each_named() -> None:
    _, problems = parse_approvals([{"verbs": ["rm", "nuke"], "approvers": {}, "expires": "soon", "x": 1}],
                                      VERBS)
    paths = sorted(p for p, _ in problems)
    assert paths == ["policy.approvals[0].approvers", "policy.approvals[0].expires",
                     "policy.approvals[0].verbs", "policy.approvals[0].x"]
    ok, none = parse_approvals([{"verbs": ["rm"], "approvers": {"users": ["U1"]}, "expires": "1h"}], VERBS)
    assert none == [] and ok[0].expires == 3600
    _, bad = parse_confirm({"rm": "sometimes", "zap": "always"}, VERBS)
    assert sorted(p for p, _ in bad) == ["policy.confirm.rm", "policy.confirm.zap"]


def request(rid: str = "r000000001") -> ApprovalRequest:
    return ApprovalRequest(request_id=rid, text="rm prod-web", shown="rm prod-web", verb="rm", user_id="U1",
                           channel_id="C1", expires_at=100.0,
                           rule=ApprovalRule(verbs=("rm",), users=("U2",), expires=60),
                           extra={"command": "/d"})


def test_a_request_round_trips_and_is_decided_exactly_once(redis_url: str) -> None:
    store = ApprovalStore(Redis.from_url(redis_url))
    store.create(request())
    assert store.get("r000000001") == request()
    assert store.due(99.0) == [] and store.due(100.0) == ["r000000001"]
    outcomes: list[str | None] = []
    threads = [threading.Thread(target=lambda: outcomes.append(store.decide("r000000001", "approved", "U2")))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("pending") == 1 and outcomes.count("approved") == 7
    decided = store.get("r000000001")
    assert decided is not None and (decided.status, decided.decided_by) == ("approved", "U2")
    assert store.due(1e12) == [] and store.decide("nope000001", "denied", "U2") is None
