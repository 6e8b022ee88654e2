"""Client authentication against real processes (docs/security.md "Client authentication"):
``--password-file``, ``--users-file``, ``UNDERSTUDY_PASSWORD``; the NOAUTH gate, WRONGPASS
and its counters, read-only users, the slow-down of repeated failures, a replicated pair
with a witness behind a password, and the operator commands authenticating.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import redis

from harness import HOST, ServerProcess, free_port, info, understudy_binary, wait_until
from resp import Err, RawClient

pytestmark = pytest.mark.understudy_only

PASSWORD = "correct-horse"
USERS = "# users of the auth tests\nalice alice-pw read-write\nreader reader-pw read-only\n"


def write_secret(path, text: str):
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.fixture
def secured(tmp_path):
    password_file = write_secret(tmp_path / "password", PASSWORD + "\n")
    users_file = write_secret(tmp_path / "users", USERS)
    process = ServerProcess("understudy", tmp_path / "node", password_file=str(password_file),
                            users_file=str(users_file), admin=f"{HOST}:{free_port()}", password=PASSWORD)
    process.start()
    try:
        yield process
    finally:
        process.kill()


def redis_cli(process, *arguments: str, password: str | None = None, user: str | None = None) -> str:
    command = ["redis-cli", "-h", HOST, "-p", str(process.port)]
    if user is not None:
        command += ["--user", user]
    if password is not None:
        command += ["--pass", password, "--no-auth-warning"]
    return subprocess.run(command + list(arguments), capture_output=True, text=True, timeout=10).stdout.strip()


def denied_count(process) -> int:
    return int(info(process, "stats")["acl_access_denied_auth"])


def test_without_a_password_only_ping_auth_hello_quit_run(secured):
    assert redis_cli(secured, "GET", "k") == "NOAUTH Authentication required."
    assert redis_cli(secured, "SET", "k", "v") == "NOAUTH Authentication required."
    assert redis_cli(secured, "INFO") == "NOAUTH Authentication required."
    assert redis_cli(secured, "PING") == "PONG"
    with RawClient(HOST, secured.port) as client:
        assert client.call("HELLO", "3") == Err(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> "
            "<pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
        assert client.call("QUIT") == "OK"


def test_right_password_works_wrong_one_is_wrongpass_and_counted(secured):
    assert redis_cli(secured, "SET", "k", "v", password=PASSWORD) == "OK"
    assert redis_cli(secured, "GET", "k", password=PASSWORD) == "v"
    before = denied_count(secured)
    with RawClient(HOST, secured.port) as client:
        assert client.call("AUTH", "nope") == Err("WRONGPASS invalid username-password pair or user is disabled.")
        assert client.call("GET", "k") == Err("NOAUTH Authentication required.")
        assert client.call("AUTH", PASSWORD) == "OK"
        assert client.call("GET", "k") == "v"
    assert denied_count(secured) == before + 1
    metrics = secured.client().execute_command("METRICS")
    text = metrics.decode() if isinstance(metrics, bytes) else str(metrics)
    assert 'reason="auth"' in text
    assert "nope" not in secured.log_text(), "a password appeared in the log"
    assert "authentication failed" in secured.log_text()


def test_named_users_and_a_read_only_user(secured):
    assert redis_cli(secured, "SET", "shared", "1", user="alice", password="alice-pw") == "OK"
    assert redis_cli(secured, "GET", "shared", user="reader", password="reader-pw") == "1"
    assert redis_cli(secured, "SET", "shared", "2", user="reader", password="reader-pw") == \
        "NOPERM this user has no permissions to run the 'set' command"
    assert redis_cli(secured, "GET", "shared", user="alice", password="reader-pw") == "NOAUTH Authentication required."
    with RawClient(HOST, secured.port) as client:
        assert client.call("AUTH", "alice", "reader-pw") == Err("WRONGPASS invalid username-password pair or user is disabled.")
        assert client.call("AUTH", "a", "b", "c") == Err("ERR syntax error")


def test_redis_py_resp3_hello_auth(secured):
    client = redis.Redis(host=HOST, port=secured.port, password=PASSWORD, protocol=3, decode_responses=True)
    assert client.set("py", "1") is True
    assert client.get("py") == "1"
    assert client.execute_command("HELLO", "3", "AUTH", "default", PASSWORD)["proto"] == 3
    wrong = redis.Redis(host=HOST, port=secured.port, password="bad", protocol=3, decode_responses=True)
    with pytest.raises(redis.exceptions.AuthenticationError):
        wrong.get("py")


def test_repeated_failures_from_one_address_get_slower(secured):
    durations = []
    with RawClient(HOST, secured.port, timeout=10) as client:
        for _ in range(10):
            started = time.monotonic()
            assert client.call("AUTH", "guess") == Err("WRONGPASS invalid username-password pair or user is disabled.")
            durations.append(time.monotonic() - started)
    print("AUTH reply times (ms):", [round(d * 1000) for d in durations])
    assert durations[0] < 0.2, durations
    assert durations[9] >= 0.3, f"the 10th wrong AUTH was answered in {durations[9]:.3f}s: not slowed down"
    # Other commands of other clients are not held meanwhile.
    started = time.monotonic()
    assert redis_cli(secured, "PING") == "PONG"
    assert time.monotonic() - started < 1.0


def test_admin_switchover_needs_basic_auth(secured):
    before = denied_count(secured)
    admin = f"http://{secured.options['admin']}/switchover"
    request = urllib.request.Request(admin, data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
    assert refused.value.headers["WWW-Authenticate"].startswith("Basic")
    wait_until(lambda: denied_count(secured) == before + 1, 5, 0.05, "the refused request is counted")
    with urllib.request.urlopen(f"http://{secured.options['admin']}/liveness", timeout=10) as response:
        assert response.status == 200  # probes stay open
    token = base64.b64encode(f"default:{PASSWORD}".encode()).decode()
    authorized = urllib.request.Request(admin, data=b"{}", method="POST", headers={"Authorization": f"Basic {token}"})
    with pytest.raises(urllib.error.HTTPError) as answered:
        urllib.request.urlopen(authorized, timeout=10)
    assert answered.value.code != 401  # a lone node refuses the switchover itself (412/503), not the caller


def run_understudy(*arguments: str, environment: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(understudy_binary()), *arguments], capture_output=True, text=True, timeout=30,
                          env={**os.environ, **(environment or {})})


def test_password_on_the_command_line_is_refused(tmp_path):
    result = run_understudy("server", "--data-dir", str(tmp_path / "d"), "--listen", f"{HOST}:{free_port()}",
                            "--password", "hunter2")
    assert result.returncode != 0
    assert "--password cannot be given on the command line" in result.stderr
    assert "UNDERSTUDY_PASSWORD" in result.stderr


def test_understudy_password_environment_variable(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [str(understudy_binary()), "server", "--data-dir", str(tmp_path / "d"), "--listen", f"{HOST}:{port}"],
        env={**os.environ, "UNDERSTUDY_PASSWORD": "from-env"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def answers() -> bool:
            with RawClient(HOST, port, timeout=1) as client:
                return client.call("PING") == "PONG"
        wait_until(answers, 30, 0.05, "the node answers PING")
        with RawClient(HOST, port) as client:
            assert client.call("GET", "k") == Err("NOAUTH Authentication required.")
            assert client.call("AUTH", "from-env") == "OK"
        printed = run_understudy("server", "--data-dir", str(tmp_path / "e"), "--print-config",
                                 environment={"UNDERSTUDY_PASSWORD": "from-env"})
        assert 'password: "<redacted>"' in printed.stdout and "from-env" not in printed.stdout
    finally:
        process.kill()
        process.wait()


def test_a_pair_with_a_witness_and_a_password_replicates_fails_over_and_status_authenticates(make_cluster, tmp_path):
    password_file = write_secret(tmp_path / "cluster-password", PASSWORD + "\n")
    cluster = make_cluster("sync", password_file=str(password_file), password=PASSWORD)
    primary = cluster.primary()
    standby = cluster.other(primary)
    assert primary.client().set("before", "1") is True
    wait_until(lambda: standby.client().get("before") == "1", 10, 0.05, "the standby has the write")
    nodes = f"{primary.address},{standby.address}"
    status = run_understudy("status", "--nodes", nodes, "--password-file", str(password_file), "--events", "0")
    assert status.returncode == 0 and "primary" in status.stdout, status.stdout + status.stderr
    refused = run_understudy("status", "--nodes", nodes, "--events", "0")
    assert "requires a password" in refused.stdout + refused.stderr, refused.stdout + refused.stderr
    from_env = run_understudy("status", "--nodes", nodes, "--events", "0", environment={"UNDERSTUDY_PASSWORD": PASSWORD})
    assert "requires a password" not in from_env.stdout and "primary" in from_env.stdout
    switched = run_understudy("switchover", "--nodes", nodes, "--password-file", str(password_file))
    assert switched.returncode == 0 and "switched over" in switched.stdout, switched.stdout + switched.stderr
    primary, standby = standby, primary
    wait_until(lambda: info(standby).get("master_link_status") == "up", 30, 0.1, "the old primary follows the new one")
    cluster.kill9(primary)
    new = cluster.primary(timeout=30)
    assert new is standby
    assert new.client().get("before") == "1"
    assert new.client().set("after", "1") is True
    cluster.restart(primary)
    wait_until(lambda: info(primary).get("master_link_status") == "up", 30, 0.1, "the old primary replicates again")
    wait_until(lambda: primary.client().get("after") == "1", 10, 0.05, "the old primary has the new write")
