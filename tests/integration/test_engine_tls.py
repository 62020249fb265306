"""A worker reaches a TLS-protected engine the way the docker CLI does (``DOCKER_HOST=tcp://…``,
``DOCKER_TLS_VERIFY``, ``DOCKER_CERT_PATH``).

The engine here listens on a unix socket only, so the test puts a real TLS endpoint in front of it: socat
``OPENSSL-LISTEN`` on 127.0.0.1, with a certificate authority, a server and a client certificate made by
``openssl`` for this test, requiring the client's certificate (as ``dockerd --tlsverify`` does).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockbolt.core.errors import DockerUnavailable
from dockbolt.core.settings import DockerTLS
from tests.integration.conftest import StartPipeline
from tests.integration.test_pipeline import finished, job_of, thread_text
from tests.support.pipeline import poll_until
from workers.docker_engine import connect

pytestmark = pytest.mark.integration


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d: Path, name: str) -> None:
    """A CA, a server certificate for 127.0.0.1 and a client certificate (``cert.pem``/``key.pem``)."""
    d.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem",
             "-days", "1", "-subj", f"/CN={name}-ca", cwd=d)
    for who, ext in (("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
                     ("client", "extendedKeyUsage=clientAuth\n")):
        (d / f"{who}.ext").write_text(ext)
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{who}-key.pem", "-out", f"{who}.csr",
                 "-subj", f"/CN={name}-{who}", cwd=d)
        _openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                 "-CAcreateserial", "-out", f"{who}.pem", "-days", "1", "-extfile", f"{who}.ext", cwd=d)
    shutil.copy(d / "client.pem", d / "cert.pem")  # the names the docker CLI looks for
    shutil.copy(d / "client-key.pem", d / "key.pem")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def tls_engine(tmp_path: Path, docker_host: str) -> Iterator[tuple[str, Path, Path]]:
    """(tcp URL of the TLS endpoint, the client's cert dir, a cert dir of another, untrusted CA)."""
    if not docker_host.startswith("unix://") or not (shutil.which("socat") and shutil.which("openssl")):
        pytest.fail("needs the engine on a unix socket, socat and openssl")
    good, other = tmp_path / "pki", tmp_path / "other"
    make_pki(good, "dockbolt-test")
    make_pki(other, "stranger")
    port = free_port()
    proc = subprocess.Popen(
        ["socat", f"OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert={good / 'server.pem'},"
                  f"key={good / 'server-key.pem'},cafile={good / 'ca.pem'},verify=1",
         f"UNIX-CONNECT:{docker_host.removeprefix('unix://')}"],
        start_new_session=True, stderr=subprocess.DEVNULL)

    def listening() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    poll_until(listening, timeout=10, what="the TLS endpoint")
    yield f"tcp://127.0.0.1:{port}", good, other
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_the_engine_is_reached_over_tls_with_the_clis_variables(tls_engine: tuple[str, Path, Path],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    url, good, other = tls_engine
    # A CA bundle in the environment (many images set one) must not replace DOCKER_CERT_PATH's ca.pem.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other / "ca.pem"))
    engine = connect(url, tls=DockerTLS(verify=True, cert_path=str(good)))
    try:
        engine.list_containers()  # a real API call through the TLS endpoint
    finally:
        engine.close()


def test_no_client_certificate_or_an_untrusted_engine_is_refused_in_clear_words(
        tls_engine: tuple[str, Path, Path], tmp_path: Path) -> None:
    url, _, other = tls_engine
    with pytest.raises(DockerUnavailable):
        connect(url, timeout=5)  # plain HTTP to a TLS endpoint
    with pytest.raises(DockerUnavailable, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        connect(url, timeout=5, tls=DockerTLS(verify=True, cert_path=str(other)))  # another CA's engine
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DockerUnavailable, match=r"missing .*ca\.pem"):
        connect(url, timeout=5, tls=DockerTLS(verify=True, cert_path=str(empty)))


def test_a_worker_with_the_tls_variables_runs_commands_end_to_end(
        pipelines: StartPipeline, tls_engine: tuple[str, Path, Path]) -> None:
    url, good, other = tls_engine
    p = pipelines(worker=False)
    p.start_worker({"DOCKER_HOST": url, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(good),
                    "REQUESTS_CA_BUNDLE": str(other / "ca.pem")})
    card, replies = finished(p, job_of(p, "ps"))
    assert card.status == "done", thread_text(replies)
