"""The deploy's pure parts: the ``[apps]`` config, image tags, the container switch, the worker's check.

The switch runs against a small in-memory engine (a ``RecordingDocker`` whose inspect documents follow
run, rename, remove, stop and start) and a fake clock, so health timeouts pass without waiting.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pytest

from bot.parsing import parse_run_words
from bot.verbs import CATALOG
from dockbolt.core.apps import AppConfig
from dockbolt.core.args import DeployArgs, HealthSpec, PortSpec, RestartSpec, RunArgs
from dockbolt.core.config import Config, parse_config
from dockbolt.core.deploys import WEBHOOK_USER
from dockbolt.core.errors import ConfigError, DockerError, TargetNotFound
from tests.support.recording_docker import RecordingDocker
from workers import deploy_switch
from workers.authz import Caller, check
from workers.deploy_switch import Switch, SwitchResult
from workers.docker_port import RunResult
from workers.handlers.deploy import tag_for

SOURCE = "dockbolt.toml"

VALID = """\
[slack]
notify_channel = "C0123456"

[build]
context_roots = ["/srv/apps"]

[apps.web]
context = "/srv/apps/web"
image = "acme/web"
container = "web-prod"
channel = "CDEPLOY1"
dockerfile = "docker/Dockerfile"
webhook_secret_env = "WEB_HOOK_SECRET"

[apps.web.run]
ports = ["8080:80", "127.0.0.1:9090:90/udp"]
env = ["MODE=prod"]
labels = ["team=web"]
memory = "256m"
restart = "unless-stopped"
read_only = true
command = "httpd -f -p 80"

[apps.web.health]
cmd = "wget -q -O- http://localhost/health"
timeout = "2m"
grace = "10s"

[apps.web.build_args]
VERSION = "1.2"

[apps.api]
context = "https://git.example.com/acme/api.git#main"
image = "registry.example.com:5000/acme/api"
"""


def parse(toml_text: str) -> Config:
    return parse_config(tomllib.loads(toml_text), SOURCE, CATALOG, parse_run_words)


def problems_of(toml_text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(toml_text)
    return info.value.problems


# --- [apps] ---------------------------------------------------------------------------------------------


def test_a_valid_app_table_parses_into_its_config_with_run_options_read_like_run() -> None:
    web = parse(VALID).apps["web"]
    assert web == AppConfig(
        name="web", context="/srv/apps/web", image="acme/web", container="web-prod",
        run=RunArgs(image="acme/web", command=("httpd", "-f", "-p", "80"),
                    ports=(PortSpec(container_port="80", host_port="8080"),
                           PortSpec(container_port="90", host_port="9090", host_ip="127.0.0.1", proto="udp")),
                    env=("MODE=prod",), labels={"team": "web"}, memory=256 * 1024 * 1024,
                    restart=RestartSpec(name="unless-stopped"), read_only=True),
        channel="CDEPLOY1", dockerfile="docker/Dockerfile",
        health=HealthSpec(cmd=("wget", "-q", "-O-", "http://localhost/health"), timeout=120, grace=10),
        build_args={"VERSION": "1.2"}, webhook_secret_env="WEB_HOOK_SECRET")


def test_an_app_without_channel_or_options_gets_the_defaults_and_notify_channel() -> None:
    api = parse(VALID).apps["api"]
    assert api.channel == "C0123456"  # [slack] notify_channel
    assert api.container == "api"  # the app's name
    assert api.context == "https://git.example.com/acme/api.git#main"  # any git host: the file names it
    assert api.run == RunArgs(image="registry.example.com:5000/acme/api")
    assert (api.dockerfile, api.health, dict(api.build_args), api.webhook_secret_env) == (
        "Dockerfile", HealthSpec(), {}, "")


def test_deploy_args_are_the_app_config_with_what_was_asked() -> None:
    web = parse(VALID).apps["web"]
    args = web.deploy_args(by="<@U1>", ref="v2")
    assert (args.app, args.container, args.repository, args.run, args.channel) == (
        "web", "web-prod", "acme/web", web.run, "CDEPLOY1")
    assert (args.ref, args.image, args.context, args.dockerfile, args.health, args.by) == (
        "v2", "", "/srv/apps/web", "docker/Dockerfile", web.health, "<@U1>")
    assert DeployArgs.from_dict(args.to_dict()) == args  # survives the queue


def test_every_problem_of_a_bad_app_table_is_listed_at_once() -> None:
    problems = problems_of("""\
[build]
context_roots = ["/srv/apps"]

[apps.web]
context = "/etc/web"
image = "acme/web:v1"
imgae = "acme/web"
webhook_secret_env = "WEB_HOOK_SECRET"

[apps.web.run]
ports = ["80:abc"]
privileged = true

[apps.web.health]
timeout = "soon"
""")
    assert sorted(problems) == sorted([
        f'{SOURCE}: apps.web.imgae: unknown key "imgae" (did you mean "image"?)',
        f"{SOURCE}: apps.web.context: \"/etc/web\" is not under [build] context_roots (/srv/apps)",
        f'{SOURCE}: apps.web.image: "acme/web:v1" is not an image repository like "acme/web" '
        "(no tag: the ref is)",
        f"{SOURCE}: apps.web.channel: a webhook deploy is announced here: set it (or [slack] notify_channel)",
        f'{SOURCE}: apps.web.health.timeout: "soon" is not a duration like "60s" or "2m"',
        f'{SOURCE}: apps.web.run.privileged: unknown key "privileged"',
        f"{SOURCE}: apps.web.run: invalid value `80:abc` for `--publish`: container port `abc` must be a "
        "number from 1 to 65535",
    ])


@pytest.mark.parametrize(("table", "key", "says"), [
    ('context = "/srv/apps/../etc"', "apps.web.context", "is not under [build] context_roots"),
    ('context = "ftp://git.example.com/x.git"', "apps.web.context", "only https, ssh, git and file URLs"),
    ('image = "acme/web@sha256:' + "0" * 64 + '"', "apps.web.image", "is not an image repository"),
    ('container = "-web"', "apps.web.container", "is not a container name"),
    ('channel = "#deploys"', "apps.web.channel", "is not a Slack channel id"),
    ('webhook_secret_env = "s3cr3t value"', "apps.web.webhook_secret_env", "must be the name of"),
    ('health = { grace = "5 seconds" }', "apps.web.health.grace", "is not a duration"),
    ('build_args = { VERSION = 2 }', "apps.web.build_args.VERSION", "must be NAME = \"value\""),
    ('run = { read_only = "yes" }', "apps.web.run.read_only", "must be true or false"),
    ('run = { labels = ["dockbolt.app=x"] }', "apps.web.run", "reserved"),
])
def test_each_kind_of_app_mistake_is_reported_under_its_key(table: str, key: str, says: str) -> None:
    lines = {"context": 'context = "/srv/apps/web"', "image": 'image = "acme/web"'}
    lines[table.partition(" ")[0]] = table  # the line under test replaces a good one, or is added
    problems = problems_of('[build]\ncontext_roots = ["/srv/apps"]\n[apps.web]\n' + "\n".join(lines.values())
                           + "\n")
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{SOURCE}: {key}: ") and says in problems[0], problems


def test_the_channel_can_be_left_out_when_notify_channel_is_set() -> None:
    text = ('[slack]\nnotify_channel = "G0SECRET"\n[apps.web]\ncontext = "https://git.example.com/w.git"\n'
            'image = "acme/web"\nwebhook_secret_env = "WEB_HOOK_SECRET"\n')
    assert parse(text).apps["web"].channel == "G0SECRET"


# --- tags -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ref", "commit", "tag"), [
    ("v2", "0123456789abcdef0123", "v2"),
    ("feature/login", "0123456789abcdef0123", "feature-login"),
    ("0123456789abcdef0123456789abcdef01234567", "0123456789abcdef0123456789abcdef01234567", "0123456789ab"),
    ("abc1234", "abc1234def", "abc1234"),
    ("", "fedcba9876543210fedc", "fedcba987654"),
    ("", "", "latest"),
    ("release/" + "x" * 200, "", ("release-" + "x" * 200)[:128]),
])
def test_tag_for(ref: str, commit: str, tag: str) -> None:
    assert tag_for(ref, commit) == tag


# --- the switch -----------------------------------------------------------------------------------------


class FakeTime:
    """Stands in for ``time`` in workers.deploy_switch: sleeping moves the clock, nothing waits."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Engine(RecordingDocker):
    """A RecordingDocker whose inspect documents follow what is done to the containers."""

    def __init__(self, **containers: tuple[str, bool]) -> None:
        super().__init__()
        self.documents = {name.replace("_", "-"): self._doc(image, running)
                          for name, (image, running) in containers.items()}
        self.exec_results: list[tuple[int, str]] = []  # answered in turn, then ``exec_result``
        self.starts_running = True

    @staticmethod
    def _doc(image: str, running: bool) -> dict[str, Any]:
        return {"Image": image, "State": {"Running": running, "ExitCode": 0 if running else 137}}

    def _there(self, name: str) -> dict[str, Any]:
        if name not in self.documents:
            raise TargetNotFound(f"No such container: {name}")
        return self.documents[name]

    def inspect(self, name: str) -> dict[str, Any]:
        try:
            return super().inspect(name)
        except KeyError:
            raise TargetNotFound(f"No such object: {name}") from None

    def run(self, spec: Any, labels: Mapping[str, str]) -> RunResult:
        result = super().run(spec, labels)
        self.documents[spec.name] = self._doc(spec.image, self.starts_running)
        return result

    def rename(self, name: str, new_name: str) -> None:
        super().rename(name, new_name)
        self.documents[new_name] = self._there(name)
        del self.documents[name]

    def remove(self, name: str, force: bool = False) -> None:
        super().remove(name, force)
        self._there(name)
        del self.documents[name]

    def stop(self, name: str, timeout: int | None = None) -> None:
        super().stop(name, timeout)
        self._there(name)["State"] = {"Running": False, "ExitCode": 137}

    def start(self, name: str) -> None:
        super().start(name)
        self._there(name)["State"] = {"Running": True, "ExitCode": 0}

    def exec(self, name: str, cmd: Sequence[str]) -> tuple[int, str]:
        answer = super().exec(name, cmd)
        return self.exec_results.pop(0) if self.exec_results else answer

    def actions(self) -> list[tuple[Any, ...]]:
        """What changed the engine, in order (a run as its name and image); inspect and exec left out."""
        out: list[tuple[Any, ...]] = []
        for call in self.calls:
            if call[0] == "run":
                out.append(("run", call[1].name, call[1].image))
            elif call[0] in ("rename", "stop", "start"):
                out.append(call[:3] if call[0] == "rename" else call[:2])
            elif call[0] == "remove":
                out.append(call[:2])
        return out

    def state(self) -> dict[str, tuple[str, bool]]:
        """Each container: its image and whether it runs."""
        return {name: (doc["Image"], bool(doc["State"]["Running"])) for name, doc in self.documents.items()}


HEALTH = HealthSpec(cmd=("check", "--ready"), timeout=30)
PUBLISHED = RunArgs(image="acme/web:v2", ports=(PortSpec(container_port="80", host_port="8080"),))
UNPUBLISHED = RunArgs(image="acme/web:v2", ports=(PortSpec(container_port="80"),))  # docker picks the port


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(deploy_switch, "time", fake)
    monkeypatch.setattr(deploy_switch, "HEALTH_POLL", 1.0)
    return fake


def switch(engine: Engine, spec: RunArgs, health: HealthSpec = HEALTH) -> tuple[SwitchResult, list[str]]:
    steps: list[str] = []
    result = Switch(engine, "web", spec, {"dockbolt.app": "web"}, health, steps.append).run()
    return result, steps


def test_stop_first_when_ports_are_fixed_the_old_one_is_kept_as_previous(clock: FakeTime) -> None:
    engine = Engine(web=("acme/web:v1", True), web_previous=("acme/web:v0", False))
    result, _ = switch(engine, PUBLISHED)
    assert (result.outcome, result.reason) == ("succeeded", "")
    assert engine.actions() == [
        ("remove", "web-previous.old"),
        ("rename", "web-previous", "web-previous.old"),
        ("rename", "web", "web-previous"),
        ("stop", "web-previous"),
        ("run", "web", "acme/web:v2"),
        ("remove", "web-previous.old"),  # the one before goes once the new one is healthy
    ]
    assert engine.called("exec") == [("web", ("check", "--ready"))]
    assert engine.called("run")[0][1] == {"dockbolt.app": "web"}
    assert engine.state() == {"web": ("acme/web:v2", True), "web-previous": ("acme/web:v1", False)}
    assert {"start", "health", "switch"} <= set(result.phases)


def test_the_health_command_is_retried_until_it_exits_0(clock: FakeTime) -> None:
    engine = Engine(web=("acme/web:v1", True))
    engine.exec_results = [(1, "starting"), (7, "still starting"), (0, "ok")]
    result, _ = switch(engine, UNPUBLISHED)
    assert result.outcome == "succeeded"
    assert len(engine.called("exec")) == 3
    assert clock.now == 1002.0  # two polls, one second apart
    assert engine.state() == {"web": ("acme/web:v2", True), "web-previous": ("acme/web:v1", False)}


def test_stop_first_health_failure_puts_the_old_one_and_the_one_before_back(clock: FakeTime) -> None:
    engine = Engine(web=("acme/web:v1", True), web_previous=("acme/web:v0", False))
    engine.exec_result = (1, "connection refused\n")
    result, steps = switch(engine, PUBLISHED, replace(HEALTH, timeout=3))
    assert result.outcome == "rolled back"
    assert "did not pass within 3 s" in result.reason and "connection refused" in result.reason
    assert "rolling back…" in steps
    assert engine.actions() == [
        ("remove", "web-previous.old"),
        ("rename", "web-previous", "web-previous.old"),
        ("rename", "web", "web-previous"),
        ("stop", "web-previous"),
        ("run", "web", "acme/web:v2"),
        ("remove", "web"),
        ("rename", "web-previous", "web"),
        ("start", "web"),
        ("rename", "web-previous.old", "web-previous"),
    ]
    assert len(engine.called("exec")) > 1  # retried until the timeout
    assert engine.state() == {"web": ("acme/web:v1", True), "web-previous": ("acme/web:v0", False)}


def test_an_engine_refusing_to_stop_the_old_one_leaves_it_serving_as_it_was(clock: FakeTime) -> None:
    engine = Engine(web=("acme/web:v1", True), web_previous=("acme/web:v0", False))
    engine.fail("stop", DockerError("cannot stop container: permission denied"), name="web-previous")
    with pytest.raises(DockerError, match="permission denied"):
        switch(engine, PUBLISHED)
    assert engine.called("run") == []
    assert engine.state() == {"web": ("acme/web:v1", True), "web-previous": ("acme/web:v0", False)}


def test_stop_first_start_failure_rolls_back_in_dockers_words(clock: FakeTime) -> None:
    engine = Engine(web=("acme/web:v1", True))
    engine.fail("run", DockerError("port is already allocated"), name="web")
    result, _ = switch(engine, PUBLISHED)
    assert result.outcome == "rolled back"
    assert "did not start" in result.reason and "port is already allocated" in result.reason
    assert engine.called("exec") == []
    assert engine.state() == {"web": ("acme/web:v1", True)}


def test_a_new_container_that_exits_fails_its_check_at_once(clock: FakeTime) -> None:
    engine = Engine(web=("acme/web:v1", True))
    engine.starts_running = False
    result, _ = switch(engine, PUBLISHED)
    assert result.outcome == "rolled back" and "exited" in result.reason
    assert engine.called("exec") == []
    assert engine.state() == {"web": ("acme/web:v1", True)}


def test_start_first_checks_next_while_the_old_one_serves_then_switches(clock: FakeTime) -> None:
    engine = Engine(web=("acme/web:v1", True), web_previous=("acme/web:v0", False))
    result, _ = switch(engine, UNPUBLISHED)
    assert result.outcome == "succeeded"
    assert engine.actions() == [
        ("remove", "web-next"),
        ("run", "web-next", "acme/web:v2"),
        ("remove", "web-previous"),
        ("stop", "web"),
        ("rename", "web", "web-previous"),
        ("rename", "web-next", "web"),
    ]
    assert engine.called("exec") == [("web-next", ("check", "--ready"))]
    assert engine.state() == {"web": ("acme/web:v2", True), "web-previous": ("acme/web:v1", False)}


def test_start_first_failure_never_touches_the_running_container(clock: FakeTime) -> None:
    engine = Engine(web=("acme/web:v1", True), web_previous=("acme/web:v0", False))
    engine.exec_result = (1, "")
    result, _ = switch(engine, UNPUBLISHED, replace(HEALTH, timeout=2))
    assert result.outcome == "rolled back"
    assert "did not pass within 2 s" in result.reason
    assert engine.actions() == [("remove", "web-next"), ("run", "web-next", "acme/web:v2"),
                                ("remove", "web-next")]
    assert all(c[1] == "web-next" for c in engine.calls if c[0] in ("stop", "rename", "remove", "start"))
    assert engine.state() == {"web": ("acme/web:v1", True), "web-previous": ("acme/web:v0", False)}


@pytest.mark.parametrize("spec", [PUBLISHED, UNPUBLISHED], ids=["stop-first", "start-first"])
def test_without_an_old_container_a_failed_check_is_a_failure(spec: RunArgs, clock: FakeTime) -> None:
    engine = Engine()
    engine.exec_result = (2, "boom")
    result, _ = switch(engine, spec, replace(HEALTH, timeout=1))
    assert result.outcome == "failed"
    assert "boom" in result.reason
    assert not any(c[0] in ("stop", "rename", "start") for c in engine.calls)
    assert engine.state() == {}  # the new one is removed, nothing else was there


# --- the worker's check of a deploy job ------------------------------------------------------------------

AUTHZ = """\
[apps.web]
context = "https://git.example.com/acme/web.git"
image = "acme/web"
channel = "CDEPLOY1"
webhook_secret_env = "WEB_HOOK_SECRET"

[apps.web.run]
ports = ["8080:80"]

[[rbac.bindings]]
role = "deployer"
users = ["UDEP"]
"""


@pytest.fixture
def authz_config() -> Config:
    return parse(AUTHZ)


def nobody_there() -> RecordingDocker:
    docker = RecordingDocker()
    docker.fail("inspect", TargetNotFound("No such container: web"))
    return docker


def test_a_deploy_job_equal_to_the_app_config_is_allowed_for_a_deployer(authz_config: Config) -> None:
    args = authz_config.apps["web"].deploy_args(by="<@UDEP>", ref="v2")
    decision = check(authz_config.policy, Caller("UDEP", (), "C1", "deploy"), args, nobody_there(),
                     authz_config.apps)
    assert decision.allowed, decision


@pytest.mark.parametrize("change", [
    {"run": RunArgs(image="acme/web", privileged=True)},
    {"container": "db"},
    {"repository": "evil/web"},
    {"channel": "CELSEWHERE"},
    {"health": HealthSpec(cmd=("true",))},
])
def test_a_deploy_job_that_differs_from_the_app_config_is_refused(authz_config: Config,
                                                                   change: dict[str, Any]) -> None:
    args = replace(authz_config.apps["web"].deploy_args(by="<@UDEP>", ref="v2"), **change)
    for user in ("UDEP", WEBHOOK_USER):
        decision = check(authz_config.policy, Caller(user, (), "C1", "deploy"), args, nobody_there(),
                         authz_config.apps)
        assert not decision.allowed
        assert "does not match this worker's [apps] config" in decision.reason


def test_a_deploy_of_an_app_the_worker_does_not_know_is_refused(authz_config: Config) -> None:
    args = replace(authz_config.apps["web"].deploy_args(by="<@UDEP>"), app="api")
    decision = check(authz_config.policy, Caller("UDEP", (), "C1", "deploy"), args, nobody_there(),
                     authz_config.apps)
    assert not decision.allowed and "`api` is not in this worker's [apps] config" in decision.reason


def test_the_webhook_may_deploy_without_roles_but_never_roll_back(authz_config: Config) -> None:
    app = authz_config.apps["web"]
    deploy = check(authz_config.policy, Caller(WEBHOOK_USER, (), "CDEPLOY1", "deploy"),
                   app.deploy_args(by="CI (webhook)", ref="v2"), nobody_there(), authz_config.apps)
    assert deploy.allowed and deploy.matched_rule == "webhook"
    rollback = check(authz_config.policy, Caller(WEBHOOK_USER, (), "CDEPLOY1", "rollback"),
                     app.deploy_args(by="CI (webhook)"), nobody_there(), authz_config.apps)
    assert not rollback.allowed and "the webhook only deploys" in rollback.reason


@pytest.mark.parametrize(("toml", "image", "why"), [
    (AUTHZ, "evil/miner:1", "the webhook only deploys images of acme/web"),
    (AUTHZ.replace('webhook_secret_env = "WEB_HOOK_SECRET"\n', ""), "", "apps with a webhook_secret_env"),
])
def test_the_webhook_deploys_only_its_apps_own_images_and_only_apps_that_take_webhooks(
        toml: str, image: str, why: str) -> None:
    config = parse(toml)
    args = config.apps["web"].deploy_args(by="CI (webhook)", image=image, ref="" if image else "v2")
    decision = check(config.policy, Caller(WEBHOOK_USER, (), "CDEPLOY1", "deploy"), args, nobody_there(),
                     config.apps)
    assert not decision.allowed and why in decision.reason, decision


def test_a_user_without_a_deploy_role_is_refused_a_matching_job(authz_config: Config) -> None:
    args = authz_config.apps["web"].deploy_args(by="<@UOTHER>", ref="v2")
    decision = check(authz_config.policy, Caller("UOTHER", (), "C1", "deploy"), args, nobody_there(),
                     authz_config.apps)
    assert not decision.allowed
