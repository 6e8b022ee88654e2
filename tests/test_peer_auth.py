"""Peer authentication with a cluster secret (docs/security.md, "Peer authentication").

1. A witness and two nodes sharing ``--cluster-secret-file`` replicate and fail over on
   ``kill -9`` as without it.
2. A rogue standby with the right address but a wrong (or no) secret never receives data,
   and the primary logs the refusal with its address.
3. Raw ``WITNESS HEARTBEAT``/``VOTE``/``FORCE`` on an unauthenticated connection are
   refused and the witness's record does not change; so is a raw ``FENCE`` to the primary.
4. A handshake made with the right secret (here in Python, as the docs describe it) is
   accepted; the same bytes replayed on a new connection are refused.

Run: ``UNDERSTUDY_BIN=.build/debug/understudy python3 -m pytest -q tests/test_peer_auth.py``
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import struct
import subprocess
from pathlib import Path

import pytest

from cluster import Cluster
from harness import HOST, ServerProcess, call, understudy_binary, understudy_supports, wait_until
from resp import Err, RawClient

pytestmark = pytest.mark.skipif(not understudy_supports("--cluster-secret-file"),
                                reason="understudy server has no --cluster-secret-file")

SECRET = "3f1c0e6a9b8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29181706f5e4d3c2b1a090"
REFUSED = "NOPEERAUTH"


def secret_file(directory: Path, text: str, name: str = "cluster.secret") -> str:
    path = directory / name
    path.write_text(text + "\n")
    os.chmod(path, 0o600)
    return str(path)


def peer_message(side: str, link: str, cluster: str, server_nonce: bytes, client_nonce: bytes,
                 client_name: str, server_name: str) -> bytes:
    """The transcript each side's HMAC covers: every field with a 4-byte length in front."""
    fields = [f"understudy-peer-v1 {side}".encode(), link.encode(), cluster.encode(), server_nonce,
              client_nonce, client_name.encode(), server_name.encode()]
    return b"".join(struct.pack(">I", len(field)) + field for field in fields)


def handshake(connection: RawClient, secret: str, link: str, name: str = "rogue") -> tuple[list, object]:
    """Runs the client's end; returns the two requests sent and the final reply."""
    client_nonce = secrets.token_bytes(32)
    hello = ["PEERAUTH", "HELLO", link, name, client_nonce.hex()]
    challenge = connection.call(*hello)
    assert isinstance(challenge, str) and challenge.startswith("CHALLENGE "), challenge
    _, server_name, cluster, server_nonce = challenge.split(" ")
    message = peer_message("client", link, cluster, bytes.fromhex(server_nonce), client_nonce, name, server_name)
    prove = ["PEERAUTH", "PROVE", hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()]
    reply = connection.call(*prove)
    if isinstance(reply, str):
        server_message = peer_message("server", link, cluster, bytes.fromhex(server_nonce), client_nonce, name, server_name)
        expected = hmac.new(secret.encode(), server_message, hashlib.sha256).hexdigest()
        assert reply == f"OK {expected}", f"the server's proof does not check out: {reply}"
    return [hello, prove], reply


def refused_count(process: ServerProcess) -> float:
    """``understudy_requests_refused_total{reason="peer_auth"}`` from METRICS."""
    text = call(process, "METRICS")
    text = text.decode() if isinstance(text, bytes) else str(text)
    for line in text.splitlines():
        if line.startswith("understudy_requests_refused_total") and 'reason="peer_auth"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture
def secured(tmp_path_factory):
    directory = tmp_path_factory.mktemp("peer-auth")
    cluster = Cluster(directory / "cluster", "sync", cluster_secret_file=secret_file(directory, SECRET))
    try:
        cluster.start()
        yield cluster, directory
    finally:
        cluster.close()


def test_secured_cluster_replicates_and_fails_over_on_kill9(secured):
    cluster, _ = secured
    primary = cluster.wait_ready()
    standby = cluster.other(primary)
    for index in range(20):
        assert call(primary, "SET", f"peer:{index}", str(index)) == "OK"
    wait_until(lambda: call(standby, "GET", "peer:19") == "19", 10, message="the standby has every write")
    cluster.kill9(primary)
    wait_until(lambda: cluster.role(standby) == "master", 15, message="the standby takes over")
    wait_until(lambda: call(standby, "SET", "after", "1") == "OK", 10, message="the new primary acknowledges")
    assert [call(standby, "GET", f"peer:{index}") for index in range(20)] == [str(index) for index in range(20)]
    assert "refused an unauthenticated peer" not in primary.log_text() + standby.log_text()


@pytest.mark.parametrize("rogue_secret", ["wrong-secret-but-long-enough-0123456789", None])
def test_rogue_standby_without_the_secret_receives_nothing(secured, rogue_secret):
    cluster, directory = secured
    primary = cluster.wait_ready()
    assert call(primary, "SET", "secret:data", "private") == "OK"
    options = {"peer": primary.address, "role": "standby", "replication": "async"}
    if rogue_secret is not None:
        options["cluster_secret_file"] = secret_file(directory, rogue_secret, "wrong.secret")
    rogue = ServerProcess("understudy", directory / f"rogue-{rogue_secret is None}", **options)
    rogue.start()
    try:
        wait_until(lambda: "refused an unauthenticated peer" in primary.log_text(), 10,
                   message="the primary logs the refusal")
        refusal = [line for line in primary.log_text().splitlines() if "refused an unauthenticated peer" in line]
        assert any(HOST in line for line in refusal), refusal
        assert call(rogue, "DBSIZE") == 0
        assert call(rogue, "GET", "secret:data") is None
        assert refused_count(primary) > 0, "the refusal is counted"
    finally:
        rogue.kill()


def test_unauthenticated_witness_requests_are_refused_and_change_nothing(secured):
    cluster, _ = secured
    primary = cluster.wait_ready()
    before = cluster.witness.status()
    assert before is not None
    epoch = int(before["epoch"])
    rogue_requests = [
        ["WITNESS", "HEARTBEAT", primary.address, str(epoch + 5), "sync", "500", "1", "1", "0", "1", before["cluster"], "1"],
        ["WITNESS", "VOTE", cluster.other(primary).address, str(epoch + 1), "999999", "0", before["cluster"]],
        ["WITNESS", "FORCE", cluster.other(primary).address, str(epoch + 1)],
        ["WITNESS", "HANDOVER", primary.address, str(epoch), cluster.other(primary).address, "1", "0"],
    ]
    with RawClient(HOST, cluster.witness.port) as connection:
        for request in rogue_requests:
            reply = connection.call(*request)
            assert isinstance(reply, Err) and reply.message.startswith(REFUSED), (request, reply)
    assert cluster.witness.status() == before
    assert cluster.role(primary) == "master"
    assert "refused an unauthenticated peer" in cluster.witness.log_text()


def test_wrong_secret_handshake_with_the_witness_is_refused_and_closed(secured):
    cluster, _ = secured
    cluster.wait_ready()
    with RawClient(HOST, cluster.witness.port) as connection:
        _, reply = handshake(connection, "wrong-secret-but-long-enough-0123456789", "witness")
        assert isinstance(reply, Err) and "PEERAUTH refused" in reply.message, reply
        assert connection.is_closed_by_peer()


def test_unauthenticated_fence_is_refused_and_the_primary_stays(secured):
    cluster, _ = secured
    primary = cluster.wait_ready()
    before = cluster.witness.status()
    with RawClient(HOST, primary.port) as connection:
        reply = connection.call("FENCE", str(int(before["epoch"]) + 1), cluster.other(primary).address, before["cluster"])
        assert isinstance(reply, Err) and reply.message.startswith(REFUSED), reply
    assert cluster.role(primary) == "master"
    assert call(primary, "SET", "still", "primary") == "OK"
    assert "refused an unauthenticated peer" in primary.log_text()


def test_captured_handshake_replayed_on_a_new_connection_is_refused(secured):
    cluster, _ = secured
    primary = cluster.wait_ready()
    with RawClient(HOST, primary.port) as connection:
        sent, reply = handshake(connection, SECRET, "fence", name=cluster.other(primary).address)
        assert isinstance(reply, str) and reply.startswith("OK "), reply
        # Authenticated: FENCE now reaches the node's own rules (an old epoch only demotes nothing).
        answer = connection.call("FENCE", "0", cluster.other(primary).address, cluster.witness.status()["cluster"])
        assert not (isinstance(answer, Err) and answer.message.startswith(REFUSED)), answer
    with RawClient(HOST, primary.port) as replay:
        hello, prove = sent
        challenge = replay.call(*hello)
        assert isinstance(challenge, str) and challenge.startswith("CHALLENGE "), challenge
        reply = replay.call(*prove)
        assert isinstance(reply, Err) and "PEERAUTH refused" in reply.message, reply
    assert cluster.role(primary) == "master"


def test_short_secret_is_refused_at_start_and_readable_file_warns(tmp_path):
    short = ServerProcess("understudy", tmp_path / "short", cluster_secret_file=secret_file(tmp_path, "fifteen-bytes!!", "short.secret"))
    assert short.start_expecting_refusal() != 0
    assert "at least 16" in short.log_text()
    readable = secret_file(tmp_path, SECRET, "readable.secret")
    os.chmod(readable, 0o644)
    node = ServerProcess("understudy", tmp_path / "readable", cluster_secret_file=readable)
    node.start()
    try:
        assert "can be read by group or others" in node.log_text()
    finally:
        node.kill()


def test_node_with_a_secret_refuses_a_witness_without_one(tmp_path_factory):
    directory = tmp_path_factory.mktemp("half-secured")
    cluster = Cluster(directory / "cluster", "sync", cluster_secret_file=secret_file(directory, SECRET))
    cluster.witness.options["cluster_secret_file"] = None
    try:
        cluster.witness.start()
        cluster.a.start()
        wait_until(lambda: "is --cluster-secret-file set on both?" in cluster.a.log_text(), 10,
                   message="the node says why it does not trust the witness")
        reply = call(cluster.a, "SET", "k", "v")
        assert isinstance(reply, Err), f"a node that cannot trust its witness acknowledged a write: {reply}"
    finally:
        cluster.close()


def test_forced_promotion_fences_the_old_primary_over_an_authenticated_link(secured):
    """The node's own FENCE (NodeRequest with the handshake first) reaches its secured peer."""
    cluster, _ = secured
    old = cluster.wait_ready()
    new = cluster.other(old)
    cluster.kill_witness()
    result = subprocess.run([str(understudy_binary()), "promote", "--force", "--yes", "--nodes",
                             f"{old.address},{new.address}"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    cluster.wait(lambda: cluster.role(new) == "master" and cluster.role(old) == "slave", 10.0,
                 "the forced primary fenced the old one, which follows it")
    logs = old.log_text() + new.log_text()
    assert "refused an unauthenticated peer" not in logs
    assert "did not authenticate" not in logs
