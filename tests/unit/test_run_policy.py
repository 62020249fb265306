"""run_policy: the grant each dangerous `run` flag needs, host paths and the socket, defaults applied.

Commands are parsed by the real parser, so each case reads as the user would type it and proves that
the flag is parsed into what the policy checks.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.parsing import parse
from dockbolt.core.args import PortSpec, RunArgs
from dockbolt.core.guardrails import Guardrails
from dockbolt.core.rbac import GRANTS
from dockbolt.core.run_policy import (
    NO_NEW_PRIVILEGES,
    Need,
    apply_defaults,
    check_run,
    is_docker_socket,
    normalise,
    under,
    unmet,
)
from workers.run_guard import RunRefused, engine_socket, resolve_host_paths, resolve_secrets

POLICY = Guardrails(allowed_host_paths=("/srv/data", "/var/run/docker.sock", "/run"))


def run_args(flags: str, image: str = "busybox") -> RunArgs:
    args = parse(f"run {flags} {image}").args
    assert isinstance(args, RunArgs)
    return args


Found = list[tuple[str, str | None]]


def needs(flags: str, guardrails: Guardrails = POLICY) -> Found:
    return [(n.flag, n.grant) for n in check_run(run_args(flags), guardrails)]


def test_a_plain_run_needs_nothing() -> None:
    assert needs("--name web -p 8080:80 -e A=1 -v data:/data -m 64m --cap-drop ALL --read-only") == []


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ("--privileged", [("--privileged", "privileged")]),
        ("--privileged=false", []),
        ("--cap-add net_admin", [("--cap-add CAP_NET_ADMIN", "privileged")]),
        ("--cap-add ALL", [("--cap-add ALL", "privileged")]),
        (
            "--cap-add SYS_ADMIN --cap-add cap_net_raw",
            [("--cap-add CAP_NET_RAW", "privileged"), ("--cap-add CAP_SYS_ADMIN", "privileged")],
        ),
        ("--cap-drop ALL --cap-drop NET_RAW", []),
        ("--device /dev/fuse", [("--device /dev/fuse", "privileged")]),
        ("--device /dev/sda:/dev/xvda:r", [("--device /dev/sda:/dev/xvda:r", "privileged")]),
        ("--pid host", [("--pid host", "privileged")]),
        ("--pid container:db", [("--pid container:db", "privileged")]),
        ("--ipc host", [("--ipc host", "privileged")]),
        ("--ipc container:db", [("--ipc container:db", "privileged")]),
        ("--ipc private", []),
        ("--ipc shareable", []),
        ("--ipc none", []),
        ("--userns host", [("--userns host", "privileged")]),
        ("--security-opt no-new-privileges", []),
        ("--security-opt no-new-privileges:true", []),
        ("--security-opt no-new-privileges=1", []),
        ("--security-opt no-new-privileges=0", [("--security-opt no-new-privileges:false", "privileged")]),
        ("--security-opt seccomp=unconfined", [("--security-opt seccomp=unconfined", "privileged")]),
        ("--security-opt apparmor=unconfined", [("--security-opt apparmor=unconfined", "privileged")]),
        ("--security-opt label:disable", [("--security-opt label=disable", "privileged")]),
        ("--security-opt systempaths=unconfined", [("--security-opt systempaths=unconfined", "privileged")]),
        ("--network host", [("--network host", "host-network")]),
        ("--net container:db", [("--network container:db", "host-network")]),
        ("--network bridge", []),
        ("--network backend", []),
        ("-u 0", [("-u 0", "root-user")]),
        ("-u root", [("-u root", "root-user")]),
        ("-u 0:0", [("-u 0:0", "root-user")]),
        ("-u root:staff", [("-u root:staff", "root-user")]),
        ("-u 000", [("-u 000", "root-user")]),
        ("-u 1000", []),
        ("-u 1000:0", []),
        ("-u nobody", []),
        ("-u rooty", []),
    ],
)
def test_every_guardrail_flag_needs_its_grant(flags: str, expected: Found) -> None:
    assert needs(flags) == expected


def test_every_grant_named_is_one_rbac_knows() -> None:
    every = (
        "--privileged --cap-add X --device /dev/x --pid host --ipc host --userns host "
        "--security-opt label=disable -v /srv/data:/d -v /run:/r --network host -u 0 -p 0.0.0.0:80:80"
    )
    grants = {n.grant for n in check_run(run_args(every), POLICY)}
    assert grants == {
        "privileged", "host-mounts", "docker-socket", "host-network", "root-user", "public-ports"
    }
    assert grants <= set(GRANTS)


# --- host paths ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["-v {}:/host", "-v {}:/host:ro", "--mount type=bind,source={},dst=/host"])
def test_a_host_bind_under_an_allowed_path_needs_host_mounts(flag: str) -> None:
    assert [g for _, g in needs(flag.format("/srv/data/app"))] == ["host-mounts"]
    assert [g for _, g in needs(flag.format("/srv/data"))] == ["host-mounts"]


def test_named_volumes_and_tmpfs_are_not_host_mounts() -> None:
    assert needs("-v data:/data --mount type=volume,src=data,dst=/d2 --mount type=volume,dst=/anon "
                 "--mount type=tmpfs,dst=/tmp") == []


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("/srv", "/srv"),  # a parent of an allowed path is not allowed
        ("/srv/database", "/srv/database"),  # a sibling sharing the prefix is not either
        ("/srv/data/../../etc", "/etc"),
        ("/srv/data/./../secret", "/srv/secret"),
        ("/etc", "/etc"),
        ("/", "/"),
    ],
)
def test_a_host_path_outside_allowed_paths_needs_what_no_grant_gives(source: str, shown: str) -> None:
    found = check_run(run_args(f"-v {source}:/host"), POLICY)
    [outside] = [n for n in found if n.grant is None]
    assert outside.flag == f"-v {shown}:/host"
    assert outside.reason == (
        f"{shown} is not under [policy] allowed_host_paths (/srv/data, /var/run/docker.sock, /run)"
    )
    reason = f"mounts the host path {shown} into the container"
    assert found[0] == Need(f"-v {shown}:/host", "host-mounts", reason)


def test_with_no_allowed_paths_no_host_path_may_be_mounted() -> None:
    [mount, outside] = check_run(run_args("-v /srv/data:/d"), Guardrails())
    assert (mount.grant, outside.grant) == ("host-mounts", None)
    assert outside.reason == "/srv/data is not under [policy] allowed_host_paths (none)"


@pytest.mark.parametrize(
    "source",
    [
        "/var/run/docker.sock",
        "/run/docker.sock",
        "//var//run/./docker.sock",
        "/var/run/../run/docker.sock",
        "/run/../run/docker.sock",
        "/srv/data/../../var/run/docker.sock",
        "/run/",
        "/run",
        "/var/run",
        "/var",
        "/",
        "//",
        "/run/containerd/containerd.sock",
        "/home/alice/.docker/run/docker.sock",
    ],
)
def test_the_docker_socket_whatever_the_spelling(source: str) -> None:
    assert is_docker_socket(source)
    for flag in (f"-v {source}:/s", f"--mount type=bind,src={source},dst=/s"):
        grants = [g for _, g in needs(flag)]
        assert grants[:2] == ["host-mounts", "docker-socket"], flag


@pytest.mark.parametrize("source", ["/srv/data", "/var/lib", "/run/user/1000/app", "/var/run-docker.sock"])
def test_paths_that_are_not_the_socket(source: str) -> None:
    assert not is_docker_socket(source)


def test_the_socket_listed_in_allowed_paths_still_needs_both_grants() -> None:
    assert needs("-v /var/run/docker.sock:/var/run/docker.sock") == [
        ("-v /var/run/docker.sock:/var/run/docker.sock", "host-mounts"),
        ("-v /var/run/docker.sock:/var/run/docker.sock", "docker-socket"),
    ]


@pytest.mark.parametrize(
    ("path", "roots", "inside"),
    [
        ("/srv/data", ("/srv/data",), True),
        ("/srv/data/x/y", ("/srv/data/",), True),
        ("/srv/data/../data/x", ("/srv//data",), True),
        ("/srv/data2", ("/srv/data",), False),
        ("/srv/data/../x", ("/srv/data",), False),
        ("/srv", ("/srv/data",), False),
        ("/anything", ("/",), True),
        ("/x", (), False),
    ],
)
def test_under_resolves_dots_and_slashes(path: str, roots: tuple[str, ...], inside: bool) -> None:
    assert under(path, roots) is inside


@pytest.mark.parametrize(
    ("raw", "path"),
    [("//var//run/./docker.sock", "/var/run/docker.sock"), ("/a/b/../../..", "/"), ("/", "/")],
)
def test_normalise(raw: str, path: str) -> None:
    assert normalise(raw) == path


# --- ports ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "public"),
    [
        ("-p 8080:80", False),  # no IP: bound to publish_address by apply_defaults
        ("-p 80", False),
        ("-p 127.0.0.1:8080:80", False),
        ("-p 127.0.0.2:8080:80", False),  # loopback
        ("-p [::1]:8080:80", False),
        ("-p 0.0.0.0:8080:80", True),
        ("-p 0.0.0.0::80/udp", True),
        ("-p [::]:8080:80", True),
        ("-p 10.1.2.3:8080:80", True),
    ],
)
def test_ports_on_another_address_than_publish_address_need_public_ports(flag: str, public: bool) -> None:
    expected = [(flag, "public-ports")] if public else []
    assert needs(flag) == expected


def test_the_configured_publish_address_itself_needs_nothing() -> None:
    lan = Guardrails(publish_address="10.1.2.3")
    assert needs("-p 10.1.2.3:8080:80", lan) == []
    assert needs("-p 10.1.2.4:8080:80", lan) == [("-p 10.1.2.4:8080:80", "public-ports")]
    [need] = check_run(run_args("-p 0.0.0.0:80:80"), lan)
    assert need.reason == "publishes on 0.0.0.0, not 10.1.2.3"


def test_everywhere_as_the_publish_address_is_the_admins_choice() -> None:
    assert needs("-p 0.0.0.0:80:80", Guardrails(publish_address="0.0.0.0")) == []


# --- images ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "globs", "allowed"),
    [
        ("busybox", ("*",), True),
        ("busybox", ("busybox:*",), True),  # an untagged reference means :latest
        ("busybox:1.36", ("busybox:*",), True),
        ("busybox-evil", ("busybox:*",), False),
        ("registry.internal/team/app:1", ("registry.internal/*",), True),
        ("docker.io/registry.internal/app", ("registry.internal/*",), False),
        ("sha256:" + "a" * 64, ("registry.internal/*",), False),
        ("busybox", (), False),
    ],
)
def test_images_outside_allowed_images_are_never_allowed(
    image: str, globs: tuple[str, ...], allowed: bool
) -> None:
    found = check_run(RunArgs(image=image), Guardrails(allowed_images=globs))
    if allowed:
        assert found == ()
    else:
        assert [(n.flag, n.grant) for n in found] == [(image, None)]
        assert found[0].reason.startswith("the image is not in [policy] allowed_images")


# --- unmet ---------------------------------------------------------------------------------------------


def test_unmet_keeps_what_the_grants_do_not_cover_and_every_need_without_a_grant() -> None:
    found = check_run(run_args("--privileged -v /srv/data:/d -v /etc:/e -u root"), POLICY)
    assert [(n.flag, n.grant) for n in unmet(found, {"privileged", "host-mounts"})] == [
        ("-v /etc:/e", None),
        ("-u root", "root-user"),
    ]
    assert unmet(check_run(run_args("--privileged"), POLICY), {"privileged"}) == ()


# --- apply_defaults ------------------------------------------------------------------------------------


def test_defaults_fill_what_run_did_not_say() -> None:
    done = apply_defaults(run_args("-p 8080:80 -p 10.0.0.1:81:81 -p 82/udp"), Guardrails())
    assert (done.memory, done.pids_limit) == (512 * 1024 * 1024, 512)
    assert [p.host_ip for p in done.ports] == ["127.0.0.1", "10.0.0.1", "127.0.0.1"]
    assert done.ports[2] == PortSpec("82", "", "127.0.0.1", "udp")
    assert done.security_opt == (NO_NEW_PRIVILEGES,)


def test_defaults_keep_what_run_said() -> None:
    args = run_args("-m 64m --pids-limit 10 --security-opt seccomp=unconfined")
    done = apply_defaults(args, Guardrails())
    assert (done.memory, done.pids_limit) == (64 * 1024 * 1024, 10)
    assert done.security_opt == ("seccomp=unconfined", NO_NEW_PRIVILEGES)


@pytest.mark.parametrize("flag", ["no-new-privileges", "no-new-privileges:false"])
def test_an_explicit_no_new_privileges_is_left_alone(flag: str) -> None:
    args = run_args(f"--security-opt {flag}")
    assert apply_defaults(args, Guardrails()).security_opt == args.security_opt


def test_defaults_that_are_switched_off() -> None:
    off = Guardrails(memory=None, pids_limit=None, no_new_privileges=False, publish_address="0.0.0.0")
    done = apply_defaults(run_args("-p 80"), off)
    assert (done.memory, done.pids_limit, done.security_opt) == (None, None, ())
    assert done.ports[0].host_ip == "0.0.0.0"


def test_apply_defaults_is_idempotent_and_changes_nothing_else() -> None:
    args = run_args("--name web -e A=1 -v data:/d -p 80 --cap-add NET_ADMIN -u 1000 -w /w", "busybox:1.36")
    once = apply_defaults(args, POLICY)
    assert apply_defaults(once, POLICY) == once
    assert replace(once, memory=None, pids_limit=None, ports=args.ports, security_opt=()) == args


# --- the worker's side: which engine shares this host, secrets from its environment -----------------------


@pytest.mark.parametrize(
    ("docker_host", "socket"),
    [
        (None, "/var/run/docker.sock"),
        ("", "/var/run/docker.sock"),
        ("unix:///run/user/1000/docker.sock", "/run/user/1000/docker.sock"),
        ("tcp://10.0.0.5:2376", None),
        ("ssh://deploy@build-host", None),
    ],
)
def test_engine_socket_is_known_only_for_a_local_engine(docker_host: str | None, socket: str | None) -> None:
    assert engine_socket(docker_host) == socket


def test_a_remote_engine_skips_the_host_path_check() -> None:
    args = run_args("-v /:/host")
    assert resolve_host_paths(args, Guardrails(), None) is args  # nothing here to resolve: no refusal


def test_secrets_come_from_the_workers_environment_after_the_plain_env() -> None:
    args = run_args("-e B -e A=1 -e C")
    environ = {"DOCKBOLT_SECRET_B": "two words", "DOCKBOLT_SECRET_C": "", "B": "not this one"}
    done = resolve_secrets(args, environ)
    assert (done.env, done.secret_env) == (("A=1", "B=two words", "C="), ())


def test_a_missing_secret_names_every_variable_to_set() -> None:
    with pytest.raises(RunRefused) as refused:
        resolve_secrets(run_args("-e B -e A=1 -e C"), {"B": "the bot's own is never used"})
    assert "`DOCKBOLT_SECRET_B`, `DOCKBOLT_SECRET_C`" in str(refused.value)
