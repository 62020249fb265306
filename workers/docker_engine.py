"""The real ``DockerPort`` over the docker SDK (reached through ``workers.docker_connect``).

Errors are translated here, at the edge: ``NotFound`` -> ``TargetNotFound``, any other ``APIError`` ->
``DockerError`` (both carrying Docker's own explanation), connection errors and timeouts ->
``DockerUnavailable``. Nothing from ``docker`` or ``requests`` escapes this module.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import docker
import docker.errors
import docker.types
import docker.utils
import requests.exceptions
import urllib3.exceptions

from dockbolt.core.args import RunArgs
from dockbolt.core.errors import DockerError, DockerUnavailable, TargetNotFound
from dockbolt.core.settings import DockerTLS
from workers import log_stream
from workers.docker_connect import DEFAULT_DOCKER_HOST, client_for
from workers.docker_connect import reason as _reason
from workers.docker_port import (
    ContainerSummary,
    DockerPort,
    ImageSummary,
    LogStreamCut,
    PortMapping,
    PulledImage,
    RunResult,
)

DEFAULT_TIMEOUT = 60
ENGINE_STOP_TIMEOUT = 10  # what the engine gives a container with no --stop-timeout of its own (Linux)


def _explanation(exc: docker.errors.APIError) -> str:
    explanation = exc.explanation
    if isinstance(explanation, bytes):
        explanation = explanation.decode(errors="replace")
    return str(explanation).strip() if explanation else str(exc)


class DockerEngine:
    """``DockerPort`` backed by a real Docker engine."""

    def __init__(self, client: docker.DockerClient, host: str) -> None:
        self._client = client
        self._api = client.api
        self.host = host

    @contextmanager
    def _edge(self, not_found: type[Exception] = TargetNotFound) -> Iterator[None]:
        """Translate SDK and transport errors into dockbolt errors, in Docker's words."""
        try:
            yield
        except docker.errors.NotFound as exc:
            raise not_found(_explanation(exc)) from exc
        except docker.errors.APIError as exc:
            raise DockerError(_explanation(exc)) from exc
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise DockerUnavailable(f"Cannot reach the Docker engine at {self.host}: {_reason(exc)}") from exc
        except docker.errors.DockerException as exc:
            raise DockerError(str(exc)) from exc

    def ping(self) -> None:
        """Return if the engine answers; raise DockerUnavailable otherwise."""
        with self._edge():
            self._api.ping()

    def close(self) -> None:
        """Close the client's pooled connections."""
        self._client.close()

    def list_containers(
        self, show_all: bool = False, filters: Mapping[str, Sequence[str]] | None = None
    ) -> list[ContainerSummary]:
        """List containers newest first (the engine's order)."""
        with self._edge():
            rows = self._api.containers(
                all=show_all, filters={k: list(v) for k, v in (filters or {}).items()}
            )
        return [_summary(r) for r in rows]

    def list_images(self) -> list[ImageSummary]:
        """List local images (not intermediate layers)."""
        with self._edge():
            rows = self._api.images()
        return [
            ImageSummary(
                id=str(r["Id"]),
                repo_tags=tuple(t for t in r.get("RepoTags") or () if t != "<none>:<none>"),
                created=int(r.get("Created") or 0),
                size=int(r.get("Size") or 0),
            )
            for r in rows
        ]

    def inspect(self, name: str) -> dict[str, Any]:
        """Inspect a container, else an image; neither -> TargetNotFound like ``docker inspect``."""
        with self._edge():
            try:
                return dict(self._api.inspect_container(name))
            except docker.errors.NotFound:
                pass
            try:
                return dict(self._client.images.get(name).attrs)
            except docker.errors.NotFound:
                raise TargetNotFound(f"No such object: {name}") from None

    def run(self, spec: RunArgs, labels: Mapping[str, str]) -> RunResult:
        """Create and start a container the way ``docker run -d`` does (never pulls)."""
        if spec.secret_env:
            # The handler resolves bare `-e NAME` first; passing the bare name would copy our own variable.
            raise ValueError("secret_env must be resolved before run()")
        bindings: dict[int | str, list[dict[str, str]]] = {}
        for port in spec.ports:
            key = f"{port.container_port}/{port.proto}"
            bindings.setdefault(key, []).append({"HostIp": port.host_ip, "HostPort": port.host_port})
        mounts = [
            docker.types.Mount(target=m.target, source=m.source or None, type=m.type, read_only=m.read_only)
            for m in spec.mounts
        ]
        with self._edge(not_found=DockerError):
            host_config = self._api.create_host_config(
                binds=[v.bind for v in spec.volumes] or None,
                mounts=mounts or None,
                port_bindings=bindings or None,
                # The CLI always sends a policy ("no" by default); without it the engine records "".
                restart_policy={"Name": spec.restart.name, "MaximumRetryCount": spec.restart.max_retries}
                if spec.restart
                else {"Name": "no", "MaximumRetryCount": 0},
                network_mode=spec.network,
                mem_limit=spec.memory,
                nano_cpus=spec.nano_cpus,
                pids_limit=spec.pids_limit,
                privileged=spec.privileged,
                cap_add=list(spec.cap_add) or None,
                cap_drop=list(spec.cap_drop) or None,
                devices=list(spec.devices) or None,
                pid_mode=spec.pid_mode,
                ipc_mode=spec.ipc_mode,
                userns_mode=spec.userns_mode,
                security_opt=list(spec.security_opt) or None,
                read_only=spec.read_only or None,
            )
            # The CLI always sends PortBindings; inspect then shows {} instead of null.
            host_config.setdefault("PortBindings", {})
            # Low-level create on purpose: containers.run() pulls a missing image on its own (the handler
            # decides, as `--pull` says) and containers.create() also fills Config.Volumes, which the CLI
            # leaves empty.
            created = self._api.create_container(
                image=spec.image,
                command=list(spec.command) or None,
                name=spec.name,
                environment=list(spec.env) or None,
                labels={**spec.labels, **labels},
                ports=[tuple(str(key).split("/", 1)) for key in bindings]
                or None,  # ("80", "udp"): no "/tcp" added
                user=spec.user,
                working_dir=spec.workdir,
                detach=True,
                host_config=host_config,
            )
            cid = str(created["Id"])
            try:
                self._api.start(cid)
            except Exception:
                # Unlike `docker run`, do not leave a never-started container holding the name.
                with self._edge():
                    self._api.remove_container(cid, force=True)
                raise
            name = str(self._api.inspect_container(cid)["Name"]).lstrip("/")
        return RunResult(id=cid, name=name)

    def has_image(self, image: str) -> bool:
        """True when the engine resolves ``image`` to a local image (as `docker run` looks it up)."""
        with self._edge():
            try:
                self._client.images.get(image)
            except docker.errors.NotFound:
                return False
        return True

    def pull(self, image: str, on_progress: Callable[[Mapping[str, Any]], None]) -> PulledImage:
        """The pull API, streamed. Credentials are the SDK's: the ``auths`` (or credential helpers) of the
        worker's docker config for the image's registry, read when the client was made (a job connects
        afresh, so an edited config counts from the next job), sent only to the engine, never logged here.
        An error in the stream (the engine may start answering before the registry refuses) is raised like
        an error status."""
        repository, _ = docker.utils.parse_repository_tag(image)
        digest = ""
        with self._edge(not_found=DockerError):
            for chunk in self._api.pull(image, stream=True, decode=True):
                if "error" in chunk:
                    raise DockerError(str(chunk.get("error") or "the pull failed").strip())
                status = str(chunk.get("status") or "")
                if status.startswith("Digest: "):
                    digest = status.removeprefix("Digest: ").strip()
                on_progress(chunk)
            doc = dict(self._client.images.get(image).attrs)
        # The engine says "Digest: …" when it fetched a manifest; else the one recorded for this repository.
        recorded = [e.partition("@")[2] for e in map(str, doc.get("RepoDigests") or ())
                    if e.startswith(repository + "@")]
        return PulledImage(id=str(doc.get("Id") or ""), digest=digest or next(iter(recorded), ""),
                           size=int(doc.get("Size") or 0))

    def _grace(self, name: str, timeout: int | None) -> tuple[str, int]:
        """The container to stop and the seconds it gets before SIGKILL: ``timeout`` (``-t``), else its
        own ``--stop-timeout``, else the engine's default. The SDK waits that long plus its own client
        timeout for the answer, so a long stop is not mistaken for an unreachable engine (without an
        explicit ``t`` it would wait only 10 s more than its client timeout)."""
        if timeout is not None:
            return name, timeout
        doc = self._api.inspect_container(name)
        own = (doc.get("Config") or {}).get("StopTimeout")
        # By id from here on: the name cannot come to mean another container between the two calls.
        return str(doc["Id"]), ENGINE_STOP_TIMEOUT if own is None else int(own)

    def _unbounded(self, target: str, action: str, grace: int) -> None:
        """POST stop/restart with a negative ``t`` (the engine waits for the container however long it
        takes) and no read timeout, which the SDK would make its client timeout minus one second."""
        url = f"{self._api.base_url}/v{self._api.api_version}/containers/{target}/{action}"
        with self._api.post(url, params={"t": grace}, timeout=None) as res:
            try:
                res.raise_for_status()
            except requests.exceptions.HTTPError as exc:
                docker.errors.create_api_error_from_http_exception(exc)  # raises, in Docker's words

    def stop(self, name: str, timeout: int | None = None) -> None:
        """Stop a container, giving it its own stop timeout unless ``timeout`` is given."""
        with self._edge():
            target, grace = self._grace(name, timeout)
            if grace < 0:
                self._unbounded(target, "stop", grace)
            else:
                self._api.stop(target, timeout=grace)

    def start(self, name: str) -> None:
        """Start a container."""
        with self._edge():
            self._api.start(name)

    def restart(self, name: str, timeout: int | None = None) -> None:
        """Restart a container, giving it its own stop timeout unless ``timeout`` is given."""
        with self._edge():
            # The SDK always sends a timeout (10 s when given none), which would override the container's.
            target, grace = self._grace(name, timeout)
            if grace < 0:
                self._unbounded(target, "restart", grace)
            else:
                self._api.restart(target, timeout=grace)

    def remove(self, name: str, force: bool = False) -> None:
        """Remove a container."""
        with self._edge():
            self._api.remove_container(name, force=force)

    def rename(self, name: str, new_name: str) -> None:
        """Rename a container."""
        with self._edge():
            self._api.rename(name, new_name)

    def exec(self, name: str, cmd: Sequence[str]) -> tuple[int, str]:
        """Run ``cmd`` in the container and wait for it (bounded by the client's timeout)."""
        with self._edge():
            created = self._api.exec_create(name, list(cmd), stdout=True, stderr=True)
            output = self._api.exec_start(created["Id"], stream=False, demux=False)
            code = self._api.exec_inspect(created["Id"]).get("ExitCode")
        text = output.decode(errors="replace") if isinstance(output, bytes) else str(output or "")
        return (int(code) if code is not None else -1), text[-2048:]

    def logs(
        self,
        name: str,
        *,
        tail: int | None = None,
        since_unix: int | None = None,
        timestamps: bool = False,
        max_bytes: int,
    ) -> bytes:
        """Stream the log and keep only the newest ``max_bytes`` bytes; raise ``LogStreamCut`` (with what
        arrived) unless the engine ended the stream cleanly.

        The request is made here rather than by the SDK's ``logs(stream=True)``, whose reader takes an
        early EOF or a truncated frame for the end and reads with no timeout at all (a silent engine hangs
        the job); here each read has the client's timeout and only the response's own end counts.
        """
        params: dict[str, Any] = {"stdout": 1, "stderr": 1, "follow": 0, "timestamps": int(timestamps),
                                  "tail": "all" if tail is None else int(tail)}
        if since_unix and since_unix > 0:
            params["since"] = since_unix
        with self._edge():
            doc = self._api.inspect_container(name)  # by id from here on, and whether it has a tty
            cid, tty = str(doc["Id"]), bool((doc.get("Config") or {}).get("Tty"))
            url = f"{self._api.base_url}/v{self._api.api_version}/containers/{cid}/logs"
            res = self._api.get(url, params=params, stream=True, timeout=self._api.timeout)
        buf = bytearray()
        try:
            with self._edge():
                try:
                    res.raise_for_status()
                except requests.exceptions.HTTPError as exc:
                    docker.errors.create_api_error_from_http_exception(exc)  # raises, in Docker's words
            for chunk in log_stream.raw_chunks(res.raw) if tty else log_stream.frames(res.raw):
                buf += chunk
                if len(buf) > 2 * max_bytes:
                    del buf[: len(buf) - max_bytes]
        except (log_stream.Truncated, urllib3.exceptions.HTTPError, requests.exceptions.RequestException,
                OSError) as exc:
            kept = bytes(buf[-max_bytes:]) if max_bytes > 0 else b""
            raise LogStreamCut(log_stream.cut_reason(exc, self._api.timeout, _reason), kept) from exc
        finally:
            res.close()
        return bytes(buf[-max_bytes:]) if max_bytes > 0 else b""

    def stats(self, name: str) -> dict[str, Any]:
        """One stats sample; ``stream=False`` waits for a second reading, so precpu_stats is filled."""
        with self._edge():
            return dict(self._api.stats(name, stream=False))

    def build(self, path: str, *, tag: str, dockerfile: str, build_args: Mapping[str, str], no_cache: bool,
              labels: Mapping[str, str], on_output: Callable[[str], None]) -> str:
        """The low-level build API, streamed: each output chunk goes to ``on_output`` as it arrives.

        The labels are one LABEL instruction at the end of a copy of the Dockerfile, sent along with the
        context (which is left as it is): the API's ``labels`` option costs the classic builder one step —
        a container and a commit — per label.
        """
        with tempfile.TemporaryDirectory(prefix="dockbolt-dockerfile-") as tmp:
            copy = os.path.join(tmp, "Dockerfile")
            with open(os.path.join(path, dockerfile), encoding="utf-8", errors="surrogateescape") as f:
                text = f.read().rstrip("\n")
            label = " ".join(f"{key}={json.dumps(value)}" for key, value in sorted(labels.items()))
            with open(copy, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(f"{text}\nLABEL {label}\n" if label else text + "\n")
            return self._build(path, copy, tag, build_args, no_cache, on_output)

    def _build(self, path: str, dockerfile: str, tag: str, build_args: Mapping[str, str], no_cache: bool,
               on_output: Callable[[str], None]) -> str:
        image_id = ""
        with self._edge():
            for chunk in self._api.build(path=path, tag=tag, dockerfile=dockerfile,
                                         buildargs=dict(build_args), nocache=no_cache,
                                         rm=True, forcerm=True, pull=False, decode=True):
                if "error" in chunk:
                    raise DockerError(str(chunk.get("error") or "the build failed").strip())
                if chunk.get("stream"):
                    on_output(str(chunk["stream"]))
                aux = chunk.get("aux")
                if isinstance(aux, dict) and aux.get("ID"):
                    image_id = str(aux["ID"])
        if not image_id:
            raise DockerError("the builder ended without an image")
        return image_id


def _summary(row: Mapping[str, Any]) -> ContainerSummary:
    return ContainerSummary(
        id=str(row["Id"]),
        names=tuple(str(n).lstrip("/") for n in row.get("Names") or ()),
        image=str(row.get("Image") or ""),
        image_id=str(row.get("ImageID") or ""),
        command=str(row.get("Command") or ""),
        created=int(row.get("Created") or 0),
        state=str(row.get("State") or ""),
        status=str(row.get("Status") or ""),
        ports=tuple(
            PortMapping(
                int(p.get("PrivatePort") or 0),
                str(p.get("Type") or "tcp"),
                str(p.get("IP") or ""),
                int(p.get("PublicPort") or 0),
            )
            for p in row.get("Ports") or ()
        ),
        labels=dict(row.get("Labels") or {}),
    )


def close_stream(stream: Any) -> None:
    """Close a streaming answer of the SDK (its socket shut down: a read blocked on it returns); twice is
    harmless. Over ssh the SDK cannot (a paramiko channel): such a stream ends with its read timeout."""
    with suppress(docker.errors.DockerException, OSError, AttributeError):
        stream.close()


def connect(docker_host: str | None, timeout: int = DEFAULT_TIMEOUT,
            tls: DockerTLS | None = None) -> DockerPort:
    """Connect to the engine at ``docker_host`` (default: the local socket; ``tls`` as the docker CLI's
    variables say); its ``/_ping`` has answered (``client_for`` negotiates the API version by it)."""
    return DockerEngine(client_for(docker_host, timeout, tls), docker_host or DEFAULT_DOCKER_HOST)
