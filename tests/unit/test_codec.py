"""The one codec of the job contract: typed args survive the JSON queue exactly, and nothing else gets in."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockbolt.core.args import (
    PORT_PROTOS,
    RESTART_POLICIES,
    LogsArgs,
    NameArgs,
    NamesArgs,
    PortSpec,
    PsArgs,
    RestartSpec,
    RmArgs,
    RunArgs,
    Since,
    StatsArgs,
    StopArgs,
    VolumeSpec,
)
from dockbolt.core.errors import ContractError

words = st.text(min_size=1, max_size=12)
label_keys = words.filter(lambda k: not k.lower().startswith("dockbolt."))
ints = st.integers(min_value=0, max_value=2**62)
run_args = st.builds(
    RunArgs,
    image=words,
    command=st.lists(st.text(max_size=8), max_size=4).map(tuple),
    name=st.none() | words,
    ports=st.lists(
        st.builds(PortSpec, container_port=words, host_port=st.text(max_size=5), host_ip=st.text(max_size=5),
                  proto=st.sampled_from(PORT_PROTOS)),
        max_size=3,
    ).map(tuple),
    env=st.lists(words, max_size=3).map(tuple),
    labels=st.dictionaries(label_keys, st.text(max_size=8), max_size=3),
    volumes=st.lists(st.builds(VolumeSpec, source=words, target=words, read_only=st.booleans()),
                     max_size=3).map(tuple),
    network=st.none() | words,
    restart=st.none() | st.builds(RestartSpec, name=st.sampled_from(RESTART_POLICIES), max_retries=ints),
    memory=st.none() | ints,
    nano_cpus=st.none() | ints,
    user=st.none() | words,
    workdir=st.none() | words,
)
since = st.builds(Since, seconds_ago=st.integers(1, 10**9)) | st.builds(
    Since, unix=st.floats(0, 4e9, allow_nan=False)
)
any_args = st.one_of(
    run_args,
    st.builds(LogsArgs, name=words, tail=st.none() | ints, since=st.none() | since, timestamps=st.booleans()),
    st.builds(PsArgs, all=st.booleans(),
              filters=st.dictionaries(words, st.lists(words, max_size=3).map(tuple), max_size=3)),
    st.builds(StopArgs, names=st.lists(words, min_size=1, max_size=4).map(tuple), timeout=st.none() | ints),
    st.builds(RmArgs, names=st.lists(words, min_size=1, max_size=4).map(tuple), force=st.booleans()),
    st.builds(StatsArgs, names=st.lists(words, max_size=4).map(tuple)),
    st.builds(NameArgs, name=words),
)


@settings(deadline=None)  # a property, not a timing: the machine is shared and noisy
@given(any_args)
def test_every_args_type_survives_the_json_queue_exactly(args: Any) -> None:
    sent = json.loads(json.dumps(args.to_dict()))
    assert type(args).from_dict(sent) == args
    assert sent == args.to_dict()  # to_dict is already plain JSON


def run_dict(**over: Any) -> dict[str, Any]:
    d = RunArgs(image="busybox", ports=(PortSpec("80"),), restart=RestartSpec("on-failure", 3)).to_dict()
    d.update(over)
    return d


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (run_dict(image=5), "RunArgs.image: expected a string, got 5"),
        (run_dict(memory=True), "RunArgs.memory: expected an integer, got true"),
        (run_dict(memory="1g"), 'RunArgs.memory: expected an integer, got "1g"'),
        (run_dict(command="sh -c x"), "RunArgs.command: expected an array"),
        (run_dict(command=["sh", 1]), r"RunArgs.command\[1\]: expected a string"),
        (run_dict(ports=[{"container_port": 80}]), r"RunArgs.ports\[0\].container_port: expected a string"),
        (run_dict(ports=[{"container_port": "80", "proto": "icmp"}]), r"ports\[0\].proto: expected one of"),
        (run_dict(restart={"name": "sometimes"}), "restart.name: expected one of"),
        (run_dict(labels={"a": 1}), "RunArgs.labels.a: expected a string"),
        (run_dict(labels=["a=b"]), "RunArgs.labels: expected an object"),
        (run_dict(labels={"dockbolt.managed": "false"}), "reserved"),
        (run_dict(host_root=True), "unknown fields host_root"),
        (run_dict(image=""), "image must not be empty"),
        ({"command": []}, "RunArgs.image: missing"),
        (["busybox"], "RunArgs: expected an object"),
    ],
)
def test_malformed_run_args_are_refused_naming_the_field(data: Any, words: str) -> None:
    with pytest.raises(ContractError, match=words):
        RunArgs.from_dict(data)


@pytest.mark.parametrize(
    ("cls", "data", "words"),
    [
        (NamesArgs, {"names": []}, "non-empty"),
        (NamesArgs, {"names": [""]}, "non-empty"),
        (StopArgs, {"names": ["web"], "timeout": -1}, "timeout must be ≥ 0"),
        (StopArgs, {"names": ["web"], "timeout": 1.5}, "timeout: expected an integer"),
        (RmArgs, {"names": ["web"], "force": 1}, "force: expected true or false"),
        (LogsArgs, {"name": "web", "since": {"seconds_ago": 5, "unix": 1.0}}, "exactly one"),
        (LogsArgs, {"name": "web", "since": {}}, "exactly one"),
        (LogsArgs, {"name": "web", "since": {"seconds_ago": 0}}, "must be > 0"),
        (LogsArgs, {"name": "web", "tail": -5}, "tail must be ≥ 0"),
        (PsArgs, {"filters": {"name": "web"}}, "PsArgs.filters.name: expected an array"),
    ],
)
def test_invariants_hold_for_every_verb(cls: Any, data: dict[str, Any], words: str) -> None:
    with pytest.raises(ContractError, match=words):
        cls.from_dict(data)


def test_an_int_is_accepted_where_a_number_is_expected() -> None:
    assert LogsArgs.from_dict({"name": "web", "since": {"unix": 17}}).since == Since(unix=17.0)


def test_defaults_fill_fields_left_out() -> None:
    assert StopArgs.from_dict({"names": ["web"]}) == StopArgs(("web",), timeout=None)
