#!/usr/bin/env python3
"""Run redis-benchmark against Understudy and Debian's redis-server in the same run, with
matching durability, and write a markdown table into docs/benchmarks.md.

Pairs: Understudy ``--fsync always`` vs Redis ``appendonly yes`` + ``appendfsync always``;
``everysec`` vs ``everysec``. Both servers on free loopback ports, fresh temporary data
directories, Redis with ``--save ''``. Each test runs against Redis and then the candidate
back to back, so machine drift hits both alike.

Use ``benchmarks/side_by_side.sh`` (it builds the release binary first).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BEGIN_MARKER = "<!-- side-by-side:begin -->"
END_MARKER = "<!-- side-by-side:end -->"
HOST = "127.0.0.1"
BENCHMARK_TIMEOUT_SECONDS = 180


@dataclass(frozen=True)
class Case:
    fsync: str
    test: str  # "set" or "get"
    clients: int
    pipeline: int
    target_ratio: float | None  # candidate rps / redis rps must be >= this
    p99_factor: float | None  # candidate p99 must be <= this times redis p99


# The targets of issue 12 (performance).
CASES = [
    Case("always", "set", 50, 1, 1.2, None),
    Case("always", "get", 50, 1, None, None),
    Case("always", "set", 50, 16, None, None),
    Case("always", "get", 50, 16, None, None),
    Case("always", "set", 1, 1, 1.0, None),
    Case("everysec", "set", 50, 1, 1.0, None),
    Case("everysec", "get", 50, 1, 1.0, None),
    Case("everysec", "set", 50, 16, 0.9, 1.5),
    Case("everysec", "get", 50, 16, 0.9, 1.5),
]


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def ping(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1) as connection:
            connection.sendall(b"*1\r\n$4\r\nPING\r\n")
            return connection.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def launch(argv: list[str], log, port: int, name: str, timeout: float = 30.0) -> subprocess.Popen:
    """Starts a server (own session, output to `log`) and waits until it answers PING."""
    process = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    while not ping(port):
        if process.poll() is not None or time.monotonic() > deadline:
            terminate(process)
            raise SystemExit(f"{name} did not start (see {log.name})")
        time.sleep(0.02)
    return process


def terminate(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 20 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Server:
    def __init__(self, kind: str, fsync: str, work_dir: Path, understudy_bin: Path | None):
        self.kind = kind
        self.port = free_port()
        data_dir = work_dir / f"{kind}-{fsync}-{self.port}"
        data_dir.mkdir(parents=True)
        if kind == "redis":
            command = [
                "redis-server", "--port", str(self.port), "--bind", HOST, "--protected-mode", "no",
                "--dir", str(data_dir), "--save", "", "--appendonly", "yes", "--appendfsync", fsync,
                "--daemonize", "no",
            ]
        else:
            command = [
                str(understudy_bin), "server", "--data-dir", str(data_dir),
                "--listen", f"{HOST}:{self.port}", "--fsync", fsync,
            ]
        self.log = open(work_dir / f"{kind}-{fsync}.log", "ab")
        self.process = launch(command, self.log, self.port, kind)

    def stop(self) -> None:
        terminate(self.process)
        self.log.close()


def run_benchmark(port: int, case: Case, requests: int) -> tuple[Result, str]:
    command = [
        "redis-benchmark", "-h", HOST, "-p", str(port), "-t", case.test, "-n", str(requests),
        "-c", str(case.clients), "-P", str(case.pipeline), "-d", "64", "-r", "100000", "--csv",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=BENCHMARK_TIMEOUT_SECONDS,
                               stdin=subprocess.DEVNULL)
    if completed.returncode != 0:
        raise SystemExit(f"redis-benchmark failed: {' '.join(command)}\n{completed.stderr}")
    return parse_csv(completed.stdout), " ".join(command[:1] + command[5:])


def parse_csv(text: str) -> Result:
    """Parse redis-benchmark 7 ``--csv`` output (header: test, rps, avg, min, p50, p95, p99, max)."""
    rows = list(csv.DictReader(io.StringIO(text)))
    if len(rows) != 1:
        raise SystemExit(f"unexpected redis-benchmark CSV output:\n{text}")
    row = rows[0]
    return Result(float(row["rps"]), float(row["p50_latency_ms"]), float(row["p99_latency_ms"]))


def median(results: list[Result]) -> Result:
    """Per-metric median over repeated runs."""
    def middle(values: list[float]) -> float:
        return statistics.median(values)
    return Result(middle([r.rps for r in results]), middle([r.p50_ms for r in results]),
                  middle([r.p99_ms for r in results]))


def requests_for(case: Case, requests: int) -> int:
    # one client with fsync always is bound by the fsync floor (~5k/s): fewer requests
    return max(1000, requests // 10) if case.clients == 1 else requests


def verdict(case: Case, redis: Result, candidate: Result) -> tuple[str, str]:
    goals, met = [], True
    ratio = candidate.rps / redis.rps if redis.rps else 0.0
    if case.target_ratio is not None:
        goals.append(f"≥ {case.target_ratio:.1f}×")
        met = met and ratio >= case.target_ratio
    if case.p99_factor is not None:
        goals.append(f"p99 ≤ {case.p99_factor:g}×")
        met = met and candidate.p99_ms <= case.p99_factor * redis.p99_ms
    if not goals:
        return "—", "—"
    return ", ".join(goals), "yes" if met else "**no**"


def machine_description() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores (nproc), {cpu}, Linux {platform.release()}"


def redis_version() -> str:
    output = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    match = re.search(r"v=([\d.]+)", output)
    return match.group(1) if match else output.strip()


def render(rows, candidate_name: str, arguments: str, requests: int, repeat: int, elapsed: float) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN_MARKER,
        f"Run: {now} · machine: {machine_description()} · Redis {redis_version()} · "
        f"`-n {requests}` (`-c 1`: `-n {requests_for(Case('always', 'set', 1, 1, None, False), requests)}`) · "
        f"median of {repeat} alternating runs per cell · "
        f"took {elapsed:.0f} s",
        "",
        f"Command: `benchmarks/side_by_side.sh {arguments}`".rstrip(),
        "",
        f"| fsync | test | -c | -P | Redis rps | {candidate_name} rps | ratio | Redis p50 / p99 ms | "
        f"{candidate_name} p50 / p99 ms | target | met |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for case, redis, candidate, _ in rows:
        target, met = verdict(case, redis, candidate)
        lines.append(
            f"| {case.fsync} | {case.test.upper()} | {case.clients} | {case.pipeline} | {redis.rps:,.0f} | "
            f"{candidate.rps:,.0f} | {candidate.rps / redis.rps:.2f}× | {redis.p50_ms:.3f} / {redis.p99_ms:.3f} | "
            f"{candidate.p50_ms:.3f} / {candidate.p99_ms:.3f} | {target} | {met} |"
        )
    lines += ["", "Each cell: `redis-benchmark -h 127.0.0.1 -p PORT -t TEST -n N -c C -P P -d 64 -r 100000 --csv`"
              " with that row's test, `-c` and `-P`.", END_MARKER]
    return "\n".join(lines)


def write_between_markers(path: Path, block: str) -> None:
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{BEGIN_MARKER}\n{END_MARKER}\n"
    if BEGIN_MARKER in text and END_MARKER in text:
        before = text[: text.index(BEGIN_MARKER)]
        after = text[text.index(END_MARKER) + len(END_MARKER):]
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--requests", type=int, default=int(os.environ.get("BENCH_REQUESTS", 100000)))
    parser.add_argument("--candidate", choices=("understudy", "redis"), default="understudy",
                        help="what to compare with Redis (redis: a second redis-server, to check the script)")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-build", action="store_true", help="accepted for the .sh wrapper")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 3)),
                        help="runs per case and server, alternating; the table shows medians")
    parser.add_argument("--only", choices=("always", "everysec"), help="run one durability level")
    options = parser.parse_args()

    for tool in ("redis-server", "redis-benchmark"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install -y redis-server redis-tools")
    understudy_bin = None
    if options.candidate == "understudy":
        understudy_bin = Path(os.environ.get("UNDERSTUDY_BIN", REPO_ROOT / ".build" / "release" / "understudy"))
        if not understudy_bin.exists():
            raise SystemExit(f"understudy binary not found at {understudy_bin}")
    candidate_name = "Understudy" if options.candidate == "understudy" else "Redis (2nd)"

    started = time.monotonic()
    rows = []
    command_line = None
    with tempfile.TemporaryDirectory(prefix="side-by-side-") as temporary:
        work_dir = Path(temporary)
        for fsync in ("always", "everysec"):
            if options.only and fsync != options.only:
                continue
            redis = Server("redis", fsync, work_dir, None)
            candidate = Server(options.candidate, fsync, work_dir, understudy_bin)
            try:
                for case in (case for case in CASES if case.fsync == fsync):
                    count = requests_for(case, options.requests)
                    redis_runs, candidate_runs = [], []
                    for _ in range(options.repeat):  # alternate, so drift hits both alike
                        result, command_line = run_benchmark(redis.port, case, count)
                        redis_runs.append(result)
                        candidate_runs.append(run_benchmark(candidate.port, case, count)[0])
                    redis_result, candidate_result = median(redis_runs), median(candidate_runs)
                    rows.append((case, redis_result, candidate_result, command_line))
                    print(f"{fsync:8} {case.test.upper():3} -c {case.clients:<2} -P {case.pipeline:<2} "
                          f"redis {redis_result.rps:>10,.0f} rps p99 {redis_result.p99_ms:.3f} ms | "
                          f"{candidate_name} {candidate_result.rps:>10,.0f} rps p99 {candidate_result.p99_ms:.3f} ms | "
                          f"{candidate_result.rps / redis_result.rps:.2f}×  target {verdict(case, redis_result, candidate_result)[0]}",
                          flush=True)
            finally:
                candidate.stop()
                redis.stop()
    elapsed = time.monotonic() - started
    arguments = " ".join(sys.argv[1:])
    block = render([(case, r, c, line) for case, r, c, line in rows], candidate_name, arguments,
                   options.requests, options.repeat, elapsed)
    write_between_markers(options.output, block)
    print(f"wrote {options.output} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
