#!/usr/bin/env python3
"""Server CPU time per request at -P 16: what the CPU-bound rows of side_by_side.py measure,
without the throughput's dependence on the machine's load.

For each binary and each of GET and SET (`--fsync everysec`), starts a fresh server, runs
`redis-benchmark -P 16 -c 50 -n N -d 64 -r 100000` (GET after a SET run filled the keys),
and divides the server process's user + system CPU time (from /proc/PID/stat) by N. The
binaries alternate, round by round; the summary is the median per binary and test.

    python3 benchmarks/cpu_per_request.py --repeat 3 \\
        main=/work/main/.build-release/release/understudy new=.build-release/release/understudy

valgrind's callgrind would count instructions instead, but 3.19 cannot read the release
binary's DWARF 5 (and crashes on a stripped copy), and these VMs expose no hardware counters.
"""
import argparse
import os
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

CLOCK_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_SECONDS = 30


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_SECOND


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def benchmark(port: int, test: str, requests: int) -> float:
    """Runs redis-benchmark; returns requests per second."""
    completed = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", test, "-P", "16", "-c", "50", "-n", str(requests),
         "-d", "64", "-r", "100000", "--csv"], capture_output=True, text=True, check=True)
    return float(completed.stdout.strip().splitlines()[-1].split(",")[1].strip('"'))


def wait_until_serving(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        reply = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True)
        if reply.stdout.strip() == "PONG":
            return
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server on port {port} did not start")
        time.sleep(0.1)


def measure(binary: str, test: str, requests: int) -> tuple[float, float]:
    """Microseconds of server CPU per request, and requests per second."""
    with tempfile.TemporaryDirectory(prefix="cpu-per-request-") as data_dir:
        port = free_port()
        process = subprocess.Popen(
            [binary, "server", "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}", "--fsync", "everysec"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until_serving(port, process)
            if test == "get":
                benchmark(port, "set", requests)
            before = cpu_seconds(process.pid)
            rate = benchmark(port, test, requests)
            after = cpu_seconds(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=20)
    return (after - before) / requests * 1e6, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binaries", nargs="+", metavar="LABEL=PATH")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("-n", "--requests", type=int, default=300_000)
    options = parser.parse_args()
    binaries = [argument.split("=", 1) for argument in options.binaries]
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for round_index in range(options.repeat):
        for test in ("get", "set"):
            for label, binary in binaries:
                microseconds, rate = measure(binary, test, options.requests)
                results.setdefault((test, label), []).append((microseconds, rate))
                print(f"round {round_index + 1} {test.upper()} {label}: {microseconds:.2f} µs CPU/request, "
                      f"{rate:,.0f} requests/s", flush=True)
    for (test, label), runs in results.items():
        cpu = [microseconds for microseconds, _ in runs]
        print(f"{test.upper()} -P 16 {label}: median {statistics.median(cpu):.2f} µs CPU/request "
              f"(min {min(cpu):.2f}, max {max(cpu):.2f}); median {statistics.median(r for _, r in runs):,.0f} requests/s")


if __name__ == "__main__":
    main()
