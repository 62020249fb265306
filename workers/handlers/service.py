"""``service ACTION …``: Swarm services, on an engine that is a Swarm manager (else Docker says so).

Before anything changes, every service the command names is looked up on the engine and checked like a
container: the caller must be allowed to see it (managed by dockbolt — or read_unmanaged / the
``unmanaged`` grant — and inside their containers and images scopes, ``HandlerContext.visible``), and a
change is refused for a protected service (``dockbolt.protected=true``). `create` goes through `run`'s
guardrails: its [policy] defaults (memory and pids limits per replica), host checks and ``-e NAME``
secrets (``workers.run_guard``); every service it makes carries the ownership labels, and so do its
tasks' containers. create, scale, update and rollback wait for Swarm to converge or to end the rollout.
"""

from __future__ import annotations

import time
from dataclasses import replace

from dockbolt.core.args import LABEL_MANAGED, ownership_labels
from dockbolt.core.scopes import LABEL_PROTECTED, Target, service_targets, short_prefix, subverb
from dockbolt.core.service_args import SERVICE_ACTIONS, ServiceArgs, ServiceSpec
from workers import formatting, messages, run_guard
from workers.docker_port import ContainerSummary
from workers.docker_swarm import ServiceInfo, SwarmEngine, task_template
from workers.handlers.base import Handler, HandlerContext
from workers.handlers.lifecycle import for_each
from workers.handlers.logs import MAX_LOG_BYTES
from workers.reply import Reply

# How long create/scale/update/rollback wait for Swarm (the verb's job timeout is longer).
ROLLOUT_WAIT = 600
# The subcommands that change nothing (viewer's by default).
READS = ("ls", "ps", "logs")


def _summary(info: ServiceInfo) -> ContainerSummary:
    """A service as the listings' visibility check sees a container: name, image, labels."""
    return ContainerSummary(id=info.id, names=(info.name,), image=info.image, image_id="", command="",
                            created=0, state="", status="", labels=info.labels)


def refusal(ctx: HandlerContext, typed: str, info: ServiceInfo, *, changes: bool) -> str | None:
    """Why the caller may not act on this service, typed as ``typed`` (None: they may)."""
    if short_prefix(typed, Target(name=info.name, image=info.image, id=info.id, kind="service")):
        return messages.SERVICE_REFUSED["prefix"]
    if not ctx.visible(_summary(info)):
        return messages.SERVICE_REFUSED["reach"]
    if changes and info.labels.get(LABEL_PROTECTED) == "true":
        return messages.SERVICE_REFUSED["protected"]
    if changes and info.labels.get(LABEL_MANAGED) != "true" and ctx.guardrails.read_unmanaged:
        # visible() lets a reader through here without telling whether the `unmanaged` grant did.
        return messages.SERVICE_REFUSED["unmanaged"]
    return None


def _deadline() -> float:
    return time.monotonic() + ROLLOUT_WAIT


def create(ctx: HandlerContext, swarm: SwarmEngine, spec: ServiceSpec) -> Reply:
    """Create the service, wait for its replicas, show its tasks."""
    # `run`'s [policy] defaults (memory, pids) and checks, and the `-e NAME` secrets, for every replica.
    spec = replace(spec, run=run_guard.ready(spec.run, ctx.guardrails, ctx.docker_host))
    labels = ownership_labels(ctx.job.user_id, ctx.job.job_id)
    ctx.progress(f"creating a service from {spec.run.image}…")
    service_id = swarm.create_service(spec, task_template(spec, labels), labels)
    info = swarm.wait_converged(service_id, _deadline(), ctx.progress)
    grid = formatting.tasks_table(swarm.tasks(service_id), time.time())
    return Reply(text=messages.replicas(info.name, info.running, info.desired, "Created service "),
                 body=grid.render(), filename="service-ps.txt", ok=info.running == info.desired)


def scale(ctx: HandlerContext, swarm: SwarmEngine, args: ServiceArgs) -> Reply:
    """Set each service's replicas and wait for them."""
    lines, ok = [], True
    for name, n in args.replicas.items():
        swarm.set_replicas(name, n)
        info = swarm.wait_converged(name, _deadline(), ctx.progress)
        ok = ok and info.running == info.desired
        lines.append(messages.replicas(name, info.running, info.desired, "Scaled "))
    return Reply(text="\n".join(lines), ok=ok)


def rollout(ctx: HandlerContext, swarm: SwarmEngine, args: ServiceArgs) -> Reply:
    """`update` (new image and/or update policy) or `rollback`, followed to its end."""
    name = args.names[0]
    before = swarm.update_started(name)
    if args.action == "rollback":
        swarm.rollback(name)
    elif not swarm.update(name, image=args.image, policy=args.update):
        info = swarm.service(name)
        return Reply(text=messages.service_rollout(name, "update", "unchanged", "", info.image))
    info = swarm.wait_rollout(name, before, _deadline(), ctx.progress)
    ok = info.update_state == ("rollback_completed" if args.action == "rollback" else "completed")
    said = "" if ok else info.update_message  # why Swarm paused or rolled back, in its words
    return Reply(text=messages.service_rollout(name, args.action, info.update_state, said, info.image), ok=ok,
                 detail=info.update_state.replace("_", " "))


def logs(ctx: HandlerContext, swarm: SwarmEngine, args: ServiceArgs) -> Reply:
    """Every task's output, the newest part if it is huge."""
    name = args.names[0]
    data = swarm.service_logs(name, tail=args.tail, max_bytes=MAX_LOG_BYTES + 1)
    truncated = len(data) > MAX_LOG_BYTES
    text = data[-MAX_LOG_BYTES:].decode("utf-8", errors="replace")
    return Reply(text=messages.logs_summary(name, len(text.splitlines()), truncated), body=text or None,
                 filename=messages.safe_filename(name, ".log"), log=True)


def handle(ctx: HandlerContext, args: ServiceArgs) -> Reply:
    """Check the named services, then run the subcommand."""
    swarm = SwarmEngine.of(ctx.docker)
    if args.action == "ls":
        rows = swarm.services()
        shown = [s for s in rows if ctx.visible(_summary(s))]
        grid = formatting.services_table(shown)
        return Reply(text=messages.listed(len(shown), "service", len(rows) - len(shown)), body=grid.render(),
                     filename="services.txt", table=grid)
    if args.spec is not None:
        return create(ctx, swarm, args.spec)
    typed = service_targets(args)
    infos = [swarm.service(name) for name in typed]
    for name, info in zip(typed, infos, strict=True):
        why = refusal(ctx, name, info, changes=args.action not in READS)
        if why is not None:
            return Reply(text=messages.not_allowed(f"not allowed: `{name}` {why}"), ok=False,
                         detail="not allowed")
    if args.action == "ps":
        now = time.time()
        texts = [messages.replicas(i.name, i.running, i.desired, "Tasks of ") for i in infos]
        bodies = [formatting.tasks_table(swarm.tasks(i.id), now).render() for i in infos]
        return Reply(text="\n".join(texts), body="\n\n".join(bodies), filename="service-ps.txt")
    if args.action == "logs":
        return logs(ctx, swarm, args)
    if args.action == "scale":
        return scale(ctx, swarm, args)
    if args.action == "rm":
        return for_each(ctx, args.names, swarm.remove_service, "removing", "Removed")
    return rollout(ctx, swarm, args)


# `service` and each subcommand under its own name (`service-scale web=2` is `service scale web=2`).
HANDLERS = tuple(Handler(verb, ServiceArgs, handle)
                 for verb in ("service", *(subverb("service", a) for a in SERVICE_ACTIONS)))
