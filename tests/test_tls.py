"""TLS against real processes and real clients (docs/security.md, "TLS").

A certificate authority is made at test time with the openssl CLI (no key is committed): a
CA, a node certificate (IP SAN 127.0.0.1, usable as server and as client certificate, as
every process both serves and dials), a client certificate, and a second node certificate
for rotation.

1. A standalone node with TLS: ``redis-cli --tls --cacert CA`` SETs and GETs; plain
   ``redis-cli`` fails cleanly (an error, not a hang, and the node serves on); redis-py with
   ``ssl=True, ssl_ca_certs=CA`` works.
2. ``--tls-auth-clients yes``: a client without a certificate is refused, one with the
   client certificate gets in.
3. A missing certificate file stops the process at start with the flag and the path.
4. A witness and two nodes, all with mutual TLS: they replicate, fail over on kill -9 and
   switch over (``understudy switchover --tls``).
5. SIGHUP after the certificate files are replaced: new connections get the new certificate
   (its serial and subject, as Python's ssl module sees them); a bad file keeps the old one.

Run: ``UNDERSTUDY_BIN=$(swift build --show-bin-path)/understudy python3 -m pytest -q tests/test_tls.py``
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
import redis

from harness import HOST, call, info, understudy_binary, understudy_has_witness, wait_until
from resp import Err, RawClient

pytestmark = [
    pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl CLI makes the test CA"),
    pytest.mark.skipif(not understudy_binary().exists(), reason=f"understudy binary not found at {understudy_binary()}"),
    pytest.mark.understudy_only,
]

CLI_TIMEOUT_SECONDS = 30


def openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=CLI_TIMEOUT_SECONDS)
    assert result.returncode == 0, f"openssl {' '.join(args)} failed: {result.stderr}"


class CertificateAuthority:
    """A CA in ``directory`` and certificates it signs (EC P-256 keys)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.cert = directory / "ca.pem"
        self.key = directory / "ca.key"
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-days", "2", "-subj", "/CN=understudy test CA", "-keyout", str(self.key), "-out", str(self.cert))

    def issue(self, name: str, common_name: str, usage: str, san: str | None = None) -> tuple[Path, Path]:
        """A certificate and key signed by the CA: ``name.pem`` and ``name.key``."""
        key, cert, request = (self.directory / f"{name}.key", self.directory / f"{name}.pem",
                              self.directory / f"{name}.csr")
        extensions = self.directory / f"{name}.ext"
        lines = [f"extendedKeyUsage={usage}", "basicConstraints=CA:FALSE"]
        if san:
            lines.append(f"subjectAltName={san}")
        extensions.write_text("\n".join(lines) + "\n")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-subj", f"/CN={common_name}", "-keyout", str(key), "-out", str(request))
        openssl("x509", "-req", "-in", str(request), "-CA", str(self.cert), "-CAkey", str(self.key),
                "-CAcreateserial", "-days", "2", "-extfile", str(extensions), "-out", str(cert))
        return cert, key

    def client_context_without_name_check(self) -> ssl.SSLContext:
        """Chain checked, names not: for polling a node whose certificate names another host."""
        context = ssl.create_default_context(cafile=str(self.cert))
        context.check_hostname = False
        return context

    def client_context(self, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
        """What a client verifying the servers against this CA uses (and presents ``cert``)."""
        context = ssl.create_default_context(cafile=str(self.cert))
        if cert is not None:
            context.load_cert_chain(str(cert), str(key))
        return context


@pytest.fixture(scope="module")
def ca(tmp_path_factory) -> CertificateAuthority:
    return CertificateAuthority(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def node_files(ca) -> tuple[Path, Path]:
    return ca.issue("node", "understudy node", "serverAuth,clientAuth", san="IP:127.0.0.1,DNS:localhost")


@pytest.fixture(scope="module")
def client_files(ca) -> tuple[Path, Path]:
    return ca.issue("client", "understudy client", "clientAuth")


def tls_options(ca: CertificateAuthority, node_files, client_files=None, **extra) -> dict:
    """Options for a process with TLS; the harness polls it with the client certificate if
    given (for ``--tls-auth-clients yes``)."""
    cert, key = node_files
    client_cert, client_key = client_files or (None, None)
    return {"tls_cert_file": str(cert), "tls_key_file": str(key), "tls_ca_cert_file": str(ca.cert),
            "tls_client": ca.client_context(client_cert, client_key), **extra}


def redis_cli(port: int, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["redis-cli", "-h", HOST, "-p", str(port), *args], capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_SECONDS)


def understudy_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(understudy_binary()), *args], capture_output=True, text=True, timeout=60)


def served_certificate(port: int, ca: CertificateAuthority) -> dict:
    """The certificate a new connection is shown (verified against the CA)."""
    context = ca.client_context()
    with socket.create_connection((HOST, port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=HOST) as tls:
            return tls.getpeercert()


def common_name(certificate: dict) -> str:
    return dict(pair[0] for pair in certificate["subject"])["commonName"]


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli (redis-tools) is not installed")
def test_redis_cli_with_tls_works_and_plain_redis_cli_fails_cleanly(make_server, ca, node_files):
    node = make_server(**tls_options(ca, node_files))
    result = redis_cli(node.port, "--tls", "--cacert", str(ca.cert), "SET", "tls:key", "over tls")
    assert result.returncode == 0 and result.stdout.strip() == "OK", result
    result = redis_cli(node.port, "--tls", "--cacert", str(ca.cert), "GET", "tls:key")
    assert result.stdout.strip() == "over tls", result

    plain = redis_cli(node.port, "GET", "tls:key")  # the timeout in redis_cli: no hang
    assert "over tls" not in plain.stdout, plain
    assert plain.returncode != 0 or "error" in (plain.stdout + plain.stderr).lower(), plain
    assert node.alive
    assert call(node, "GET", "tls:key") == "over tls"  # and it serves TLS clients on


def test_redis_py_with_ssl_and_the_ca_works(make_server, ca, node_files):
    node = make_server(**tls_options(ca, node_files))
    client = redis.Redis(host=HOST, port=node.port, ssl=True, ssl_ca_certs=str(ca.cert), protocol=2,
                         decode_responses=True, socket_timeout=10)
    assert client.set("py:key", "value") is True
    assert client.get("py:key") == "value"
    assert client.incr("py:counter") == 1
    client.close()


def test_auth_clients_yes_refuses_a_client_without_certificate(make_server, ca, node_files, client_files):
    node = make_server(**tls_options(ca, node_files, client_files, tls_auth_clients="yes"))
    without = redis.Redis(host=HOST, port=node.port, ssl=True, ssl_ca_certs=str(ca.cert), protocol=2,
                          socket_timeout=5)
    with pytest.raises((redis.ConnectionError, ssl.SSLError, OSError)):
        without.ping()
    client_cert, client_key = client_files
    with_cert = redis.Redis(host=HOST, port=node.port, ssl=True, ssl_ca_certs=str(ca.cert),
                            ssl_certfile=str(client_cert), ssl_keyfile=str(client_key), protocol=2,
                            decode_responses=True, socket_timeout=10)
    assert with_cert.set("mtls:key", "in") is True
    assert with_cert.get("mtls:key") == "in"
    with_cert.close()


def test_missing_certificate_file_stops_the_start_naming_flag_and_path(make_node, ca, node_files, tmp_path):
    missing = tmp_path / "no-such-cert.pem"
    node = make_node(**tls_options(ca, node_files, tls_cert_file=str(missing)))
    code = node.start_expecting_refusal()
    assert code != 0
    log = node.log_of_last_start()
    assert "--tls-cert-file" in log and str(missing) in log, log


@pytest.mark.slow
@pytest.mark.skipif(not understudy_has_witness(), reason="the witness is not built")
def test_cluster_with_mutual_tls_replicates_fails_over_and_switches_over(make_cluster, ca, node_files, client_files):
    options = tls_options(ca, node_files, client_files, tls_auth_clients="yes")
    cluster = make_cluster(every_process=options)
    primary = cluster.primary()
    standby = cluster.other(primary)
    assert call(primary, "SET", "replicated", "1") == "OK"
    cluster.wait(lambda: call(standby, "GET", "replicated") == "1", 10, "the standby has the write")

    cluster.kill9(primary)
    new = cluster.wait_for_new_primary(primary, timeout=15)
    assert call(new, "GET", "replicated") == "1"
    assert call(new, "SET", "after-failover", "2") == "OK"
    cluster.restart(primary)
    cluster.wait_ready()

    client_cert, client_key = client_files
    tls_flags = ["--tls", "--tls-ca-cert-file", str(ca.cert), "--tls-cert-file", str(client_cert),
                 "--tls-key-file", str(client_key)]
    nodes = f"{cluster.a.address},{cluster.b.address}"
    result = understudy_cli("switchover", "--nodes", nodes, *tls_flags)
    assert result.returncode == 0, f"switchover failed: {result.stdout}{result.stderr}"
    assert cluster.wait_for_role(primary, "master", timeout=10)
    assert call(primary, "GET", "after-failover") == "2"
    status = understudy_cli("status", "--nodes", nodes, "--witness", cluster.listen["witness"], *tls_flags)
    assert status.returncode == 0, status
    assert "primary" in status.stdout and "standby" in status.stdout and "witness" in status.stdout, status.stdout


def test_a_certificate_for_another_address_is_refused_by_the_dialling_side(make_server, ca, tmp_path):
    """The check every dialled link makes (replication, witness, FENCE, operator commands):
    the certificate chains to the CA but names another host, so the handshake fails."""
    elsewhere = ca.issue("elsewhere", "elsewhere", "serverAuth,clientAuth", san="DNS:elsewhere.invalid")
    node = make_server(**tls_options(ca, elsewhere, tls_client=ca.client_context_without_name_check()))
    result = understudy_cli("status", "--nodes", node.address, "--events", "0", "--tls", "--tls-ca-cert-file", str(ca.cert))
    assert "unreachable" in result.stdout.lower() or result.returncode != 0, result
    assert "hostname" in (result.stdout + result.stderr).lower() or "validate" in (result.stdout + result.stderr).lower(), result


@pytest.mark.skipif(not understudy_has_witness(), reason="the witness is not built")
def test_a_node_refuses_a_witness_whose_certificate_names_another_address(make_cluster, ca, node_files):
    """Node → witness: the witness's certificate chains to the CA but does not name
    127.0.0.1, so the node's link fails with the reason in its log and it takes no role."""
    elsewhere_cert, elsewhere_key = ca.issue("witness-elsewhere", "elsewhere", "serverAuth,clientAuth",
                                             san="DNS:elsewhere.invalid")
    cluster = make_cluster(start=False, every_process=tls_options(ca, node_files))
    cluster.witness.options.update(tls_cert_file=str(elsewhere_cert), tls_key_file=str(elsewhere_key),
                                   tls_client=ca.client_context_without_name_check())
    cluster.witness.start()
    cluster.a.start()
    wait_until(lambda: "failedToValidateHostname" in cluster.a.log_of_last_start(), 15, 0.05,
               "the node logs why the witness link failed")
    assert cluster.role("a") != "master"


def test_a_host_name_is_checked_against_the_dns_san(make_server, ca, node_files):
    """Dialled by name (``localhost``, a DNS SAN of the node certificate) the check passes."""
    node = make_server(**tls_options(ca, node_files))
    result = understudy_cli("status", "--nodes", f"localhost:{node.port}", "--events", "0",
                            "--tls", "--tls-ca-cert-file", str(ca.cert))
    assert result.returncode == 0 and "unreachable" not in result.stdout, result


def test_sighup_reloads_rotated_files_and_a_bad_file_keeps_the_old_certificate(make_server, ca, tmp_path):
    cert, key = tmp_path / "live.pem", tmp_path / "live.key"
    first_cert, first_key = ca.issue("first", "first node certificate", "serverAuth,clientAuth", san="IP:127.0.0.1")
    second_cert, second_key = ca.issue("second", "second node certificate", "serverAuth,clientAuth", san="IP:127.0.0.1")
    shutil.copy(first_cert, cert)
    shutil.copy(first_key, key)
    node = make_server(**tls_options(ca, (cert, key)))
    before = served_certificate(node.port, ca)
    assert common_name(before) == "first node certificate"

    cert.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n")
    os.kill(node.process.pid, signal.SIGHUP)
    wait_until(lambda: "TLS reload failed" in node.log_of_last_start(), 10, 0.05, "the failed reload is logged")
    assert node.alive
    assert served_certificate(node.port, ca)["serialNumber"] == before["serialNumber"]

    # Key first, then the certificate, each replaced whole (as a rotation tool renames).
    for source, target in ((second_key, key), (second_cert, cert)):
        staged = target.with_suffix(".new")
        shutil.copy(source, staged)
        os.replace(staged, target)
    os.kill(node.process.pid, signal.SIGHUP)
    after = wait_until(lambda: (lambda seen: seen if seen["serialNumber"] != before["serialNumber"] else None)(
        served_certificate(node.port, ca)), 10, 0.05, "a new connection gets the new certificate")
    assert common_name(after) == "second node certificate"
    assert info(node, "server")  # still serving


@pytest.mark.slow
@pytest.mark.skipif(not understudy_has_witness(), reason="the witness is not built")
def test_everything_on_at_once_tls_passwords_and_the_cluster_secret(make_cluster, ca, node_files, tmp_path):
    """The three layers together, as a careful operator runs them: TLS on every link, a
    password on the client port and the cluster secret on the peer links. The cluster
    replicates, fails over on kill -9, switches over through the operator command, and a
    client without the password is refused even over TLS."""
    password = "pw-" + "x" * 20
    password_file = tmp_path / "password"
    password_file.write_text(password + "\n")
    secret_file = tmp_path / "cluster.secret"
    secret_file.write_text("s" * 40 + "\n")
    password_file.chmod(0o600)
    secret_file.chmod(0o600)
    cluster = make_cluster(every_process=tls_options(ca, node_files), cluster_secret_file=str(secret_file),
                           password_file=str(password_file), password=password)
    primary = cluster.primary()
    standby = cluster.other(primary)
    assert call(primary, "SET", "layered", "1") == "OK"
    cluster.wait(lambda: call(standby, "GET", "layered") == "1", 10, "the standby has the write")
    with RawClient(HOST, primary.port, ssl_context=ca.client_context()) as anonymous:
        assert anonymous.call("GET", "layered") == Err("NOAUTH Authentication required."), "TLS alone does not let a client in"

    cluster.kill9(primary)
    new = cluster.wait_for_new_primary(primary, timeout=15)
    assert call(new, "GET", "layered") == "1"
    assert call(new, "SET", "after-failover", "2") == "OK"
    cluster.restart(primary)
    cluster.wait_ready()

    nodes = f"{cluster.a.address},{cluster.b.address}"
    flags = ["--tls", "--tls-ca-cert-file", str(ca.cert), "--password-file", str(password_file)]
    result = understudy_cli("switchover", "--nodes", nodes, *flags)
    assert result.returncode == 0, f"switchover failed: {result.stdout}{result.stderr}"
    assert cluster.wait_for_role(primary, "master", timeout=10)
    assert call(primary, "GET", "after-failover") == "2"
    client = redis.Redis(host=HOST, port=primary.port, ssl=True, ssl_ca_certs=str(ca.cert), password=password,
                         decode_responses=True)
    assert client.get("after-failover") == "2"
