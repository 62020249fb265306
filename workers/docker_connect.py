"""How a worker or a watcher reaches its engine: the way the docker CLI does.

``DOCKER_HOST`` (``unix://``, ``tcp://``, ``ssh://[user@]host[:port]``), and for ``tcp://`` the CLI's TLS
variables as ``dockbolt.core.settings.DockerTLS`` carries them: ``DOCKER_CERT_PATH`` (``ca.pem``,
``cert.pem``, ``key.pem``) turns TLS on, ``DOCKER_TLS_VERIFY`` makes the client check the engine's
certificate against ``ca.pem`` (and no CA bundle from the environment: environment proxies are not used
either). Errors become ``DockerUnavailable`` in the engine's or the OS's words. With
``workers.docker_engine`` and ``workers.docker_monitor``, one of the three modules that import ``docker``.

``ssh://`` works as for the CLI: on the engine's host, ``docker system dial-stdio`` is run over ssh and
the API spoken through it (that host needs the docker CLI; the ssh user needs access to its engine). The
ssh side is paramiko (the SDK's ``docker[ssh]``), not the SDK's shell-out to the ``ssh`` binary, because:
one authenticated ssh connection per client carries every HTTP connection as a channel (no process per
connection, nothing left running when the client closes); the SDK's read timeout holds on a channel (the
shell-out socket ignores it: a hung engine would hang a job for ever); a password or passphrase prompt can
never block a worker; failures are exceptions said in words here. Host keys are checked strictly: the
engine's host must be in ``~/.ssh/known_hosts`` or ``/etc/ssh/ssh_known_hosts`` (paramiko's
``RejectPolicy``: an unknown or changed key is refused, never accepted). Keys: ``~/.ssh/id_*``, the ssh
agent, or ``IdentityFile`` in ``~/.ssh/config`` (which may also give ``HostName``, ``User``,
``ProxyCommand``). ``DOCKER_HOST`` is operator configuration; nothing typed in Slack reaches it, and no
shell is involved on this side. A dropped ssh connection is made again on the next request.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import docker
import docker.errors
import docker.tls
import docker.utils
import paramiko  # type: ignore[import-untyped]  # no stubs installed: typed as Any here
import requests
import requests.exceptions
from docker.transport.sshconn import SSHConnection, SSHConnectionPool, SSHHTTPAdapter

from dockbolt.core.errors import DockerUnavailable
from dockbolt.core.settings import DockerTLS

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
MIN_API_VERSION = "1.24"  # the SDK's oldest: only used to ask a TLS engine which version it speaks
MAX_POOL = 16  # as large as the stats handler's parallelism, so concurrent samples reuse connections
SSH_CONNECT_TIMEOUT = 15  # s, at most, for each of: the TCP connect, the ssh banner, authentication
GLOBAL_KNOWN_HOSTS = "/etc/ssh/ssh_known_hosts"  # read by ssh after ~/.ssh/known_hosts, so here too
SSH_URL = "http+docker://ssh"  # where the SDK mounts its ssh adapter (``APIClient.base_url``)
# Concurrent API calls over one ssh connection: sshd refuses channels beyond its MaxSessions (default 10),
# so more wait for a free channel instead of failing.
SSH_MAX_CHANNELS = 10


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
        if host.startswith("ssh://"):
            return _ssh_client(host, timeout)
        if config is None:
            # Negotiating the API version already talks to the daemon: an unreachable engine fails here.
            return _plain_client(host, timeout)
        return _tls_client(host, timeout, config)
    except paramiko.SSHException as exc:
        hint = ""
        if "known_hosts" in str(exc) or isinstance(exc, paramiko.BadHostKeyException):
            hint = f" (the host's ssh key must be in ~/.ssh/known_hosts or {GLOBAL_KNOWN_HOSTS}, as for ssh)"
        raise DockerUnavailable(f"Cannot reach the Docker engine at {host}: {reason(exc)}{hint}") from exc
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError, ValueError) as exc:
        raise DockerUnavailable(f"Cannot reach the Docker engine at {host}: {reason(exc)}") from exc


def api_version(session: requests.Session, base_url: str, timeout: float) -> str:
    """The API version the engine speaks, negotiated as the docker CLI does: from the headers of its
    ``/_ping``, one cheap request that also proves the engine answers. (The SDK's ``version="auto"`` asks
    ``/version``, for which the engine queries containerd and runs its runtimes: ~10 ms on every job.)
    Engines older than API 1.25 send no header: their ``/version`` says it."""
    answer = session.get(f"{base_url}/_ping", timeout=timeout)
    answer.raise_for_status()
    version = answer.headers.get("Api-Version")
    if not version:
        answer = session.get(f"{base_url}/version", timeout=timeout)
        answer.raise_for_status()
        version = str(answer.json()["ApiVersion"])
    return version


def _plain_client(host: str, timeout: int) -> docker.DockerClient:
    """A client of a ``unix://`` or plain ``tcp://`` engine, its API version asked by ``api_version``."""
    local = host.startswith("unix://")  # no proxy or netrc applies: requests need not look for any
    probe = docker.APIClient(base_url=host, version=MIN_API_VERSION, timeout=timeout)
    probe.trust_env = not local
    try:
        version = api_version(probe, probe.base_url, timeout)
    finally:
        probe.close()
    client = docker.DockerClient(base_url=host, version=version, timeout=timeout, max_pool_size=MAX_POOL)
    client.api.trust_env = not local
    return client


def _tls_client(host: str, timeout: int, config: docker.tls.TLSConfig) -> docker.DockerClient:
    """A TLS client that trusts only DOCKER_CERT_PATH's ca.pem, as the CLI does.

    requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override a session's CA, so the session must
    not read the environment (``trust_env``); the SDK negotiates the API version in its constructor,
    before that can be switched off, so the version is asked first, by a client pinned to the oldest.
    """
    probe = docker.APIClient(base_url=host, version=MIN_API_VERSION, timeout=timeout, tls=config)
    probe.trust_env = False
    try:
        version = api_version(probe, probe.base_url, timeout)
    finally:
        probe.close()
    client = docker.DockerClient(base_url=host, version=version, timeout=timeout, max_pool_size=MAX_POOL,
                                 tls=config)
    client.api.trust_env = False
    return client


class _SSHChannelConnection(SSHConnection):
    """One HTTP connection: an ssh channel running ``docker system dial-stdio`` on the engine's host. A
    channel the server refuses (or a dead transport) is a connection error, as a refused connect is."""

    def connect(self) -> None:
        try:
            super().connect()
        except paramiko.SSHException as exc:
            raise ConnectionError(f"ssh channel refused: {exc}") from exc


class _SSHChannelPool(SSHConnectionPool):
    def _new_conn(self) -> Any:  # an SSHConnection (whose stub does not fit urllib3's connection protocol)
        # The pool's timeout is the int it was given (the stub says urllib3.Timeout).
        return _SSHChannelConnection(self.ssh_transport, self.timeout, self.ssh_host)  # type: ignore[arg-type]


class SSHAdapter(SSHHTTPAdapter):
    """The SDK's paramiko ssh adapter, made strict and robust: known hosts from the user's and the
    system's files and nothing else (``RejectPolicy``), bounded connect/banner/auth time, and a new ssh
    connection when the old one died (the SDK's would keep failing on it). Connects when constructed."""

    ssh_params: dict[str, Any]  # set by the SDK from the URL and ~/.ssh/config

    def __init__(self, base_url: str, timeout: int, max_pool_size: int) -> None:
        self.connect_timeout = min(timeout, SSH_CONNECT_TIMEOUT)
        self.ssh_client: paramiko.SSHClient | None = None
        self.global_known_hosts_read = False
        try:
            super().__init__(base_url, timeout, max_pool_size=max_pool_size, shell_out=False)
        except BaseException:
            if self.ssh_client is not None:
                self.ssh_client.close()
            raise

    def _connect(self) -> None:
        client = self.ssh_client
        assert client is not None
        if not self.global_known_hosts_read and os.path.isfile(GLOBAL_KNOWN_HOSTS):
            client.load_system_host_keys(GLOBAL_KNOWN_HOSTS)  # added to ~/.ssh/known_hosts' (the SDK's)
        self.global_known_hosts_read = True
        client.set_missing_host_key_policy(paramiko.RejectPolicy())  # whatever the SDK's default
        client.connect(**self.ssh_params, timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                       auth_timeout=self.connect_timeout)

    def get_connection(self, url: str | bytes, proxies: Any = None) -> SSHConnectionPool:
        client = self.ssh_client
        assert client is not None
        with self.pools.lock:  # type: ignore[attr-defined]
            transport = client.get_transport()
            if transport is not None and not transport.is_active():
                self.pools.clear()  # type: ignore[attr-defined]
                client.close()
            if client.get_transport() is None:
                try:
                    self._connect()
                except (paramiko.SSHException, OSError) as exc:
                    client.close()
                    raise requests.exceptions.ConnectionError(f"ssh: {reason(exc)}") from exc
            # One pool for every URL (the SDK keeps one per URL): channels are reused across endpoints.
            pool: SSHConnectionPool | None = self.pools.get(SSH_URL)  # type: ignore[attr-defined]
            if pool is None:
                pool = _SSHChannelPool(ssh_client=client, timeout=self.timeout,
                                       maxsize=min(self.max_pool_size, SSH_MAX_CHANNELS), host=self.ssh_host)
                pool.block = True  # at most maxsize channels at once; the next call waits for one
                self.pools[SSH_URL] = pool  # type: ignore[index]
            return pool


def _ssh_client(host: str, timeout: int) -> docker.DockerClient:
    """A client of the engine behind ``ssh://[user@]host[:port]`` (see the module docstring)."""
    adapter = SSHAdapter(str(docker.utils.parse_host(host)), timeout, MAX_POOL)  # connects and authenticates
    try:
        # The engine's API version, asked through the adapter.
        probe = requests.Session()
        probe.trust_env = False
        probe.mount(SSH_URL, adapter)
        version = api_version(probe, SSH_URL, timeout)
        # use_ssh_client: the SDK's own adapter is then made without connecting anywhere; ours replaces it.
        client = docker.DockerClient(base_url=host, version=version, timeout=timeout, max_pool_size=MAX_POOL,
                                     use_ssh_client=True)
    except BaseException:
        adapter.close()
        raise
    if client.api.base_url != SSH_URL:
        adapter.close()
        client.close()
        raise DockerUnavailable(f"docker SDK: unexpected base URL {client.api.base_url} for {host}")
    client.api.mount(SSH_URL, adapter)
    return client
