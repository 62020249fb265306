"""`run`: the RunArgs it builds (as JSON on the queue), and docker-like validation of every flag and IMAGE."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.parsing import parse
from bot.verbs import VERBS
from dockbolt.core.errors import UsageError

RUN_DEFAULTS: dict[str, Any] = {
    "image": "busybox",
    "command": [],
    "name": None,
    "ports": [],
    "env": [],
    "labels": {},
    "volumes": [],
    "network": None,
    "restart": None,
    "memory": None,
    "nano_cpus": None,
    "user": None,
    "workdir": None,
    "secret_env": [],
    "mounts": [],
    "privileged": False,
    "cap_add": [],
    "cap_drop": [],
    "devices": [],
    "pid_mode": None,
    "ipc_mode": None,
    "userns_mode": None,
    "security_opt": [],
    "pids_limit": None,
    "read_only": False,
    "pull": "missing",
}


def args(text: str) -> dict[str, Any]:
    cmd = parse(text)
    assert cmd.verb == "run"
    sent = json.loads(json.dumps(cmd.args.to_dict()))
    assert type(cmd.args).from_dict(sent) == cmd.args
    return sent


def error(text: str) -> str:
    with pytest.raises(UsageError) as info:
        parse(text)
    assert info.value.usage == VERBS["run"].usage
    return str(info.value)


def test_run_minimal() -> None:
    assert args("run busybox") == RUN_DEFAULTS


def test_run_everything() -> None:
    text = (
        "run -d --name web -p 8080:80 -p 127.0.0.1:8443:443/tcp --publish 53/udp -e A=1 --env B= "
        "-l team=ops --label tier=web -v data:/data -v /srv/www:/www:ro --network backend "
        "--restart on-failure:3 -m 256m --cpus 0.5 -u 1000:1000 -w /app dockbolt-test/busybox:latest "
        "sh -c 'echo hi'"
    )
    assert args(text) == {
        **RUN_DEFAULTS,
        "image": "dockbolt-test/busybox:latest",
        "command": ["sh", "-c", "echo hi"],
        "name": "web",
        "ports": [
            {"host_ip": "", "host_port": "8080", "container_port": "80", "proto": "tcp"},
            {"host_ip": "127.0.0.1", "host_port": "8443", "container_port": "443", "proto": "tcp"},
            {"host_ip": "", "host_port": "", "container_port": "53", "proto": "udp"},
        ],
        "env": ["A=1", "B="],
        "labels": {"team": "ops", "tier": "web"},
        "volumes": [
            {"source": "data", "target": "/data", "read_only": False},
            {"source": "/srv/www", "target": "/www", "read_only": True},
        ],
        "network": "backend",
        "restart": {"name": "on-failure", "max_retries": 3},
        "memory": 268435456,
        "nano_cpus": 500000000,
        "user": "1000:1000",
        "workdir": "/app",
    }


def test_run_long_spellings_match_short_ones() -> None:
    short = "run -p 80 -e A=1 -l k=v -v d1:/d -m 1g -u root -w /w busybox"
    long = (
        "run --publish=80 --env=A=1 --label=k=v --volume=d1:/d --memory=1g --user=root --workdir=/w busybox"
    )
    assert args(short) == args(long)


def test_run_detach_is_accepted_and_ignored() -> None:
    assert args("run -d busybox") == args("run --detach busybox") == args("run busybox")


def test_run_net_is_an_alias_of_network() -> None:
    assert args("run --net host busybox")["network"] == "host"
    assert args("run --network container:db busybox")["network"] == "container:db"


@pytest.mark.parametrize(
    ("spec", "port"),
    [
        ("80", {"host_ip": "", "host_port": "", "container_port": "80", "proto": "tcp"}),
        ("80/udp", {"host_ip": "", "host_port": "", "container_port": "80", "proto": "udp"}),
        ("8080:80/sctp", {"host_ip": "", "host_port": "8080", "container_port": "80", "proto": "sctp"}),
        (
            "0.0.0.0:1:65535",
            {"host_ip": "0.0.0.0", "host_port": "1", "container_port": "65535", "proto": "tcp"},
        ),
        ("127.0.0.1::80", {"host_ip": "127.0.0.1", "host_port": "", "container_port": "80", "proto": "tcp"}),
        ("[::1]:8080:80", {"host_ip": "::1", "host_port": "8080", "container_port": "80", "proto": "tcp"}),
        ("8080:80/TCP", {"host_ip": "", "host_port": "8080", "container_port": "80", "proto": "tcp"}),
    ],
)
def test_run_ports(spec: str, port: dict[str, str]) -> None:
    assert args(f"run -p {spec} busybox")["ports"] == [port]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("0", "1 to 65535"),
        ("65536", "1 to 65535"),
        ("8080:0", "1 to 65535"),
        ("http", "1 to 65535"),
        ("8000-8010:80", "ranges are not supported"),
        ("80/icmp", "unknown protocol `icmp`"),
        ("1.2.3.4:80", "host port"),
        ("999.1.1.1:80:80", "not an IP address"),
        ("a:b:c:d", "[IP:]HOST:CTR"),
        ("[::1", "IPv6"),
    ],
)
def test_run_port_errors(spec: str, fragment: str) -> None:
    assert fragment in error(f"run -p {spec} busybox")


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("6m", 6 * 1024**2),
        ("256m", 256 * 1024**2),
        ("256M", 256 * 1024**2),
        ("256mb", 256 * 1024**2),
        ("256MiB", 256 * 1024**2),
        ("1g", 1024**3),
        ("1.5g", 1610612736),
        ("8192k", 8 * 1024**2),
        ("1t", 1024**4),
        ("7340032", 7340032),
        ("7340032b", 7340032),
    ],
)
def test_run_memory_sizes(size: str, expected: int) -> None:
    assert args(f"run -m {size} busybox")["memory"] == expected


@pytest.mark.parametrize(
    ("size", "fragment"),
    [
        ("100", "minimum"),
        ("512k", "minimum"),
        ("5.9m", "minimum"),
        ("-1g", "size"),
        ("1x", "size"),
        ("g", "size"),
        ("1.2.3m", "size"),
        ("lots", "size"),
    ],
)
def test_run_memory_errors(size: str, fragment: str) -> None:
    assert fragment in error(f"run --memory={size} busybox")


@pytest.mark.parametrize(
    ("cpus", "nano"),
    [
        ("0.5", 500_000_000),
        ("2", 2_000_000_000),
        (".25", 250_000_000),
        ("1.000000001", 1_000_000_001),
        ("3.", 3_000_000_000),
    ],
)
def test_run_cpus(cpus: str, nano: int) -> None:
    assert args(f"run --cpus {cpus} busybox")["nano_cpus"] == nano


@pytest.mark.parametrize(
    ("cpus", "fragment"),
    [
        ("0", "greater than 0"),
        ("-1", "positive"),
        ("nan", "positive"),
        ("1e3", "positive"),
        ("0.0000000001", "too precise"),
    ],
)
def test_run_cpus_errors(cpus: str, fragment: str) -> None:
    assert fragment in error(f"run --cpus={cpus} busybox")


def test_run_env_values_are_literal() -> None:
    assert args("run -e 'MSG=a b; $(id)' -e X==y busybox")["env"] == ["MSG=a b; $(id)", "X==y"]


def test_run_bare_env_name_is_a_secret_the_worker_provides() -> None:
    sent = args("run -e DB_PASSWORD -e A=1 --env _token2 -e DB_PASSWORD busybox")
    assert (sent["env"], sent["secret_env"]) == (["A=1"], ["DB_PASSWORD", "_token2"])


@pytest.mark.parametrize("name", ["1ABC", "A-B", "A.B", "A B", "ÄB"])
def test_run_bare_env_must_be_a_variable_name(name: str) -> None:
    message = error(f"run -e '{name}' busybox")
    assert "write NAME=VALUE, or a bare NAME" in message and "`DOCKBOLT_SECRET_NAME`" in message


def test_run_env_needs_a_name() -> None:
    assert "name is empty" in error("run -e =x busybox")


def test_run_labels() -> None:
    assert args("run -l a=1 -l b= -l a=2 busybox")["labels"] == {"a": "2", "b": ""}


@pytest.mark.parametrize("label", ["dockbolt.managed=false", "dockbolt.created-by=U1", "Dockbolt.job=x"])
def test_run_reserved_labels_are_refused(label: str) -> None:
    assert "reserved" in error(f"run -l {label} busybox")


@pytest.mark.parametrize(("label", "fragment"), [("team", "KEY=VALUE"), ("=v", "name is empty")])
def test_run_label_errors(label: str, fragment: str) -> None:
    assert fragment in error(f"run --label={label} busybox")


@pytest.mark.parametrize(
    ("spec", "volume"),
    [
        ("data:/data", {"source": "data", "target": "/data", "read_only": False}),
        ("data:/data:rw", {"source": "data", "target": "/data", "read_only": False}),
        ("data:/data:ro", {"source": "data", "target": "/data", "read_only": True}),
        ("/srv/x:/x", {"source": "/srv/x", "target": "/x", "read_only": False}),
        ("/srv/x/../../etc:/x", {"source": "/etc", "target": "/x", "read_only": False}),
        ("//srv//x/:/x", {"source": "/srv/x", "target": "/x", "read_only": False}),
    ],
)
def test_run_volumes(spec: str, volume: dict[str, Any]) -> None:
    assert args(f"run -v {spec} busybox")["volumes"] == [volume]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("/data", "SRC:DST"),
        ("a:/b:ro:x", "SRC:DST"),
        ("data:/data:z", "SRC:DST"),
        ("./data:/data", "neither a volume name nor an absolute host path"),
        ("d:/data", "neither a volume name"),
        ("data:relative", "absolute path"),
        ("data:/", "absolute path other than /"),
    ],
)
def test_run_volume_errors(spec: str, fragment: str) -> None:
    assert fragment in error(f"run -v {spec} busybox")


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("no", None),
        ("always", {"name": "always", "max_retries": 0}),
        ("unless-stopped", {"name": "unless-stopped", "max_retries": 0}),
        ("on-failure", {"name": "on-failure", "max_retries": 0}),
        ("on-failure:5", {"name": "on-failure", "max_retries": 5}),
    ],
)
def test_run_restart(policy: str, expected: dict[str, Any] | None) -> None:
    assert args(f"run --restart {policy} busybox")["restart"] == expected


@pytest.mark.parametrize(
    ("policy", "fragment"),
    [
        ("sometimes", "unknown policy"),
        ("always:3", "cannot be used"),
        ("on-failure:-1", "whole number"),
        ("on-failure:", "whole number"),
        ("no:1", "cannot be used"),
    ],
)
def test_run_restart_errors(policy: str, fragment: str) -> None:
    assert fragment in error(f"run --restart={policy} busybox")


@pytest.mark.parametrize(
    "image",
    [
        "busybox",
        "busybox:1.36",
        "dockbolt-test/busybox:latest",
        "localhost:5000/a/b:v1.0",
        "registry.example.com/team/app_x:2024-05",
        "busybox@sha256:" + "a" * 64,
        "sha256:" + "b" * 64,
        "Busybox-Mirror.example.com/x:TAG",
    ],
)
def test_run_images(image: str) -> None:
    assert args(f"run {image}")["image"] == image


@pytest.mark.parametrize(
    ("image", "fragment"),
    [
        ("BusyBox", "must be lowercase"),
        ("busy box", "invalid reference format"),
        ("busybox:", "invalid reference format"),
        ("a" * 256, "more than 255 characters"),
        ("busybox;id", "invalid reference format"),
    ],
)
def test_run_image_errors(image: str, fragment: str) -> None:
    assert fragment in error(f"run -- '{image}'")


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("web", True),
        ("w1", True),
        ("a.b_c-d", True),
        ("w", False),
        ("-web", False),
        ("we/b", False),
        ("web!", False),
    ],
)
def test_run_container_name(name: str, ok: bool) -> None:
    if ok:
        assert args(f"run --name={name} busybox")["name"] == name
    else:
        assert "invalid container name" in error(f"run --name={name} busybox")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("run -u 'root;id' busybox", "NAME|UID"),
        ("run -w app busybox", "absolute path"),
        ("run --network 'a b' busybox", "invalid network name"),
        ("run --rm busybox", "unknown flag: `--rm`"),
        ("run --uts host busybox", "unknown flag: `--uts`"),
        ("run --volumes-from db busybox", "unknown flag: `--volumes-from`"),
        ("run -it busybox", "unknown shorthand flag: `i`"),
    ],
)
def test_run_other_errors(text: str, fragment: str) -> None:
    assert fragment in error(text)


# --- the guardrail flags: parsed (and granted or not by run_policy), never refused as unknown -------------


def test_run_guardrail_flags() -> None:
    text = (
        "run --privileged --cap-add net_admin --cap-add CAP_SYS_TIME --cap-add NET_ADMIN --cap-drop all "
        "--device /dev/fuse --device /dev/sda:/dev/xvda:r --device /dev/zero:rw --pid host "
        "--ipc container:db --userns host --security-opt no-new-privileges "
        "--security-opt seccomp=unconfined --security-opt label:disable --pids-limit 100 --read-only "
        "--mount type=bind,source=/srv/x/../y,target=/y,readonly "
        "--mount type=volume,src=data,dst=/data,ro=false --mount type=tmpfs,destination=/scratch "
        "--mount target=/anon busybox"
    )
    assert args(text) == {
        **RUN_DEFAULTS,
        "privileged": True,
        "cap_add": ["CAP_NET_ADMIN", "CAP_SYS_TIME"],
        "cap_drop": ["ALL"],
        "devices": ["/dev/fuse:/dev/fuse:rwm", "/dev/sda:/dev/xvda:r", "/dev/zero:/dev/zero:rw"],
        "pid_mode": "host",
        "ipc_mode": "container:db",
        "userns_mode": "host",
        "security_opt": ["no-new-privileges:true", "seccomp=unconfined", "label=disable"],
        "pids_limit": 100,
        "read_only": True,
        "mounts": [
            {"type": "bind", "source": "/srv/y", "target": "/y", "read_only": True},
            {"type": "volume", "source": "data", "target": "/data", "read_only": False},
            {"type": "tmpfs", "source": "", "target": "/scratch", "read_only": False},
            {"type": "volume", "source": "", "target": "/anon", "read_only": False},
        ],
    }


@pytest.mark.parametrize(
    ("spec", "mount"),
    [
        ("type=bind,src=/srv,dst=/s", {"type": "bind", "source": "/srv", "target": "/s", "read_only": False}),
        ("type=bind,src=//srv//a/,dst=/s,ro=1", {"type": "bind", "source": "/srv/a", "target": "/s",
                                                  "read_only": True}),
        ("type=bind,src=/srv,dst=/s,readonly=false", {"type": "bind", "source": "/srv", "target": "/s",
                                                       "read_only": False}),
        ("TYPE=tmpfs,Target=/t", {"type": "tmpfs", "source": "", "target": "/t", "read_only": False}),
    ],
)
def test_run_mounts(spec: str, mount: dict[str, Any]) -> None:
    assert args(f"run --mount {spec} busybox")["mounts"] == [mount]


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("type=volume,src=v,dst=/v,volume-opt=device=/", "`volume-opt` is not supported from chat"),
        ("type=volume,src=v,dst=/v,volume-driver=local", "`volume-driver` is not supported from chat"),
        ("type=bind,src=/srv,dst=/s,bind-propagation=shared", "`bind-propagation` is not supported"),
        ("type=tmpfs,dst=/t,tmpfs-size=1m", "`tmpfs-size` is not supported"),
        ("type=bind,src=/srv,dst=/s,colour=red", "mount option `colour` is unknown"),
        ("type=npipe,src=x,dst=/x", "unknown mount type `npipe`"),
        ("type=bind,dst=/x", "absolute host path"),
        ("type=bind,src=srv,dst=/x", "absolute host path"),
        ("type=bind,src=/srv", "needs a target"),
        ("type=bind,src=/srv,dst=x", "absolute path other than /"),
        ("type=bind,src=/srv,dst=/", "absolute path other than /"),
        ("type=tmpfs,src=x,dst=/t", "takes no source"),
        ("type=volume,src=./v,dst=/v", "not a volume name"),
        ("type=bind,src=/srv,dst=/s,ro=maybe", "must be true or false"),
        ("type,src=/srv,dst=/s", "needs a value"),
    ],
)
def test_run_mount_errors(spec: str, fragment: str) -> None:
    assert fragment in error(f"run --mount {spec} busybox")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("run --cap-add 'net admin' busybox", "a capability is a name like NET_ADMIN"),
        ("run --cap-drop '' busybox", "a capability is a name"),
        ("run --device dev/sda busybox", "device path `dev/sda` must be absolute"),
        ("run --device /dev/sda:xvda busybox", "device path `xvda` must be absolute"),
        ("run --device /dev/sda:/dev/xvda:rx busybox", "must be some of r, w and m"),
        ("run --device /a:/b:r:x busybox", "HOST[:CONTAINER][:PERMS]"),
        ("run --pid private busybox", "use host or container:NAME"),
        ("run --pid container: busybox", "use host or container:NAME"),
        ("run --ipc hostile busybox", "use none, private, shareable, host or container:NAME"),
        ("run --userns private busybox", "use host"),
        ("run --userns container:db busybox", "use host"),
        ("run --security-opt seccomp=/etc/profile.json busybox", "a profile file cannot be read from chat"),
        ("run --security-opt seccomp busybox", "invalid value `` for seccomp"),
        ("run --security-opt no-new-privileges:maybe busybox", "takes true or false"),
        ("run --security-opt apparmor='a b' busybox", "invalid value `a b` for apparmor"),
        ("run --security-opt label=evil busybox", "invalid value `evil` for label"),
        ("run --security-opt systempaths=confined busybox", "for systempaths"),
        ("run --security-opt privileged=true busybox", "unknown option `privileged`"),
        ("run --pids-limit 0 busybox", "whole number > 0"),
        ("run --pids-limit -1 busybox", "unlimited pids limit is not available"),
        ("run --pids-limit lots busybox", "whole number > 0"),
        ("run --privileged=maybe busybox", "must be true or false"),
        ("run --read-only=yes busybox", "must be true or false"),
    ],
)
def test_run_guardrail_flag_errors(text: str, fragment: str) -> None:
    assert fragment in error(text)


def test_run_guardrail_errors_name_the_flag() -> None:
    assert error("run --device dev busybox").startswith("invalid value `dev` for `--device`: ")
    assert error("run --mount type=x busybox").startswith("invalid value `type=x` for `--mount`: ")


@pytest.mark.parametrize("policy", ["missing", "always", "never"])
def test_run_pull_policy(policy: str) -> None:
    assert args(f"run --pull {policy} busybox") == {**RUN_DEFAULTS, "pull": policy}
    assert args(f"run --pull={policy} busybox sh") == {**RUN_DEFAULTS, "pull": policy, "command": ["sh"]}


@pytest.mark.parametrize("policy", ["sometimes", "Missing", ""])
def test_run_pull_policy_errors_in_dockers_words(policy: str) -> None:
    assert f"invalid pull option: '{policy}': must be one of \"always\", \"missing\" or \"never\"" in error(
        f"run --pull '{policy}' busybox")


def test_run_pull_after_image_is_the_containers_command() -> None:
    assert args("run busybox --pull never") == {**RUN_DEFAULTS, "command": ["--pull", "never"]}
