"""`@host` parsing, host resolution against the real registry (Redis), host scopes, `[hosts]` config, and
the fan-out's parts (exactly one completer, the merged table)."""

from __future__ import annotations

import threading

import pytest
from redis import Redis

from bot.parsing import parse
from bot.routing import route
from bot.verbs import CATALOG
from dockbolt.core.config import HostsConfig, parse_config
from dockbolt.core.contract import JobRequest, host_queue
from dockbolt.core.errors import ConfigError, UsageError
from dockbolt.core.fanout import FanOut, Part, merge
from dockbolt.core.hosts import HostInfo, HostRegistry
from dockbolt.core.rbac import Binding, Policy, Role, authorize
from dockbolt.core.tables import Table


@pytest.fixture
def registry(redis_url: str) -> HostRegistry:
    return HostRegistry(Redis.from_url(redis_url))


@pytest.mark.parametrize(("text", "host", "verb"), [
    ("@db1 ps -a", "db1", "ps"), ("@all ps", "all", "ps"), ("@ALL images", "all", "images"),
    ("@db-1.prod stop web", "db-1.prod", "stop"), ("ps", "", "ps"),
    ("@db1 stop --help", "", "help"),  # help is answered wherever
])
def test_at_host_is_the_first_word(text: str, host: str, verb: str) -> None:
    cmd = parse(text)
    assert (cmd.host, cmd.verb) == (host, verb)


@pytest.mark.parametrize(("text", "error"), [
    ("@all stop web", "`@all` works with `images`, `ps`, `stats`"),
    ("@db1 whoami", "`whoami` is answered by the bot, not run on a host"),
    ("@x/y ps", "cannot name a host"),
    ("@ ps", "cannot name a host"),
    ("@all stats web --since 1h", "`--since` charts one container on one host"),
])
def test_bad_host_words_are_usage_errors(text: str, error: str) -> None:
    with pytest.raises(UsageError) as err:
        parse(text)
    assert error in str(err.value)


def test_routing_names_the_one_live_host_and_refuses_the_rest(registry: HostRegistry) -> None:
    none = HostsConfig()
    assert "no worker has registered yet" in route("", "C1", "ps", True, none, registry).refusal
    registry.beat(HostInfo(name="db1"), "w1")
    assert route("", "C1", "ps", True, none, registry).hosts == ("db1",)
    assert route("db1", "C1", "ps", True, none, registry).hosts == ("db1",)
    assert "Unknown Docker host `db2`" in route("db2", "C1", "ps", True, none, registry).refusal
    registry.beat(HostInfo(name="db2"), "w2")
    asked = route("", "C1", "stop", False, none, registry).refusal
    assert "Which host? 2 Docker hosts are live: `db1`, `db2`" in asked and "@all" not in asked
    assert route("", "C1", "stop", False, HostsConfig(channels={"C1": "db2"}), registry).hosts == ("db2",)
    fan = route("all", "C1", "ps", True, none, registry)
    assert fan.hosts == ("db1", "db2") and fan.fan_out
    registry.leave("db1", "w1")
    refused = route("db1", "C1", "ps", True, none, registry).refusal
    assert "No worker is serving `db1` (last seen" in refused
    assert route("all", "C1", "ps", True, none, registry).hosts == ("db2",)
    assert route("", "C1", "ps", True, none, registry).hosts == ("db2",)  # the one live host


def test_a_hosts_scope_covers_only_its_hosts() -> None:
    policy = Policy(roles={"op": Role("op", allow=("ps",))},
                    bindings=(Binding("op", users=frozenset({"U1"}), hosts=("prod-*",)),))

    def ask(host: str) -> str:
        return authorize(policy, user_id="U1", user_groups=(), channel_id="C", verb="ps", host=host).reason

    assert ask("prod-1").startswith("allowed")
    assert ask("db1") == "not allowed: host `db1` is outside your hosts scope (prod-*)"
    assert ask("").startswith("allowed")  # bot-answered verbs name no host


def test_hosts_config_and_binding_scopes_are_checked() -> None:
    config = parse_config({"hosts": {"channels": [{"channel": "C0123", "host": "db1"}]},
                           "rbac": {"bindings": [{"role": "viewer", "users": ["U1"], "hosts": ["db*"]}]}},
                          "t.toml", CATALOG)
    assert config.hosts.channels == {"C0123": "db1"}
    assert config.policy.bindings[0].hosts == ("db*",)
    with pytest.raises(ConfigError) as err:
        parse_config({"hosts": {"channels": [{"channel": "nope", "host": "all"},
                                             {"channel": "C0123"}]}}, "t.toml", CATALOG)
    text = str(err.value)
    assert "hosts.channels[0].channel" in text and "hosts.channels[0].host" in text
    assert "hosts.channels[1].host: missing" in text


def test_a_job_names_its_host_queue_and_a_bad_host_is_refused() -> None:
    job = JobRequest(job_id="j1", verb="ps", args={}, user_id="U", channel_id="C", command_text="ps",
                     host="db1")
    assert job.queue == host_queue("db1") == "dockbolt-host-db1"
    assert JobRequest.from_dict(job.to_dict()) == job
    with pytest.raises(ValueError, match="cannot name a host"):
        JobRequest(job_id="j2", verb="ps", args={}, user_id="U", channel_id="C", command_text="ps",
                   host="all")


def test_exactly_one_of_racing_parts_completes_the_fan_out(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    hosts = [f"h{i}" for i in range(8)]
    pipe = redis.pipeline()
    FanOut(redis).open("p1", hosts, pipe)
    pipe.execute()
    results: list[list[Part] | None] = []
    threads = [threading.Thread(target=lambda h=h: results.append(
        FanOut(Redis.from_url(redis_url)).complete("p1", Part(host=h, ok=True, text=h)))) for h in hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = [r for r in results if r is not None]
    assert len(done) == 1 and [p.host for p in done[0]] == hosts
    assert FanOut(redis).complete("p1", Part(host="h0", ok=False, text="again")) is None  # once per host


def test_merge_puts_every_host_under_a_host_column() -> None:
    a = Part("a", True, "1 running container.", Table.of(("ID", "NAMES"), [("1", "web")]))
    b = Part("b", False, "Docker unreachable")
    c = Part("c", True, "2 running containers.", Table.of(("ID", "NAMES"), [("2", "db"), ("3", "q")]))
    text, grid = merge([a, b, c])
    assert text.splitlines() == ["3 hosts:", "• `a`: 1 running container.", "• `b`: Docker unreachable",
                                 "• `c`: 2 running containers."]
    assert grid is not None and grid.headers == ("HOST", "ID", "NAMES")
    assert grid.rows == (("a", "1", "web"), ("c", "2", "db"), ("c", "3", "q"))
    assert merge([b]) == ("1 host:\n• `b`: Docker unreachable", None)


def test_merge_of_hosts_with_nothing_to_list_has_no_table() -> None:
    """`@all ps` where no host runs a container: each host's line says so, and no empty table with a
    header row follows (a single host's `ps` shows none either)."""
    empty = Table.of(("ID", "NAMES"), [])
    none = "No running containers."
    parts = [Part("a", True, none, empty), Part("b", True, none, empty)]
    assert merge(parts) == ("2 hosts:\n• `a`: No running containers.\n• `b`: No running containers.", None)
    c = Part("c", True, "1 running container.", Table.of(("ID", "NAMES"), [("1", "web")]))
    _, grid = merge([parts[0], c])
    assert grid is not None and grid.rows == (("c", "1", "web"),)
