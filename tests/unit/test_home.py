"""The App Home view (bot/home.py) built from a real Redis job store and host registry: a viewer sees their
roles, their own jobs (newest first, at most 10, with host and age) and the hosts — no more than the
`whoami`, `jobs` and `hosts` verbs show them."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from redis import Redis

from bot.home import MAX_JOBS, HomeSources, build_home
from bot.verbs import CATALOG
from dockbolt.console.render import mrkdwn
from dockbolt.core.config import parse_config
from dockbolt.core.contract import JobRequest, JobStatus
from dockbolt.core.hosts import HostInfo, HostRegistry
from dockbolt.core.jobstore import JobStore
from dockbolt.core.rbac import Policy

NOW = 1_800_000_000.0
CONFIG = """
[rbac]
default_role = ""

[[rbac.bindings]]
role = "operator"
users = ["UOPS"]
containers = ["web-*"]

[[rbac.bindings]]
role = "viewer"
groups = ["SVIEWERS"]
channels = ["CTEAM"]

[[rbac.bindings]]
role = "viewer"
users = ["UVIEW"]
"""


@pytest.fixture
def redis(redis_url: str) -> Redis:
    return Redis.from_url(redis_url)


def policy(text: str = CONFIG) -> Policy:
    return parse_config(tomllib.loads(text), "d.toml", CATALOG).policy


def record(store: JobStore, job_id: str, user: str, text: str, age: float, host: str = "db1",
           status: JobStatus | None = None) -> None:
    store.record_queued(JobRequest(job_id=job_id, verb=text.split()[0], args={}, user_id=user,
                                   channel_id="CTEAM", command_text=text, queued_at=NOW - age, host=host))
    if status is not None:
        store.set_status(job_id, status)


def home(redis: Redis, user: str, groups: frozenset[str] = frozenset(), pol: Policy | None = None
         ) -> tuple[dict[str, Any], str]:
    """The view as Slack gets it, and all its text as the console would show it."""
    src = HomeSources(policy=pol or policy(), store=JobStore(redis), hosts=HostRegistry(redis),
                      clock=lambda: NOW)
    view = build_home(src, user, groups).to_dict()
    texts = []
    for block in view["blocks"]:
        for part in [block.get("text"), *block.get("elements", [])]:
            if isinstance(part, dict):
                texts.append(mrkdwn(part["text"]))
    return view, "\n".join(texts)


def test_an_operator_sees_their_role_their_jobs_newest_first_with_host_and_age_and_the_hosts(
        redis: Redis) -> None:
    store = JobStore(redis)
    record(store, "job-old", "UOPS", "ps -a", age=7200, status=JobStatus.DONE)
    record(store, "job-new", "UOPS", "logs web-1 --tail 5", age=30, host="web1", status=JobStatus.RUNNING)
    record(store, "job-theirs", "UVIEW", "stop secret-db", age=10)
    HostRegistry(redis).beat(HostInfo.from_info("db1", {"NCPU": 4, "ContainersRunning": 2, "Containers": 3,
                                                       "ServerVersion": "27.0.1"}), "w1")
    view, text = home(redis, "UOPS")
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    assert "`operator` (binding #1 (users)) — in every channel — only containers `web-*`" in text
    assert "allows " in text and "`run`" in text and "`stop`" in text  # what operator allows
    assert "In any channel you may run:" in text and "`whoami`" in text
    new, old = text.index("`job-new`"), text.index("`job-old`")
    assert new < old  # newest first
    assert "`job-new` `logs web-1 --tail 5` — *running* on `web1` · queued 30 s ago · #CTEAM" in text
    assert "`job-old` `ps -a` — *done* on `db1` · queued 2.0 h ago" in text
    assert "job-theirs" not in text and "secret-db" not in text  # another user's job
    assert "*Docker hosts*\n• `db1`" in text
    assert "`db1` — live (1 worker) · 2/3 running · 4 CPUs" in text and "engine 27.0.1" in text
    assert "no roles" not in text


def test_at_most_ten_jobs_are_shown(redis: Redis) -> None:
    store = JobStore(redis)
    for n in range(MAX_JOBS + 3):
        record(store, f"job{n:02d}", "UVIEW", f"ps --filter n={n}", age=1000 - n)
    _, text = home(redis, "UVIEW")
    shown = [line for line in text.splitlines() if line.startswith("• `job")]
    assert len(shown) == MAX_JOBS
    assert shown[0].startswith("• `job12`") and shown[-1].startswith("• `job03`")


def test_a_user_without_a_role_sees_no_roles_and_neither_jobs_nor_hosts(redis: Redis) -> None:
    record(JobStore(redis), "job-mine", "UNOBODY", "ps", age=5)
    HostRegistry(redis).beat(HostInfo(name="db1"), "w1")
    _, text = home(redis, "UNOBODY")
    assert "You have no roles — ask an admin to bind one to your id `UNOBODY`." in text
    assert "job-mine" not in text and "db1" not in text
    assert "*Docker hosts*\nNot shown" in text
    assert "none of your roles allows `jobs`" in text and "none of your roles allows `hosts`" in text
    assert "In any channel you may run:" in text and "`help`" in text  # the open verbs, as whoami says


def test_a_channel_bound_role_is_listed_with_its_channel_but_does_not_open_the_home_sections(
        redis: Redis) -> None:
    record(JobStore(redis), "job-g", "UGROUPIE", "ps", age=5)
    HostRegistry(redis).beat(HostInfo(name="db1"), "w1")
    _, text = home(redis, "UGROUPIE", frozenset({"SVIEWERS"}))
    assert "`viewer` (binding #2 (groups)) — only in #CTEAM" in text
    assert "no roles" not in text
    assert "job-g" not in text and "• `db1` —" not in text  # `jobs`/`hosts` are allowed only in CTEAM
    # The same user without the group holds nothing.
    _, alone = home(redis, "UGROUPIE")
    assert "You have no roles" in alone


def test_a_viewer_of_jobs_who_may_not_list_hosts_sees_jobs_only(redis: Redis) -> None:
    custom = CONFIG + """
[rbac.roles.jobwatcher]
allow = ["jobs"]

[[rbac.bindings]]
role = "jobwatcher"
users = ["UJOBS"]
"""
    record(JobStore(redis), "job-j", "UJOBS", "ps", age=5)
    HostRegistry(redis).beat(HostInfo(name="db1"), "w1")
    _, text = home(redis, "UJOBS", pol=policy(custom))
    assert "`jobwatcher`" in text and "allows `jobs`" in text
    assert "`job-j`" in text
    assert "• `db1` —" not in text and "none of your roles allows `hosts`" in text


def test_text_a_user_typed_cannot_break_out_of_the_view(redis: Redis) -> None:
    record(JobStore(redis), "job-x", "UVIEW", "logs <!channel> `x` &", age=5)
    view, _ = home(redis, "UVIEW")
    raw = str(view)
    assert "<!channel>" not in raw and "&lt;!channel&gt;" in raw
