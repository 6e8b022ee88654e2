"""The real redis-cli and redis-benchmark binaries against the server (bounded subprocesses)."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess

import pytest

CLI_TIMEOUT_SECONDS = 30
BENCHMARK_TIMEOUT_SECONDS = 90


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: apt-get install -y redis-tools")
    return path


def cli(server, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_tool("redis-cli"), "-h", "127.0.0.1", "-p", str(server.port), *args],
        input=stdin,
        capture_output=True,
        timeout=CLI_TIMEOUT_SECONDS,
    )


@pytest.fixture
def clean(server):
    assert cli(server, "FLUSHALL").stdout == b"OK\n"
    return server


def test_cli_set_get_incr(clean):
    assert cli(clean, "SET", "greeting", "hello world").stdout == b"OK\n"
    assert cli(clean, "GET", "greeting").stdout == b"hello world\n"
    assert cli(clean, "INCR", "counter").stdout == b"1\n"
    assert cli(clean, "--no-raw", "INCR", "counter").stdout == b"(integer) 2\n"
    assert cli(clean, "--no-raw", "GET", "greeting").stdout == b'"hello world"\n'
    assert cli(clean, "--no-raw", "GET", "missing").stdout == b"(nil)\n"
    assert cli(clean, "MSET", "a", "1", "b", "2").stdout == b"OK\n"
    assert cli(clean, "MGET", "a", "missing", "b").stdout == b"1\n\n2\n"
    assert cli(clean, "--no-raw", "MGET", "a", "missing").stdout == b'1) "1"\n2) (nil)\n'
    assert cli(clean, "DBSIZE").stdout == b"4\n"


def test_cli_raw_binary_value(clean):
    assert cli(clean, "SET", "multi", "line1\nline2\ttab").returncode == 0
    assert cli(clean, "--raw", "GET", "multi").stdout == b"line1\nline2\ttab\n"
    assert cli(clean, "--no-raw", "GET", "multi").stdout == b'"line1\\nline2\\ttab"\n'


def test_cli_error_reply(clean):
    cli(clean, "SET", "word", "abc")
    result = cli(clean, "INCR", "word")
    assert result.stdout.strip() == b"ERR value is not an integer or out of range"
    result = cli(clean, "--no-raw", "NOSUCHCOMMAND")
    assert result.stdout.startswith(b"(error) ERR unknown command 'NOSUCHCOMMAND'")


def test_cli_ttl_and_keys(clean):
    cli(clean, "SET", "session:1", "x", "EX", "100")
    cli(clean, "SET", "session:2", "y")
    assert 0 < int(cli(clean, "TTL", "session:1").stdout) <= 100
    assert sorted(cli(clean, "KEYS", "session:*").stdout.split()) == [b"session:1", b"session:2"]


def test_cli_scan_mode(clean):
    cli(clean, "MSET", *[part for i in range(300) for part in (f"user:{i}", "v")])
    cli(clean, "SET", "other", "v")
    result = cli(clean, "--scan", "--pattern", "user:*")
    assert result.returncode == 0
    assert set(result.stdout.split()) == {f"user:{i}".encode() for i in range(300)}


def test_cli_info_output(clean):
    cli(clean, "SET", "k", "v")
    result = cli(clean, "INFO")
    text = result.stdout.decode()
    assert re.search(r"^# Server\r?$", text, re.M)
    assert re.search(r"^redis_version:\d+\.\d+\.\d+\r?$", text, re.M)
    assert re.search(r"^connected_clients:\d+\r?$", text, re.M)
    assert re.search(r"^db0:keys=1,expires=0,avg_ttl=\d+\r?$", text, re.M)
    keyspace = cli(clean, "INFO", "keyspace").stdout.decode()
    assert "# Keyspace" in keyspace and "# Server" not in keyspace


def test_cli_pipe_mass_insertion(clean):
    lines = []
    for i in range(5000):
        key, value = f"mass:{i}", f"value-{i}"
        lines.append(f"*3\r\n$3\r\nSET\r\n${len(key)}\r\n{key}\r\n${len(value)}\r\n{value}\r\n")
    result = cli(clean, "--pipe", stdin="".join(lines).encode())
    assert result.returncode == 0, result.stderr
    output = result.stdout.decode()
    assert "errors: 0, replies: 5000" in output, output
    assert cli(clean, "DBSIZE").stdout == b"5000\n"
    assert cli(clean, "GET", "mass:4999").stdout == b"value-4999\n"


def test_cli_stdin_last_argument(clean):
    result = cli(clean, "-x", "SET", "from-stdin", stdin=b"payload\x00bytes")
    assert result.stdout == b"OK\n"
    assert cli(clean, "STRLEN", "from-stdin").stdout == b"13\n"


def test_cli_ping_and_echo(clean):
    assert cli(clean, "PING").stdout == b"PONG\n"
    assert cli(clean, "ECHO", "hi there").stdout == b"hi there\n"


def benchmark(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_tool("redis-benchmark"), "-h", "127.0.0.1", "-p", str(server.port), *args],
        capture_output=True,
        timeout=BENCHMARK_TIMEOUT_SECONDS,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_redis_benchmark_quiet(clean):
    result = benchmark(clean, "-t", "set,get", "-n", "2000", "-c", "10", "-q")
    assert result.returncode == 0, result.stderr
    output = result.stdout.decode(errors="replace")
    # -q prints progress lines ("SET: rps=...") ending in \r before each final line
    finals = re.findall(r"(SET|GET): ([\d.]+) requests per second", output)
    assert [name for name, _ in finals] == ["SET", "GET"], output
    assert all(float(rps) > 0 for _, rps in finals), output


@pytest.mark.slow
def test_redis_benchmark_csv_pipelined(clean):
    result = benchmark(clean, "-t", "set,get", "-n", "5000", "-c", "20", "-P", "16", "-d", "64", "-r", "1000", "--csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout.decode())))
    assert [row["test"] for row in rows] == ["SET", "GET"], result.stdout
    for row in rows:
        assert float(row["rps"]) > 0
        assert float(row["p50_latency_ms"]) >= 0
        assert float(row["p99_latency_ms"]) >= float(row["p50_latency_ms"])
    assert 0 < int(cli(clean, "DBSIZE").stdout) <= 1000
