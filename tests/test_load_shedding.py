"""Per-connection bulkheads (docs/protocol.md, "Load shedding"), each tested at its limit
and one past it, against the real ``understudy`` binary.

- ``--client-output-buffer-limit BYTES``: a client whose unread replies pass BYTES is
  disconnected (``client_output_buffer_limit_disconnections``); the others are served as
  before. A client that reads its replies, pipelining less than the limit ahead, is not.
- ``--idle-timeout DURATION``: a client connection with no request for that long, and
  none in progress, is closed (``idle_timeout_disconnections``); a replication link is not
  a client connection.
- ``--max-inflight-per-connection N``: with N requests unanswered the connection is not
  read from; request N + 1 runs only once an earlier one is answered (nothing is refused).
- ``--max-waiting-writes`` at limit + 1 is tested in test_replication.py
  (``test_max_waiting_writes_refuses_the_next_write_at_once``).
"""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from harness import HOST, call, info, understudy_binary, wait_until, wait_until_stable
from resp import Err, encode

pytestmark = pytest.mark.understudy_only

VALUE_BYTES = 60_000
OUTPUT_LIMIT_BYTES = 1 << 20
ANSWER_DEADLINE_SECONDS = 1.0


def stat(process, field: str) -> int:
    return int(info(process, "stats")[field])


@pytest.fixture
def output_limited(make_server):
    process = make_server(client_output_buffer_limit=str(OUTPUT_LIMIT_BYTES), max_bulk_bytes=65536)
    with process.raw() as client:
        assert client.call("SET", "big", "v" * VALUE_BYTES) == "OK"
    return process


def test_client_that_never_reads_is_cut_off_while_others_are_served(output_limited):
    # 1000 GETs of 60 KB: 60 MB of replies, far past the 1 MiB limit plus what the kernel holds
    flood = encode("GET", "big") * 1000
    never_reads = output_limited.raw()
    try:
        with output_limited.raw(timeout=ANSWER_DEADLINE_SECONDS) as other:
            assert other.call("PING") == "PONG"
            try:
                never_reads.send(flood)
            except (BrokenPipeError, ConnectionResetError):
                pass  # cut off before the whole flood was sent
            # the other client keeps getting answers, each within the deadline
            for index in range(50):
                started = time.monotonic()
                assert other.call("SET", f"other:{index}", index) == "OK"
                assert other.call("GET", f"other:{index}") == str(index)
                assert time.monotonic() - started < ANSWER_DEADLINE_SECONDS
            wait_until(lambda: stat(output_limited, "client_output_buffer_limit_disconnections") == 1, 10.0,
                       message="the never-reading client was counted as cut off")
            # its socket is closed by the server: reading drains what the kernel held, then EOF or reset
            assert never_reads.is_closed_by_peer(10.0), "the never-reading client was not closed"
            assert other.call("STRLEN", "big") == VALUE_BYTES
        address = "127.0.0.1:%d" % never_reads.sock.getsockname()[1]
        log = output_limited.log_text()
        assert any("client-output-buffer-limit" in line and address in line for line in log.splitlines()), \
            output_limited.log_tail()
    finally:
        never_reads.close()


def test_pipelining_client_that_reads_is_not_cut_off(output_limited):
    """Batches of 12 GETs (720 KB of replies, under the 1 MiB limit) read before the next."""
    with output_limited.raw() as client:
        for _ in range(20):
            client.send(encode("GET", "big") * 12)
            replies = [client.read_reply() for _ in range(12)]
            assert all(len(reply) == VALUE_BYTES for reply in replies)
    assert stat(output_limited, "client_output_buffer_limit_disconnections") == 0


def test_output_limit_must_exceed_max_bulk_bytes():
    result = subprocess.run(
        [str(understudy_binary()), "server", "--data-dir", "/nonexistent-limit-check",
         "--max-bulk-bytes", "2097152", "--client-output-buffer-limit", "1MB"],
        capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "--client-output-buffer-limit" in result.stderr, result.stderr


@pytest.fixture
def idle_limited(make_server):
    return make_server(idle_timeout="1s")


def test_idle_connection_is_kept_below_the_timeout_and_closed_past_it(idle_limited):
    with idle_limited.raw() as client:
        assert client.call("PING") == "PONG"
        # just below the limit: 0.7 s idle, still open, and a request restarts the count
        assert not client.is_closed_by_peer(0.7)
        assert client.call("PING") == "PONG"
        assert not client.is_closed_by_peer(0.7)
        assert client.call("PING") == "PONG"
        last_request = time.monotonic()
        # past the limit: closed after 1 s without a request
        assert client.is_closed_by_peer(5.0), "the idle connection was not closed"
        idle_seconds = time.monotonic() - last_request
    assert idle_seconds >= 0.95, f"closed after {idle_seconds:.3f}s idle, before the 1s timeout"
    assert idle_seconds < 4.0, idle_seconds
    assert stat(idle_limited, "idle_timeout_disconnections") == 1
    assert "idle" in idle_limited.log_text()


def test_idle_timeout_is_off_by_default(make_server):
    process = make_server()
    with process.raw() as client:
        assert client.call("CONFIG", "GET", "timeout") == ["timeout", "0"]
        assert not client.is_closed_by_peer(1.5)
        assert client.call("PING") == "PONG"


def test_request_in_progress_is_not_idle_and_replication_link_is_not_a_client(make_pair):
    pair = make_pair("sync", start=False, sync_timeout="2s", idle_timeout="1s")
    primary = pair.primary
    primary.start()  # no standby yet: a write waits 2 s for it
    with primary.raw(timeout=10.0) as client:
        started = time.monotonic()
        reply = client.call("SET", "waiting", "v")
        assert isinstance(reply, Err) and reply.message.startswith("NOREPLICAS"), reply
        assert time.monotonic() - started >= 1.9  # open for 2 s past a 1 s idle timeout
        assert client.is_closed_by_peer(5.0), "idle after its reply, the connection was not closed"
    assert stat(primary, "idle_timeout_disconnections") == 1

    pair.standby.start()
    pair.wait_attached()
    # two more idle clients closed one after the other: the link has been idle for longer
    for _ in range(2):
        with primary.raw() as client:
            assert client.call("PING") == "PONG"
            assert client.is_closed_by_peer(5.0)
    assert stat(primary, "idle_timeout_disconnections") == 3
    assert stat(pair.standby, "idle_timeout_disconnections") == 0
    assert call(primary, "SET", "after", "v") == "OK"  # the sync standby still acknowledges


def test_inflight_limit_runs_request_n_plus_one_only_after_an_answer(make_pair):
    limit = 4
    pair = make_pair("sync", start=False, sync_timeout="2s", primary_options={"max_inflight_per_connection": limit})
    primary = pair.primary
    primary.start()  # no standby: every write waits 2 s, so its request stays in flight

    def appended() -> int:
        return int(info(primary, "persistence")["wal_last_appended_lsn"])

    base = appended()
    with primary.raw(timeout=10.0) as client:
        client.send(b"".join(encode("SET", f"inflight:{index}", index) for index in range(limit)))
        wait_until(lambda: appended() == base + limit, 1.5, message="the first N requests ran at once")
        client.send(encode("SET", "inflight:extra", "x"))
        # request N + 1 is not read while N are unanswered
        assert wait_until_stable(appended, quiet_seconds=0.5, timeout=1.5) == base + limit
        replies = [client.read_reply() for _ in range(limit)]
        assert all(isinstance(reply, Err) and reply.message.startswith("NOREPLICAS") for reply in replies), replies
        wait_until(lambda: appended() == base + limit + 1, 5.0, message="request N + 1 ran after the answers")
        extra = client.read_reply()
        assert isinstance(extra, Err) and extra.message.startswith("NOREPLICAS"), extra
    assert primary.alive


def test_redis_benchmark_pipelined_completes_with_default_limits(make_server):
    process = make_server()
    result = subprocess.run(
        ["redis-benchmark", "-h", HOST, "-p", str(process.port), "-c", "10", "-n", "20000", "-P", "100",
         "-t", "set,get", "-q"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert len(re.findall(r"requests per second", result.stdout)) == 2, result.stdout
    assert stat(process, "client_output_buffer_limit_disconnections") == 0
