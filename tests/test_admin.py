"""The admin HTTP port (``--admin``), events and drain against real processes: a witness and
two nodes, each with its own admin port, asked with ``urllib`` the way a load balancer, a
Kubernetes probe or an operator would (docs/operations.md, "Admin HTTP port").
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from cluster import WITNESS
from harness import HOST, reserve_port, understudy_binary, wait_until
from test_failover import assert_all_acknowledged_on, wait_acks, writing

pytestmark = [pytest.mark.understudy_only, pytest.mark.slow]

#: A standby must answer 200 on /primary within this of its primary's kill -9 (failure
#: timeout 1 s; the target is about 1 s).
FAILOVER_DEADLINE_SECONDS = 8.0
HTTP_TIMEOUT_SECONDS = 3.0


def http(address: str, path: str, method: str = "GET", body: bytes | None = None) -> tuple[int, bytes]:
    """(status, body) of one request; HTTP error statuses are answers, not exceptions."""
    request = urllib.request.Request(f"http://{address}{path}", data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def get_json(address: str, path: str):
    status, body = http(address, path)
    assert status == 200, f"GET {path} on {address}: {status} {body!r}"
    return json.loads(body)


def run_cli(*arguments: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    return subprocess.run([str(understudy_binary()), *arguments], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def admin_cluster(make_cluster):
    """A sync cluster whose three processes each have an admin port; node a logs JSON."""
    admin = {name: f"{HOST}:{reserve_port()}" for name in ("a", "b", WITNESS)}
    cluster = make_cluster("sync", start=False, node_options={
        "a": {"admin": admin["a"], "log_format": "json"}, "b": {"admin": admin["b"]}})
    cluster.witness.options["admin"] = admin[WITNESS]
    cluster.start()
    cluster.admin = admin
    return cluster


def admin_of(cluster, process) -> str:
    return cluster.admin[cluster.name_of(process)]


def test_endpoints_answer_by_role(admin_cluster):
    cluster = admin_cluster
    primary = cluster.primary()
    standby = cluster.other(primary)
    p, s, w = admin_of(cluster, primary), admin_of(cluster, standby), cluster.admin[WITNESS]
    wait_until(lambda: http(s, "/replica")[0] == 200, 5.0, 0.05, "the standby reports streaming")

    expected = {
        "/health": (200, 200), "/liveness": (200, 200), "/readiness": (200, 200),
        "/primary": (200, 503), "/read-write": (200, 503), "/": (200, 503),
        "/standby": (503, 200), "/replica": (503, 200), "/read-only": (200, 200),
        "/replica?lag=16kB": (503, 200), "/replica?lag=64MB&max_lag_ms=60000": (503, 200),
    }
    for path, (on_primary, on_standby) in expected.items():
        assert http(p, path)[0] == on_primary, f"primary {path}"
        assert http(s, path)[0] == on_standby, f"standby {path}"

    health = get_json(p, "/health")
    for field in ("status", "role", "epoch", "uptime_seconds", "lsn", "lag", "sync_state", "lease_remaining_ms"):
        assert field in health, f"/health lacks {field}: {health}"
    assert health["role"] == "primary" and health["status"] == "running" and health["sync_state"] == "sync"
    assert health["lease_remaining_ms"] is not None and health["lease_remaining_ms"] >= 0

    status, body = http(p, "/primary", method="HEAD")
    assert (status, body) == (200, b"")
    assert http(s, "/primary", method="HEAD") == (503, b"")
    assert http(p, "/nowhere")[0] == 404
    assert http(p, "/health", method="POST", body=b"")[0] == 405
    status, body = http(s, "/replica?lag=lots")
    assert status == 400 and "error" in json.loads(body)

    members = {member["name"]: member for member in get_json(p, "/cluster")["members"]}
    assert members[primary.address]["role"] == "primary" and members[standby.address]["role"] == "standby"
    history = get_json(p, "/history")
    assert history and all({"epoch", "first_lsn", "reason", "time_unix_ms"} <= set(entry) for entry in history)
    assert history[-1]["epoch"] == health["epoch"] and history[-1]["reason"], history

    metrics_status, _ = http(p, "/metrics")
    assert metrics_status == 200

    # The witness: its own endpoints, both nodes from its record, and no role endpoints.
    assert get_json(w, "/health")["role"] == "witness"
    roles = {member["name"]: member["role"] for member in get_json(w, "/cluster")["members"]}
    assert roles == {primary.address: "primary", standby.address: "standby"}
    assert any(event["kind"] == "epoch_granted" for event in get_json(w, "/events"))
    assert http(w, "/primary")[0] == 404
    assert http(w, "/liveness")[0] == 200


def test_kill_primary_makes_the_standby_primary_on_its_admin_port(admin_cluster):
    cluster = admin_cluster
    primary = cluster.primary()
    standby = cluster.other(primary)
    s = admin_of(cluster, standby)
    assert http(s, "/primary")[0] == 503
    killed = time.monotonic()
    cluster.kill9(primary)
    wait_until(lambda: http(s, "/primary")[0] == 200, FAILOVER_DEADLINE_SECONDS, 0.02,
               "the standby's /primary turns 200")
    print(f"/primary turned 200 on the standby {time.monotonic() - killed:.2f} s after kill -9")
    events = get_json(s, "/events")
    promoted = [event for event in events if event["kind"] == "became_primary"]
    assert promoted and "witness granted" in promoted[-1]["reason"], events
    w = cluster.admin[WITNESS]
    wait_until(lambda: any(event["kind"] == "node_down" and event["details"]["node"] == primary.address
                           for event in get_json(w, "/events")), 5.0, 0.05, f"the witness reports {primary.address} down")
    witness_events = get_json(w, "/events")
    assert any(event["kind"] == "primary_changed" and event["details"]["primary"] == standby.address
               for event in witness_events), witness_events


def test_post_switchover_swaps_roles_and_is_in_events_and_status(admin_cluster):
    cluster = admin_cluster
    primary = cluster.primary()
    standby = cluster.other(primary)
    p, s = admin_of(cluster, primary), admin_of(cluster, standby)
    assert http(s, "/switchover", method="POST", body=b"{}")[0] == 412  # not the primary
    status, body = http(p, "/switchover", method="POST", body=json.dumps({"candidate": "127.0.0.1:1"}).encode())
    assert status == 412, body
    status, body = http(p, "/switchover", method="POST", body=json.dumps({"candidate": standby.address}).encode())
    assert status == 200, body
    assert json.loads(body)["primary"] == standby.address
    wait_until(lambda: http(s, "/primary")[0] == 200 and http(p, "/replica")[0] == 200, 5.0, 0.05,
               "roles swapped on the admin ports")

    kinds = [event["kind"] for event in get_json(p, "/events")]
    for kind in ("became_primary", "switchover_started", "became_standby", "switchover_ended"):
        assert kind in kinds, kinds
    ended = [event for event in get_json(p, "/events") if event["kind"] == "switchover_ended"][-1]
    assert ended["details"]["outcome"] == "done"

    result = run_cli("status", "--nodes", f"{primary.address},{standby.address}")
    assert result.returncode == 0, result.stderr
    assert "recent events of" in result.stdout and "switchover_ended" in result.stdout, result.stdout


def test_drain_turns_health_503_hands_over_and_exits_zero(admin_cluster):
    cluster = admin_cluster
    primary = cluster.primary()
    standby = cluster.other(primary)
    p, s = admin_of(cluster, primary), admin_of(cluster, standby)
    seen: list[int] = []
    stop = threading.Event()

    def probe():
        # Paced finely: the drain may take only tens of milliseconds. -1: refused (gone).
        while not stop.is_set():
            try:
                seen.append(http(p, "/health")[0])
            except OSError:
                seen.append(-1)
            stop.wait(0.002)

    with writing(cluster, "drain-", count=2) as writers:
        wait_acks(cluster, writers, primary, 30)
        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        result = run_cli("drain", primary.address)
        assert result.returncode == 0, f"{result.stdout}{result.stderr}"
        assert "draining" in result.stdout
        code = primary.process.wait(timeout=30)
        stop.set()
        prober.join(10)
        assert code == 0, primary.log_tail()
        wait_until(lambda: http(s, "/primary")[0] == 200, 10.0, 0.05, "the standby took over")
        wait_acks(cluster, writers, standby, 20, after=time.monotonic())
    assert 503 in seen, f"/health never answered 503 during the drain (saw {sorted(set(seen))})"
    first_503 = seen.index(503)
    assert 200 in seen[:first_503], f"/health was not 200 before the drain: {seen[:20]}"
    assert -1 not in seen[:first_503], f"the admin port went away before /health said 503: {seen[:first_503 + 1][-20:]}"
    lost = [failure for writer in writers for failure in writer.failures
            if failure[1] == cluster.name_of(primary) and isinstance(failure[2], TimeoutError)]
    assert not lost, f"requests in flight at the drain got no reply: {lost[:3]}"
    assert_all_acknowledged_on(standby, writers, "after the drain")
    drained_events = [event["kind"] for event in get_json(s, "/events")]
    assert "became_primary" in drained_events


def test_drain_of_an_unreachable_node_fails():
    port = reserve_port()
    result = run_cli("drain", f"{HOST}:{port}")
    assert result.returncode != 0
    assert "cannot reach" in result.stderr


def test_json_log_lines_parse(admin_cluster):
    cluster = admin_cluster
    lines = [line for line in cluster.a.log_text().splitlines() if line.strip() and not line.startswith("--- start")]
    assert lines, "node a logged nothing"
    parsed = [json.loads(line) for line in lines]
    assert all({"timestamp", "level", "label", "message", "metadata"} <= set(entry) for entry in parsed)
    assert any(entry["message"].startswith("event: ") for entry in parsed), "no event line in a's log"


def test_metrics_endpoint_is_read_by_curl_and_the_prometheus_parser(admin_cluster):
    """``/metrics`` on every process is Prometheus text that ``curl`` fetches and the
    ``prometheus_client`` parser reads, with the node's role and epoch and the witness's epoch."""
    from prometheus_client.parser import text_string_to_metric_families

    cluster = admin_cluster
    primary = cluster.primary()
    for name, address in cluster.admin.items():
        fetched = subprocess.run(["curl", "-sS", "-f", "-i", f"http://{address}/metrics"],
                                 capture_output=True, text=True, timeout=HTTP_TIMEOUT_SECONDS * 3)
        assert fetched.returncode == 0, f"curl /metrics on {name}: {fetched.stderr}"
        head, _, body = fetched.stdout.partition("\n\n")  # text mode: CRLF arrives as LF
        assert "text/plain; version=0.0.4" in head, head
        families = {family.name: family for family in text_string_to_metric_families(body)}
        if name == WITNESS:
            assert "understudy_witness_epoch" in families, sorted(families)
            continue
        epoch = [sample.value for sample in families["understudy_epoch"].samples]
        assert epoch and epoch[0] >= 1, f"{name}: understudy_epoch {epoch}"
        expected = 1.0 if address == admin_of(cluster, primary) else 0.0

        def is_primary(address=address):
            text = http(address, "/metrics")[1].decode()
            values = [sample.value for family in text_string_to_metric_families(text)
                      if family.name == "understudy_is_primary" for sample in family.samples]
            return values == [expected]

        # Gauges are refreshed at each heartbeat tick: poll for the role, don't assume it.
        wait_until(is_primary, timeout=10.0, message=f"{name}: understudy_is_primary {expected}")
