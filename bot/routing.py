"""Which Docker host a command runs on — decided in the ack, from the host registry in Redis.

- ``@NAME`` first: that host; ``@all`` (verbs that fan out): every live host.
- Otherwise the channel's default host (``[[hosts.channels]]``), else the one live host.
- Several live hosts and no default: a private question listing them; nothing is queued.

A host with no live worker is refused at once (with when it was last seen) rather than queued to wait in
silence; a host no worker ever registered is an unknown host, with the closest name.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import messages
from dockbolt.core.config import HostsConfig
from dockbolt.core.contract import ALL_HOSTS
from dockbolt.core.hosts import HostRegistry, HostState


@dataclass(frozen=True)
class Route:
    """Where a command goes: one host, several (``@all``), or nowhere and why."""

    hosts: tuple[str, ...] = ()
    refusal: str = ""
    fan_out: bool = False


def route(typed: str, channel_id: str, verb: str, fans_out: bool, config: HostsConfig,
          registry: HostRegistry) -> Route:
    """Resolve ``typed`` (the ``@NAME`` word without its ``@``, or "") for a command in ``channel_id``."""
    states = registry.all()
    live = [h.info.name for h in states if h.workers]
    if typed == ALL_HOSTS:
        if not live:
            return Route(refusal=messages.no_hosts([h.info.name for h in states]))
        return Route(hosts=tuple(live), fan_out=True)
    name = typed or config.channels.get(channel_id, "")
    if name:
        return _named(name, states)
    if len(live) == 1:
        return Route(hosts=(live[0],))
    if not live:
        return Route(refusal=messages.no_hosts([h.info.name for h in states]))
    return Route(refusal=messages.which_host(live, verb, fans_out))


def _named(name: str, states: list[HostState]) -> Route:
    state = next((h for h in states if h.info.name == name), None)
    if state is None:
        return Route(refusal=messages.unknown_host(name, [h.info.name for h in states]))
    if not state.workers:
        return Route(refusal=messages.host_unserved(name, state.age))
    return Route(hosts=(name,))
