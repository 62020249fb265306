"""Build and deploy: a build through the bot vs `docker build`, the Slack calls of a chatty build, and
`deploy` end to end with its phases.

``deploy_figures`` starts its own private Redis, stand-in Slack, bot and one worker, with the bench config
plus a ``[build]`` table (context roots under a temporary directory) and an ``[apps.benchweb]`` app: a
busybox httpd serving ``/www/version.txt`` from a local git repository with tags v1 and v2, published on a
free 127.0.0.1 port (so it switches stop-first); it runs under a shell that exits on SIGTERM, so that the
switch measures dockbolt, not Docker's 10 s stop timeout for a PID 1 that ignores SIGTERM. Everything is
built from the local test image (there is no registry); the containers and images it made are removed
afterwards.

- build: ``build --no-cache -t TAG DIR`` sent as a signed slash command until the job's card is final, vs
  ``docker build --no-cache -t TAG DIR``; medians over ``rounds`` rounds each, the order alternating.
- Slack calls: the stand-in's recorded Web API calls (``usergroups.users.list`` excluded) of one
  ``build --no-cache`` of a context printing 10,000 lines.
- deploy: ``deploy benchweb --ref v1`` / ``--ref v2`` alternating, end to end (send → card final), and
  the phases of each deploy as the worker recorded them (``DeployStore.history``); medians.

Run alone: ``python -m bench.deploybench``.
"""

from __future__ import annotations

import contextlib
import html
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
import docker.errors

from dockbolt.cli.local_redis import LocalRedis
from dockbolt.core.deploys import DeployStore
from tests.support.harness import Pipeline, start_pipeline

USER = "UBENCH"
IMAGE = "dockbolt-test/busybox:latest"
BUSYBOX = Path("/bin/busybox")
BUSYBOX_DOCKERFILE = 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\n'
REPOSITORY = "dhbench"
APP = "benchweb"
APP_IMAGE = f"{REPOSITORY}/web"
APP_CONTAINER = "dhbench-web"
APP_CHANNEL = "CDEPLOYS"
PHASES = ("build", "start", "health", "switch")
FINAL = ("done", "failed", "timed_out", "lost")
CHATTY_LINES = 10_000
GIT = ["git", "-c", "user.name=b", "-c", "user.email=b@example.com"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_test_image(client: docker.DockerClient) -> None:
    """Build the busybox test image from /bin/busybox when it is missing (there is no registry)."""
    with contextlib.suppress(docker.errors.ImageNotFound):
        client.images.get(IMAGE)
        return
    if not BUSYBOX.exists():
        raise RuntimeError(f"{IMAGE} is missing and {BUSYBOX} is not there to build it")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(BUSYBOX, Path(tmp) / "busybox")
        (Path(tmp) / "Dockerfile").write_text(BUSYBOX_DOCKERFILE)
        client.images.build(path=tmp, tag=IMAGE, rm=True)


def dockerfile(directory: Path, *steps: str) -> Path:
    """A context directory whose Dockerfile starts FROM the test image."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Dockerfile").write_text("\n".join([f"FROM {IMAGE}", *steps]) + "\n")
    return directory


def web_repo(root: Path, versions: list[str]) -> Path:
    """A git repository of a busybox httpd app serving /version.txt, one tag per version."""
    # httpd as PID 1 ignores SIGTERM: each stop-first switch would wait Docker's 10 s stop timeout
    serve = """CMD ["sh", "-c", "trap 'exit 0' TERM; httpd -f -p 80 -h /www & wait"]"""
    dockerfile(root, "COPY www /www", serve)
    (root / "www").mkdir()

    def git(*argv: str) -> None:
        subprocess.run([*GIT, "-C", str(root), *argv], check=True, capture_output=True)

    git("init", "-q")
    for version in versions:
        (root / "www" / "version.txt").write_text(f"{version}\n")
        git("add", "-A")
        git("commit", "-qm", version)
        git("tag", version)
    return root


def app_config(base: str, roots: Path, repo: Path, port: int) -> str:
    """The bench config with the bench's images allowed, a [build] table and the benchweb app."""
    if 'allowed_images = ["' in base:
        base = base.replace('allowed_images = ["', f'allowed_images = ["{REPOSITORY}/*", "', 1)
    return base + f"""
[build]
context_roots = ["{roots}"]

[apps.{APP}]
context = "file://{repo}"
image = "{APP_IMAGE}"
container = "{APP_CONTAINER}"
channel = "{APP_CHANNEL}"
run = {{ ports = ["{port}:80"] }}
health = {{ cmd = "wget -q -O- http://127.0.0.1/version.txt", timeout = "30s" }}
"""


def thread_text(p: Pipeline, job_id: str) -> str:
    """The job's thread, for error messages."""
    card = p.standin.find_card(job_id)
    if card is None:
        return "(no card)"
    return html.unescape(" ".join(m.text for m in p.standin.thread(card.channel, card.ts)))


def through_bot(p: Pipeline, text: str, user: str, timeout: float = 300) -> tuple[str, float]:
    """Signed request → the job's card final (ms); fails unless the card says done. (job id, ms)."""
    t0 = time.perf_counter()
    resp = p.send(text, user_id=user)
    job_id = p.job_of(resp)
    if job_id is None:
        raise RuntimeError(f"`{text}` was not accepted: {resp.body}")

    def final() -> str | None:
        card = p.standin.find_card(job_id)
        return card.status if card is not None and card.status in FINAL else None

    status = p.standin.wait_for(final, timeout=timeout)
    ms = (time.perf_counter() - t0) * 1000
    if status != "done":
        raise RuntimeError(f"`{text}` ended {status}: {thread_text(p, job_id)}\n{p.worker_log()[-3000:]}")
    return job_id, ms


def timed_cli(argv: list[str]) -> float:
    """Wall time of one docker CLI command, in ms."""
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return (time.perf_counter() - t0) * 1000


def bench_build(p: Pipeline, ctx: Path, rounds: int, user: str,
                tags: list[str]) -> tuple[float, float, float]:
    """Medians (ms) of the same --no-cache build through the bot, through the docker CLI, and through the
    CLI with the three ownership labels the bot puts on every image (`--label`: one build step each)."""
    bot: list[float] = []
    cli: list[float] = []
    labelled: list[float] = []
    for i in range(rounds + 1):  # round 0 warms them up
        bot_tag, cli_tag = f"{REPOSITORY}/build:bot-{i}", f"{REPOSITORY}/build:cli-{i}"
        tags += [bot_tag, cli_tag, cli_tag + "-l"]

        def via_bot(tag: str = bot_tag) -> float:
            return through_bot(p, f"build --no-cache -t {tag} {ctx}", user)[1]

        def via_cli(tag: str = cli_tag) -> float:
            return timed_cli(["docker", "build", "--no-cache", "-t", tag, str(ctx)])

        def via_cli_labelled(tag: str = cli_tag + "-l", job: str = f"cli{i}") -> float:
            return timed_cli(["docker", "build", "--no-cache", "-t", tag, "--label", "dockbolt.managed=true",
                              "--label", f"dockbolt.created-by={user}", "--label", f"dockbolt.job={job}",
                              str(ctx)])

        order = [via_bot, via_cli, via_cli_labelled]
        order = order[i % 3:] + order[:i % 3]  # each goes first in turn
        took = {f: f() for f in order}
        if i == 0:
            continue
        bot.append(took[via_bot])
        cli.append(took[via_cli])
        labelled.append(took[via_cli_labelled])
    return statistics.median(bot), statistics.median(cli), statistics.median(labelled)


def slack_calls_of_chatty_build(p: Pipeline, ctx: Path, user: str, tags: list[str]) -> list[str]:
    """The Web API methods called for one --no-cache build printing 10,000 lines (settled afterwards)."""
    tag = f"{REPOSITORY}/chatty:v1"
    tags.append(tag)
    before = len(p.standin.calls)
    through_bot(p, f"build --no-cache -t {tag} {ctx}", user)
    settled, count = time.monotonic(), len(p.standin.calls)
    while time.monotonic() - settled < 2.0:  # calls still arriving after the card is final count too
        time.sleep(0.1)
        if len(p.standin.calls) != count:
            settled, count = time.monotonic(), len(p.standin.calls)
    return [c.method for c in p.standin.calls[before:] if c.method != "usergroups.users.list"]


def bench_deploys(p: Pipeline, deploys: int, versions: list[str], user: str) -> dict[str, float]:
    """Deploy the app ``deploys`` times (one warm-up first), the ref alternating; medians in seconds."""
    store = DeployStore(p.redis)
    ends: list[float] = []
    jobs: list[str] = []
    for i in range(deploys + 1):
        job_id, ms = through_bot(p, f"deploy {APP} --ref {versions[i % len(versions)]}", user)
        if i > 0:
            ends.append(ms / 1000)
            jobs.append(job_id)
    history = {d.job: d for d in store.history(APP, limit=deploys + 1)}
    measured = [history[j] for j in jobs if j in history]
    if len(measured) != len(jobs):
        raise RuntimeError(f"only {len(measured)} of {len(jobs)} deploys are in the history of {APP}")
    bad = [d for d in measured if d.outcome != "succeeded"]
    if bad:
        raise RuntimeError(f"deploys did not succeed: {bad}")
    out = {"deploy e2e s": statistics.median(ends),
           "deploy recorded s": statistics.median(d.duration for d in measured)}
    for phase in PHASES:
        out[f"{phase} s"] = statistics.median(d.phases.get(phase, 0.0) for d in measured)
    out["other s"] = out["deploy recorded s"] - sum(out[f"{phase} s"] for phase in PHASES)
    return out


def cleanup(client: docker.DockerClient, tags: list[str]) -> None:
    """Remove the app's containers, the images tagged here and every image of the app's repository."""
    names = [APP_CONTAINER, f"{APP_CONTAINER}-previous", f"{APP_CONTAINER}-previous.old",
             f"{APP_CONTAINER}-next"]
    for name in names:
        with contextlib.suppress(docker.errors.NotFound):
            client.containers.get(name).remove(force=True, v=True)
    # …and the untagged ones its rebuilt tags left (each build carries its job id: a new image each time).
    untagged = client.images.list(filters={"dangling": True, "label": f"dockbolt.app={APP}"})
    images = [*tags, *(i.id for i in [*client.images.list(name=APP_IMAGE), *untagged] if i.id)]
    for image in images:
        with contextlib.suppress(docker.errors.ImageNotFound, docker.errors.APIError):
            client.images.remove(image, force=True)


def deploy_figures(config_text: str | None = None, user: str = USER, rounds: int = 5,
                   deploys: int = 4) -> dict[str, float]:
    """Build end to end vs `docker build`, Slack calls of a 10,000-line build, deploy end to end and its
    phases; ``config_text`` is the bench config (``bench_config()``) in which ``user`` is an admin."""
    if config_text is None:
        from bench.__main__ import bench_config  # run alone: the bench's own config

        config_text = bench_config()
    client = docker.from_env()
    tags: list[str] = []
    try:
        ensure_test_image(client)
        with LocalRedis() as local, tempfile.TemporaryDirectory(prefix="dhbench-") as tmp:
            roots = Path(tmp) / "contexts"
            logs = Path(tmp) / "logs"
            logs.mkdir()
            ctx = dockerfile(roots / "build", "RUN seq 1 2000", "RUN echo hi > /x", "COPY . /app")
            chatty = dockerfile(roots / "chatty", f"RUN seq 1 {CHATTY_LINES}", "RUN echo done")
            versions = ["v1", "v2"]
            repo = web_repo(roots / "web", versions)
            p = start_pipeline(local.url, logs, app_config(config_text, roots, repo, free_port()))
            try:
                p.start_worker()
                bot_ms, cli_ms, labelled_ms = bench_build(p, ctx, rounds, user, tags)
                calls = slack_calls_of_chatty_build(p, chatty, user, tags)
                deploy = bench_deploys(p, deploys, versions, user)
            finally:
                p.close()
    finally:
        cleanup(client, tags)
        client.close()
    return {"build bot ms": bot_ms, "build cli ms": cli_ms, "build ratio": bot_ms / cli_ms,
            "build labelled cli ms": labelled_ms,
            "slack calls": float(len(calls)), **deploy}


def report(f: dict[str, float]) -> str:
    """The figures as the bench prints them: build vs `docker build`, Slack calls, deploy and its phases."""
    ratio, calls = f["build ratio"], f["slack calls"]
    return (f"build --no-cache end-to-end p50 {f['build bot ms']:.0f} ms vs `docker build` "
            f"{f['build cli ms']:.0f} ms: {ratio:.2f}× (goal ≤1.15×, {'yes' if ratio <= 1.15 else 'NO'}); "
            f"vs `docker build` with the same 3 labels {f['build labelled cli ms']:.0f} ms: "
            f"{f['build bot ms'] / f['build labelled cli ms']:.2f}×; "
            f"Slack API calls of a {CHATTY_LINES:,}-line build: {calls:.0f} "
            f"(goal ≤20, {'yes' if calls <= 20 else 'NO'})"
            f"\ndeploy (stop-first, p50 s): end-to-end {f['deploy e2e s']:.2f}, "
            f"recorded {f['deploy recorded s']:.2f}"
            " = " + ", ".join(f"{phase} {f[f'{phase} s']:.2f}" for phase in (*PHASES, "other")))


if __name__ == "__main__":
    print(report(deploy_figures()))
    sys.exit(0)
