"""`service …` and `node ls`: parsing and validation of every subcommand, the args contract, and who may
run what (roles per subcommand, scopes on service names, `run`'s guardrails) — as the bot and the worker
both decide it (``run_requirements`` + ``authorize``)."""

from __future__ import annotations

import tomllib

import pytest

from bot.parsing import parse, parse_run_words
from bot.verbs import CATALOG, QUEUED_VERBS, VERBS
from dockbolt.core.args import NoArgs, PortSpec, RunArgs
from dockbolt.core.config import parse_config
from dockbolt.core.errors import ConfigError, UsageError
from dockbolt.core.rbac import Decision, Policy, authorize
from dockbolt.core.redact import Redactor
from dockbolt.core.scopes import run_requirements
from dockbolt.core.service_args import ServiceArgs, ServiceSpec, UpdatePolicy

IMAGE = "acme/web:1"


def service(text: str) -> ServiceArgs:
    cmd = parse(text)
    assert cmd.verb == "service"
    assert isinstance(cmd.args, ServiceArgs)
    return cmd.args


def refused(text: str) -> str:
    with pytest.raises(UsageError) as err:
        parse(text)
    return str(err.value)


# --- parsing -------------------------------------------------------------------------------------------


def test_read_subcommands() -> None:
    assert service("service ls") == ServiceArgs("ls")
    assert service("service ps web api") == ServiceArgs("ps", names=("web", "api"))
    assert service("service logs web") == ServiceArgs("logs", names=("web",), tail=100)
    assert service("service logs -n 5 web").tail == 5
    assert service("service logs --tail all web").tail is None
    assert service("SERVICE LS") == ServiceArgs("ls")  # verbs and subcommands are not case-sensitive


def test_changing_subcommands() -> None:
    assert service("service scale web=3 api=0").replicas == {"web": 3, "api": 0}
    assert service("service rollback web") == ServiceArgs("rollback", names=("web",))
    assert service("service rm web api") == ServiceArgs("rm", names=("web", "api"))
    update = service("service update --image acme/web:2 --update-parallelism 2 --update-delay 1m30s "
                     "--update-order start-first --update-failure-action rollback web")
    assert update == ServiceArgs("update", names=("web",), image="acme/web:2",
                                 update=UpdatePolicy(2, 90, "start-first", "rollback"))
    assert service("service update web").image == ""


def test_create_takes_docker_cli_flags_and_keeps_the_command_verbatim() -> None:
    args = service("service create --name web --replicas 2 -p 8080:80 -p 53/udp -e MODE=prod -e TOKEN "
                   "--limit-cpu 0.5 --limit-memory 64m --reserve-cpu 0.25 --reserve-memory 32m "
                   "--constraint node.role==manager --update-order stop-first "
                   f"{IMAGE} sh -c 'echo --name $MODE'")
    assert args.spec == ServiceSpec(
        run=RunArgs(image=IMAGE, command=("sh", "-c", "echo --name $MODE"), name="web",
                    ports=(PortSpec("80", "8080", "0.0.0.0"), PortSpec("53", "", "0.0.0.0", "udp")),
                    env=("MODE=prod",), secret_env=("TOKEN",), memory=64 << 20, nano_cpus=500_000_000),
        replicas=2, reserve_memory=32 << 20, reserve_nano_cpus=250_000_000,
        constraints=("node.role==manager",), update=UpdatePolicy(order="stop-first"))


@pytest.mark.parametrize(("text", "says"), [
    ("service", "needs at least 1 argument"),
    ("service inspect web", "unknown subcommand `inspect` (use ls, ps, logs, scale"),
    ("service ls web", "takes no arguments"),
    ("service ps", "needs at least 1 argument"),
    ("service logs a b", "takes exactly 1 argument"),
    ("service logs -n x web", "must be a number of lines"),
    ("service scale web", "`web`: scale takes SERVICE=REPLICAS pairs"),
    ("service scale web=-1", "must be a whole number"),
    ("service scale =3", "scale takes SERVICE=REPLICAS pairs"),
    ("service update --image Bad:Tag web", "must be lowercase"),
    ("service update --update-order sideways web", "use start-first or stop-first"),
    ("service update --update-failure-action retry web", "use pause or continue or rollback"),
    ("service update --update-delay soon web", "must be a duration"),
    ("service update a b", "takes exactly 1 argument"),
    ("service rollback", "takes exactly 1 argument"),
    ("service create --name web_1 busybox", "invalid service name `web_1`"),
    ("service create -p 127.0.0.1:8080:80 busybox", "Swarm's routing mesh"),
    ("service create --constraint role=manager busybox", "use node.KEY==VALUE"),
    ("service create --limit-memory 1k busybox", "minimum memory limit"),
    ("service create --replicas two busybox", "must be a whole number"),
    ("service create -l a=b busybox", "unknown shorthand flag: `l`"),
    ("service create", "needs at least 1 argument"),
    ("service rm", "needs at least 1 argument"),
    ("service rm 'web;rm'", "is not a valid service name or id"),
])
def test_bad_input_is_refused_with_the_subcommands_usage(text: str, says: str) -> None:
    assert says in refused(text)


def test_usage_of_a_subcommand_is_its_own() -> None:
    with pytest.raises(UsageError) as err:
        parse("service scale --help")
    assert err.value.usage == "service scale NAME=N…"
    with pytest.raises(UsageError) as err:
        parse("service ps")
    assert (str(err.value), err.value.usage) == ("`service ps` needs at least 1 argument", "service ps NAME…")


def test_node_ls() -> None:
    assert parse("node ls").args == NoArgs()
    assert "use `node ls`" in refused("node rm")
    assert "takes exactly 1 argument" in refused("node ls n1")


def test_args_cross_the_queue_unchanged() -> None:
    for text in ("service ls", "service scale a=1", "service logs -n all web", "service rm a b",
                 f"service create --name web -p 80 -e A=1 --update-failure-action pause {IMAGE} x y",
                 "service update --image a/b:2 --update-delay 0s web"):
        args = service(text)
        assert ServiceArgs.from_dict(args.to_dict()) == args


def test_each_subcommand_is_a_verb_name_roles_can_allow() -> None:
    subs = {v for v in VERBS if v.startswith("service-")}
    assert subs == {f"service-{a}" for a in ("ls", "ps", "logs", "scale", "update", "rollback", "create",
                                             "rm")}
    assert {"service", "node"} | subs <= QUEUED_VERBS
    reads = ("service", "service-ls", "service-ps", "service-logs", "node")
    assert {CATALOG[v] for v in reads} == {"viewer"}
    assert {CATALOG[v] for v in subs - set(reads)} == {"operator"}


def test_a_subcommand_typed_under_its_own_name_is_the_same_command() -> None:
    cmd = parse("service-rm web")
    assert (cmd.verb, cmd.args) == ("service-rm", ServiceArgs("rm", names=("web",)))
    assert decide("service-rm web", "UOPS").allowed and not decide("service-rm web", "UVIEW").allowed


def test_env_values_are_masked_in_the_command_shown() -> None:
    shown = Redactor().redact_command(f"service create -e TOKEN=hunter2 --env MODE=prod {IMAGE}")
    assert "hunter2" not in shown and "prod" not in shown and "TOKEN=" in shown


# --- authorization -------------------------------------------------------------------------------------

CONFIG = """
[[rbac.bindings]]
role = "viewer"
users = ["UVIEW"]

[[rbac.bindings]]
role = "operator"
users = ["UOPS"]

[[rbac.bindings]]
role = "operator"
users = ["USTAGE"]
containers = ["staging-*"]
images = ["acme/*"]

[[rbac.bindings]]
role = "scaler"
users = ["USCALE"]

[[rbac.bindings]]
role = "lister"
users = ["ULIST"]

[[rbac.bindings]]
role = "publisher"
users = ["UPUB"]

[rbac.roles.scaler]
allow = ["service", "service-scale"]

[rbac.roles.lister]
allow = ["service-ls"]

[rbac.roles.publisher]
inherits = ["operator"]
grants = ["public-ports"]
"""


def policy(extra: str = "") -> Policy:
    return parse_config(tomllib.loads(CONFIG + extra), "d.toml", CATALOG).policy


def decide(text: str, user: str, pol: Policy | None = None) -> Decision:
    pol = pol or policy()
    cmd = parse(text)
    needs, targets = run_requirements(cmd.args, pol.guardrails)
    return authorize(pol, user_id=user, user_groups=(), channel_id="C1", verb=cmd.verb, needs=needs,
                     targets=targets)


READS = ("service ls", "service ps web", "service logs web", "node ls")
CHANGES = ("service scale web=2", "service update --image acme/web:2 web", "service rollback web",
           f"service create --name web {IMAGE}", "service rm web")


@pytest.mark.parametrize("text", READS)
def test_viewers_read(text: str) -> None:
    assert decide(text, "UVIEW").allowed


@pytest.mark.parametrize("text", CHANGES)
def test_viewers_do_not_change_operators_do(text: str) -> None:
    sub = "-".join(text.split()[:2])
    denied = decide(text, "UVIEW")
    assert not denied.allowed
    assert f"`{sub}` needs a role that allows it (operator, admin" in denied.reason
    allowed = decide(text, "UOPS")
    assert allowed.allowed and allowed.reason == f"allowed: operator allows `{sub}`"


def test_a_role_needs_the_verb_and_the_subcommand() -> None:
    assert decide("service scale web=2", "USCALE").allowed
    assert not decide("service rm web", "USCALE").allowed
    lister = decide("service ls", "ULIST")  # the subcommand alone is not enough: `service` is missing
    assert not lister.allowed and "`service` needs a role that allows it" in lister.reason


def test_service_names_are_scoped_like_container_names() -> None:
    assert decide("service scale staging-web=2", "USTAGE").allowed
    assert "`prod-web` is outside your containers scope (staging-*)" in decide("service rm prod-web",
                                                                                 "USTAGE").reason
    assert "give `--name` matching staging-*" in decide(f"service create {IMAGE}", "USTAGE").reason
    assert "outside your images scope" in decide("service create --name staging-x busybox", "USTAGE").reason
    assert "outside your images scope" in decide("service update --image busybox staging-x", "USTAGE").reason


def test_published_ports_need_what_run_needs_for_every_address() -> None:
    # Swarm publishes on every address: like `run -p 0.0.0.0:8080:80`, not like `run -p 8080:80`.
    for text in (f"service create -p 8080:80 {IMAGE}", f"run -p 0.0.0.0:8080:80 {IMAGE}"):
        denied = decide(text, "UOPS")
        assert not denied.allowed and "needs the grant `public-ports`" in denied.reason, text
        assert decide(text, "UPUB").allowed
    assert decide(f"run -p 8080:80 {IMAGE}", "UOPS").allowed
    open_policy = policy('\n[policy]\npublish_address = "0.0.0.0"\n')
    assert decide(f"service create -p 8080:80 {IMAGE}", "UOPS", open_policy).allowed


def test_images_outside_the_allow_list_are_refused_as_for_run() -> None:
    pol = policy('\n[policy]\nallowed_images = ["acme/*"]\n')
    for text in ("run busybox", "service create busybox", "service update --image busybox web"):
        denied = decide(text, "UOPS", pol)
        assert not denied.allowed and "not in [policy] allowed_images (acme/*)" in denied.reason, text
    assert decide(f"service update --image {IMAGE} web", "UOPS", pol).allowed


# --- apps in service mode --------------------------------------------------------------------------------


def app(mode: str, ports: str = '["8080:80"]') -> str:
    return f"""
[build]
context_roots = ["/srv"]

[apps.web]
context = "/srv/web"
image = "acme/web"
mode = "{mode}"
run = {{ ports = {ports} }}
"""


def test_a_service_app_publishes_on_every_address_so_its_deploy_needs_public_ports() -> None:
    cfg = parse_config(tomllib.loads(CONFIG + app("service")), "d.toml", CATALOG, parse_run_words)
    deploy = cfg.apps["web"].deploy_args(by="<@UOPS>", image="acme/web:2")
    assert deploy.mode == "service" and deploy.run.ports[0].host_ip == "0.0.0.0"
    needs, _ = run_requirements(deploy, cfg.policy.guardrails)
    assert [n.grant for n in needs] == ["public-ports"]
    container = parse_config(tomllib.loads(CONFIG + app("container")), "d.toml", CATALOG, parse_run_words)
    assert container.apps["web"].deploy_args(by="x").mode == "container"


@pytest.mark.parametrize(("mode", "ports", "says"), [
    ("swarm", '["8080:80"]', 'apps.web.mode: "swarm" is not one of container, service'),
    ("service", '["127.0.0.1:8080:80"]', "apps.web.run.ports: a service is published on every address"),
])
def test_bad_service_apps_stop_start_up(mode: str, ports: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(tomllib.loads(CONFIG + app(mode, ports)), "d.toml", CATALOG, parse_run_words)
    assert says in str(err.value)
