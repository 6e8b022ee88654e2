#!/usr/bin/env python3
"""Client overhead, side by side in one run (issue 10's target: >= 0.9x).

50 concurrent callers doing SET through UnderstudyClient (`understudy-client-check --mode
set-throughput`) against `redis-benchmark -c 50 -P 1 -t set` on the same node, alternating,
``--rounds`` times per fsync policy; prints the medians and their ratio as a Markdown table.

    swift build -c release
    python3 benchmarks/client_overhead.py [--requests 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_ping(port: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True, text=True).stdout.strip() == "PONG":
            return
        time.sleep(0.05)
    raise RuntimeError(f"the node on port {port} did not answer PING within {seconds} s")


def redis_benchmark(port: int, requests: int) -> float:
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-c", "50", "-P", "1", "-t", "set", "-n", str(requests),
                          "-r", "100000", "-d", "3", "--csv"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        fields = [field.strip('"') for field in line.split(",")]
        if fields and fields[0] == "SET":
            return float(fields[1])
    raise RuntimeError(f"no SET line in redis-benchmark's output: {out!r}")


def client_check(binary: Path, port: int, requests: int) -> float:
    out = subprocess.run([str(binary), "--seeds", f"127.0.0.1:{port}", "--mode", "set-throughput", "--callers", "50",
                          "--max-increments", str(requests), "--seconds", "120", "--log-level", "warning"],
                         capture_output=True, text=True, check=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    if report["failed"]:
        raise RuntimeError(f"the client saw failures: {report}")
    return float(report["ops_per_second"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bin-dir", default=str(ROOT / ".build" / "release"))
    options = parser.parse_args()
    bin_dir = Path(options.bin_dir)
    server, check = bin_dir / "understudy", bin_dir / "understudy-client-check"
    for needed in (server, check):
        if not needed.exists():
            sys.exit(f"{needed} is missing: run `swift build -c release` first")
    if shutil.which("redis-benchmark") is None:
        sys.exit("redis-benchmark is missing: apt-get install -y redis-tools")
    rows = []
    for policy in ("always", "everysec"):
        with tempfile.TemporaryDirectory() as data:
            port = free_port()
            process = subprocess.Popen([str(server), "server", "--data-dir", data, "--listen", f"127.0.0.1:{port}",
                                        "--fsync", policy], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_for_ping(port)
                benchmark, client = [], []
                for _ in range(options.rounds):
                    benchmark.append(redis_benchmark(port, options.requests))
                    client.append(client_check(check, port, options.requests))
            finally:
                process.kill()
                process.wait()
        rows.append((policy, statistics.median(benchmark), statistics.median(client), benchmark, client))
    print(f"| `--fsync` | redis-benchmark SET/s (median of {options.rounds}) | UnderstudyClient SET/s | ratio | runs (benchmark / client) |")
    print("|---|---|---|---|---|")
    for policy, bench, client, bench_runs, client_runs in rows:
        print(f"| {policy} | {bench:,.0f} | {client:,.0f} | {client / bench:.2f}x | "
              f"{', '.join(f'{x:,.0f}' for x in bench_runs)} / {', '.join(f'{x:,.0f}' for x in client_runs)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
