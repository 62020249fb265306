"""How a worker or a watcher reaches its engine: the way the docker CLI does.

``DOCKER_HOST`` (``unix://``, ``tcp://``), and for ``tcp://`` the CLI's TLS variables as
``dockbolt.core.settings.DockerTLS`` carries them: ``DOCKER_CERT_PATH`` (``ca.pem``, ``cert.pem``,
``key.pem``) turns TLS on, ``DOCKER_TLS_VERIFY`` makes the client check the engine's certificate against
``ca.pem`` (and no CA bundle from the environment: environment proxies are not used either). Errors
become ``DockerUnavailable`` in the engine's or the OS's words. With
``workers.docker_engine`` and ``workers.docker_monitor``, one of the three modules that import ``docker``.
"""

from __future__ import annotations

import os
import socket

import docker
import docker.errors
import docker.tls
import requests.exceptions

from dockbolt.core.errors import DockerUnavailable
from dockbolt.core.settings import DockerTLS

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
MIN_API_VERSION = "1.24"  # the SDK's oldest: only used to ask a TLS engine which version it speaks
MAX_POOL = 16  # as large as the stats handler's parallelism, so concurrent samples reuse connections


def reason(exc: BaseException) -> str:
    """The innermost OS-level reason of a connection error ("Connection refused"), else the message."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.strerror:
            return e.strerror
        todo += [a for a in e.args if isinstance(a, BaseException)]
        todo += [
            x
            for x in (e.__cause__, e.__context__, getattr(e, "reason", None))
            if isinstance(x, BaseException)
        ]
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def probe_unix_socket(host: str, timeout: float) -> None:
    """Fail fast on a missing or dead socket (the SDK would also leak the socket of a failed connect)."""
    path = host.removeprefix("unix://")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except OSError as exc:
            raise DockerUnavailable(f"Cannot reach the Docker engine at {host}: {reason(exc)}") from exc


def tls_config(tls: DockerTLS) -> docker.tls.TLSConfig:
    """The SDK's TLS settings from the CLI's files; a missing file is said by name."""
    files = {name: os.path.join(tls.cert_path, name) for name in ("ca.pem", "cert.pem", "key.pem")}
    missing = [path for path in files.values() if not os.path.isfile(path)]
    if missing:
        raise DockerUnavailable(f"DOCKER_CERT_PATH {tls.cert_path}: missing {', '.join(missing)}")
    try:
        return docker.tls.TLSConfig(client_cert=(files["cert.pem"], files["key.pem"]),
                                    ca_cert=files["ca.pem"] if tls.verify else None, verify=tls.verify)
    except docker.errors.TLSParameterError as exc:
        raise DockerUnavailable(f"DOCKER_CERT_PATH {tls.cert_path}: {exc}") from exc


def client_for(docker_host: str | None, timeout: int, tls: DockerTLS | None = None) -> docker.DockerClient:
    """A client for the engine at ``docker_host`` (default: the local socket), TLS as the CLI would."""
    host = docker_host or DEFAULT_DOCKER_HOST
    if host.startswith("unix://"):
        probe_unix_socket(host, timeout)
    config = tls_config(tls) if tls is not None and tls.enabled and host.startswith("tcp://") else None
    try:
        if config is None:
            # Negotiating the API version already talks to the daemon: an unreachable engine fails here.
            return docker.DockerClient(base_url=host, version="auto", timeout=timeout, max_pool_size=MAX_POOL)
        return _tls_client(host, timeout, config)
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError, ValueError) as exc:
        raise DockerUnavailable(f"Cannot reach the Docker engine at {host}: {reason(exc)}") from exc


def _tls_client(host: str, timeout: int, config: docker.tls.TLSConfig) -> docker.DockerClient:
    """A TLS client that trusts only DOCKER_CERT_PATH's ca.pem, as the CLI does.

    requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override a session's CA, so the session must
    not read the environment (``trust_env``); the SDK negotiates the API version in its constructor,
    before that can be switched off, so the version is asked first, by a client pinned to the oldest.
    """
    probe = docker.APIClient(base_url=host, version=MIN_API_VERSION, timeout=timeout, tls=config)
    probe.trust_env = False
    try:
        version = str(probe.version(api_version=False)["ApiVersion"])
    finally:
        probe.close()
    client = docker.DockerClient(base_url=host, version=version, timeout=timeout, max_pool_size=MAX_POOL,
                                 tls=config)
    client.api.trust_env = False
    return client
