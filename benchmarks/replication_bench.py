#!/usr/bin/env python3
"""Replication benchmark: what a standby costs, measured in one run on one machine.

Setups (all on free loopback ports, fresh temporary data directories):

* Understudy standalone, ``--fsync always`` (the baseline);
* Understudy pair, ``--replication sync`` (both nodes ``--fsync always``);
* Understudy pair, ``--replication async`` (both nodes ``--fsync always``);
* Redis primary + replica (async replication; both ``appendonly yes``, ``appendfsync always``);
* Redis primary + replica with ``SET`` + ``WAIT 1 1000`` per write: Redis's closest
  equivalent of a synchronous write. redis-benchmark cannot send two commands per request,
  so a Python client does it: 50 connections (threads, spread over a few processes so the
  GIL is not the limit), each sending ``SET`` and ``WAIT 1 1000`` back to back and waiting
  for both replies, bounded by a request count and a time limit. The same client also
  runs plain ``SET`` against that Redis (the client's own ceiling: if it is not well above
  the SET+WAIT rate, the comparison is client-bound and says so) and against the Understudy
  sync pair (like for like).

redis-benchmark: ``SET -c 50 -P 1 -d 64 -r 100000 -n N --csv``, every setup once per round,
rounds alternate (``--repeat``), cells are medians. During the async run the primary's
``understudy_lag_milliseconds`` is sampled every 10 ms.

Skips (exit 0, nothing written) when ``understudy server --help`` does not list ``--peer``.
``--redis-only`` runs just the Redis rows (checks the script without Understudy).

    swift build -c release
    python3 benchmarks/replication_bench.py                 # -n 100000, --repeat 3
    python3 benchmarks/replication_bench.py -n 20000 --repeat 1 --no-write
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import multiprocessing
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from side_by_side import free_port, launch, machine_description, redis_version, terminate  # shared with the single-node script

REPO_ROOT = Path(__file__).resolve().parent.parent
BEGIN_MARKER = "<!-- replication:begin -->"
END_MARKER = "<!-- replication:end -->"
HOST = "127.0.0.1"
BENCHMARK_TIMEOUT_SECONDS = 300
STARTUP_TIMEOUT_SECONDS = 30
ATTACH_TIMEOUT_SECONDS = 30
CLIENTS = 50
VALUE_BYTES = 64
KEYSPACE = 100_000


# -- servers ---------------------------------------------------------------------------------

def command(port: int, *args: str, timeout: float = 5.0) -> bytes:
    """One command on a fresh connection; returns the raw reply (bulk replies read whole)."""
    payload = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
    with socket.create_connection((HOST, port), timeout=timeout) as connection:
        connection.sendall(payload)
        data = b""
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                return data
            data += chunk
            if data[:1] != b"$":
                if data.endswith(b"\r\n"):
                    return data
                continue
            header_end = data.find(b"\r\n")
            if header_end > 0:
                length = int(data[1:header_end])
                if length < 0 or len(data) >= header_end + 2 + length + 2:
                    return data


def ping(port: int) -> bool:
    try:
        return command(port, "PING", timeout=1.0).startswith(b"+PONG")
    except OSError:
        return False


def info(port: int, section: str = "replication") -> dict[str, str]:
    reply = command(port, "INFO", section).decode(errors="replace")
    fields = {}
    for line in reply.splitlines()[1:]:
        if ":" in line and not line.startswith("#"):
            name, value = line.split(":", 1)
            fields[name] = value.strip()
    return fields


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout}s waiting for: {what}")
        time.sleep(0.02)


class Process:
    def __init__(self, name: str, argv: list[str], port: int, work_dir: Path):
        self.name = name
        self.port = port
        self.log_path = work_dir / f"{name}.log"
        self.log = open(self.log_path, "ab")
        self.process = launch(argv, self.log, port, name, timeout=STARTUP_TIMEOUT_SECONDS)

    def stop(self) -> None:
        terminate(self.process)
        self.log.close()


def understudy(binary: Path, work_dir: Path, name: str, port: int, *extra: str) -> Process:
    data_dir = work_dir / name
    data_dir.mkdir()
    argv = [str(binary), "server", "--data-dir", str(data_dir), "--listen", f"{HOST}:{port}",
            "--fsync", "always", *extra]
    return Process(name, argv, port, work_dir)


def redis(work_dir: Path, name: str, port: int, *extra: str) -> Process:
    data_dir = work_dir / name
    data_dir.mkdir()
    argv = ["redis-server", "--port", str(port), "--bind", HOST, "--protected-mode", "no", "--dir", str(data_dir),
            "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no", *extra]
    return Process(name, argv, port, work_dir)


class Setup:
    """One thing to benchmark: the port clients write to, and the processes behind it."""

    def __init__(self, label: str, port: int, processes: list[Process]):
        self.label = label
        self.port = port
        self.processes = processes

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def understudy_pair(binary: Path, work_dir: Path, mode: str) -> Setup:
    primary_port, standby_port = free_port(), free_port()
    while standby_port == primary_port:
        standby_port = free_port()
    primary = understudy(binary, work_dir, f"understudy-{mode}-primary", primary_port,
                         "--peer", f"{HOST}:{standby_port}", "--replication", mode, "--role", "primary")
    standby = understudy(binary, work_dir, f"understudy-{mode}-standby", standby_port,
                         "--peer", f"{HOST}:{primary_port}", "--replication", mode, "--role", "standby")
    setup = Setup(f"Understudy pair, {mode}", primary_port, [primary, standby])
    try:
        wait_for(lambda: info(primary_port).get("connected_slaves") == "1"
                 and info(standby_port).get("master_link_status") == "up",
                 ATTACH_TIMEOUT_SECONDS, f"Understudy {mode} standby attached")
    except SystemExit:
        setup.stop()
        raise
    return setup


def redis_with_replica(work_dir: Path) -> Setup:
    primary_port, replica_port = free_port(), free_port()
    while replica_port == primary_port:
        replica_port = free_port()
    primary = redis(work_dir, "redis-primary", primary_port)
    replica = redis(work_dir, "redis-replica", replica_port, "--replicaof", HOST, str(primary_port))
    setup = Setup("Redis primary + replica (async)", primary_port, [primary, replica])
    try:
        wait_for(lambda: info(primary_port).get("connected_slaves") == "1"
                 and info(replica_port).get("master_link_status") == "up",
                 ATTACH_TIMEOUT_SECONDS, "Redis replica attached")
    except SystemExit:
        setup.stop()
        raise
    return setup


# -- load ---------------------------------------------------------------------------------------

@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    note: str = ""


def run_redis_benchmark(port: int, requests: int) -> Result:
    argv = ["redis-benchmark", "-h", HOST, "-p", str(port), "-t", "set", "-n", str(requests), "-c", str(CLIENTS),
            "-P", "1", "-d", str(VALUE_BYTES), "-r", str(KEYSPACE), "--csv"]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=BENCHMARK_TIMEOUT_SECONDS,
                               stdin=subprocess.DEVNULL)
    if completed.returncode != 0:
        raise SystemExit(f"redis-benchmark failed: {' '.join(argv)}\n{completed.stderr}")
    rows = list(csv.DictReader(io.StringIO(completed.stdout)))
    if len(rows) != 1:
        raise SystemExit(f"unexpected redis-benchmark CSV output:\n{completed.stdout}")
    row = rows[0]
    return Result(float(row["rps"]), float(row["p50_latency_ms"]), float(row["p99_latency_ms"]))


def _encode(*args: str) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in args)


def _loop_connection(port: int, with_wait: bool, quota: int, seconds: float, seed: int,
                     latencies: list, counters: dict, lock: threading.Lock, go) -> None:
    rng = random.Random(seed)
    value = "x" * VALUE_BYTES
    wait_request = _encode("WAIT", "1", "1000")
    expected_replies = 2 if with_wait else 1
    done = waits_short = errors = 0
    local = []
    try:
        with socket.create_connection((HOST, port), timeout=10) as connection:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            go.wait()
            deadline = time.monotonic() + seconds
            while done < quota and time.monotonic() < deadline:
                request = _encode("SET", f"key:{rng.randrange(KEYSPACE):012d}", value)
                if with_wait:
                    request += wait_request
                started = time.perf_counter()
                connection.sendall(request)
                buffer = b""
                while buffer.count(b"\r\n") < expected_replies:
                    chunk = connection.recv(4096)
                    if not chunk:
                        raise ConnectionError("server closed the connection")
                    buffer += chunk
                local.append(time.perf_counter() - started)
                replies = buffer.split(b"\r\n")
                if not replies[0].startswith(b"+OK"):
                    errors += 1
                elif with_wait and replies[1] != b":1":
                    waits_short += 1
                done += 1
    except OSError:
        errors += 1
    with lock:
        latencies.extend(local)
        counters["done"] += done
        counters["waits_short"] += waits_short
        counters["errors"] += errors


def _loop_process(port: int, with_wait: bool, connections: int, quota: int, seconds: float, seed: int,
                  ready, go, results) -> None:
    latencies: list[float] = []
    counters = {"done": 0, "waits_short": 0, "errors": 0}
    lock = threading.Lock()
    threads = [threading.Thread(target=_loop_connection,
                                args=(port, with_wait, quota, seconds, seed * 1000 + index, latencies, counters,
                                      lock, go), daemon=True)
               for index in range(connections)]
    for thread in threads:
        thread.start()
    ready.put(True)
    for thread in threads:
        thread.join(timeout=seconds + STARTUP_TIMEOUT_SECONDS + 60)
    results.put((counters, latencies, time.time()))


def run_client_loop(port: int, with_wait: bool, requests: int, seconds: float, processes: int) -> Result:
    """``CLIENTS`` connections over ``processes`` processes; each does SET (+ WAIT 1 1000)
    and waits for the replies, until ``requests`` in all or ``seconds`` pass."""
    context = multiprocessing.get_context("fork")
    ready, results, go = context.Queue(), context.Queue(), context.Event()
    per_process = [CLIENTS // processes + (1 if i < CLIENTS % processes else 0) for i in range(processes)]
    quota = max(1, -(-requests // CLIENTS))
    workers = [context.Process(target=_loop_process,
                               args=(port, with_wait, count, quota, seconds, index + 1, ready, go, results),
                               daemon=True)
               for index, count in enumerate(per_process) if count]
    for worker in workers:
        worker.start()
    for _ in workers:
        ready.get(timeout=STARTUP_TIMEOUT_SECONDS)
    released = time.time()  # wall clock: comparable across processes
    go.set()
    collected = [results.get(timeout=seconds + 120) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    done = sum(counters["done"] for counters, _, _ in collected)
    waits_short = sum(counters["waits_short"] for counters, _, _ in collected)
    errors = sum(counters["errors"] for counters, _, _ in collected)
    latencies = sorted(latency for _, values, _ in collected for latency in values)
    elapsed = max(finished for _, _, finished in collected) - released
    if not latencies or elapsed <= 0:
        raise SystemExit(f"client loop on port {port} completed nothing (errors {errors})")
    note = []
    if done < requests:
        note.append(f"stopped by the {seconds:.0f} s limit after {done}")
    if waits_short:
        note.append(f"{waits_short} WAIT returned 0")
    if errors:
        note.append(f"{errors} errors")
    return Result(done / elapsed, 1000 * latencies[len(latencies) // 2],
                  1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], "; ".join(note))


class LagSampler:
    """Samples the primary's ``understudy_lag_milliseconds`` every 10 ms while running."""

    def __init__(self, port: int):
        self.port = port
        self.samples: list[int] = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.samples.append(int(info(self.port)["understudy_lag_milliseconds"]))
            except (OSError, KeyError, ValueError):
                pass
            self.stop_event.wait(0.01)

    def __enter__(self) -> "LagSampler":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        self.thread.join(timeout=10)


# -- report -------------------------------------------------------------------------------------

def median(results: list[Result]) -> Result:
    notes = sorted({r.note for r in results if r.note})
    return Result(statistics.median(r.rps for r in results), statistics.median(r.p50_ms for r in results),
                  statistics.median(r.p99_ms for r in results), "; ".join(notes))


def percentile(values: list[int], fraction: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0


def render(rows: list[tuple[str, str, Result]], lag_samples: list[int], options, elapsed: float) -> str:
    """rows: (setup label, client, result). Ratios and targets from the issue."""
    by = {(label, client): result for label, client, result in rows}
    standalone = by.get(("Understudy standalone, --fsync always", "redis-benchmark"))
    sync = by.get(("Understudy pair, sync", "redis-benchmark"))
    redis_wait = by.get(("Redis primary + replica, SET + WAIT 1", "Python loop"))
    redis_set_loop = by.get(("Redis primary + replica (async)", "Python loop"))
    sync_loop = by.get(("Understudy pair, sync", "Python loop"))
    client_bound = bool(redis_wait and redis_set_loop and redis_set_loop.rps < 1.5 * redis_wait.rps)

    def verdict(label: str, client: str, result: Result) -> tuple[str, str, str]:
        same_client = client == "redis-benchmark" and label.startswith("Understudy")
        versus_standalone = f"{result.rps / standalone.rps:.2f}×" if standalone and same_client else "—"
        goal, met = "—", "—"
        if client == "redis-benchmark" and standalone and label == "Understudy pair, sync":
            goal, met = "≥ 0.8× standalone", "yes" if result.rps >= 0.8 * standalone.rps else "**no**"
        if client == "redis-benchmark" and standalone and label == "Understudy pair, async":
            goal, met = "≥ 0.95× standalone", "yes" if result.rps >= 0.95 * standalone.rps else "**no**"
        if label == "Understudy pair, sync" and client == "Python loop" and redis_wait:
            goal = "≥ 5× Redis SET+WAIT (same client)"
            met = ("client-bound" if client_bound else "yes" if result.rps >= 5 * redis_wait.rps else "**no**")
        return versus_standalone, goal, met

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN_MARKER,
        f"Run: {now} · machine: {machine_description()} · Redis {redis_version()} · redis-benchmark `-n "
        f"{options.requests}` · Python loop `{options.loop_requests}` writes or {options.loop_seconds:.0f} s, "
        f"{CLIENTS} connections over {options.loop_processes} processes · median of {options.repeat} "
        f"alternating rounds · took {elapsed:.0f} s",
        "",
        "Command: `" + " ".join(["python3 benchmarks/replication_bench.py", *sys.argv[1:]]) + "`",
        "",
        "| setup | client | SET rps | p50 / p99 ms | vs standalone | target | met | notes |",
        "|---|---|---:|---:|---:|---|---|---|",
    ]
    for label, client, result in rows:
        versus, goal, met = verdict(label, client, result)
        lines.append(f"| {label} | {client} | {result.rps:,.0f} | {result.p50_ms:.3f} / {result.p99_ms:.3f} | "
                     f"{versus} | {goal} | {met} | {result.note or ''} |")
    lines.append("")
    if sync and redis_wait:
        lines.append(f"Understudy sync (redis-benchmark) / Redis SET + WAIT 1 (Python loop): "
                     f"{sync.rps / redis_wait.rps:.1f}× — different clients, for orientation only.")
    if sync_loop and redis_wait:
        lines.append(f"Understudy sync / Redis SET + WAIT 1, both through the Python loop: "
                     f"{sync_loop.rps / redis_wait.rps:.1f}×"
                     + (" — **client-bound**: the loop's plain-SET ceiling against Redis is under 1.5× its "
                        "SET+WAIT rate, so this ratio understates the difference." if client_bound else "."))
    if lag_samples:
        lines.append(f"Async lag during the async redis-benchmark runs (full -c 50 load, not the 80 % load of the "
                     f"lag target), sampled every 10 ms from `INFO replication`: p50 "
                     f"{percentile(lag_samples, 0.5)} ms, p99 {percentile(lag_samples, 0.99)} ms, max "
                     f"{max(lag_samples)} ms over {len(lag_samples)} samples.")
    lines += ["", "redis-benchmark cells: `redis-benchmark -h 127.0.0.1 -p PORT -t set -n N -c 50 -P 1 -d 64 "
              "-r 100000 --csv`.", END_MARKER]
    return "\n".join(lines)


def write_between_markers(path: Path, block: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if BEGIN_MARKER in text and END_MARKER in text:
        text = text[: text.index(BEGIN_MARKER)] + block + text[text.index(END_MARKER) + len(END_MARKER):]
    else:
        text = text.rstrip("\n") + "\n\n## Replication\n\n" + block + "\n"
    path.write_text(text)


# -- main -----------------------------------------------------------------------------------------

def supports_peer(binary: Path) -> bool:
    try:
        completed = subprocess.run([str(binary), "server", "--help"], capture_output=True, text=True, timeout=30,
                                   stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return False
    return any(word.strip("[],=<>") == "--peer" for word in (completed.stdout + completed.stderr).split())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--requests", type=int, default=int(os.environ.get("BENCH_REQUESTS", 100_000)),
                        help="redis-benchmark -n per cell")
    parser.add_argument("--loop-requests", type=int, default=None,
                        help="writes per Python-loop cell (default: half of -n)")
    parser.add_argument("--loop-seconds", type=float, default=60.0, help="time limit per Python-loop cell")
    parser.add_argument("--loop-processes", type=int, default=min(4, max(2, os.cpu_count() or 2)),
                        help="processes the 50 loop connections are spread over")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 3)))
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave docs/benchmarks.md alone")
    parser.add_argument("--redis-only", action="store_true",
                        help="only the Redis rows (checks the script; implies --no-write)")
    options = parser.parse_args()
    options.loop_requests = options.loop_requests or max(1000, options.requests // 2)

    for tool in ("redis-server", "redis-benchmark"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install -y redis-server redis-tools")
    binary = Path(os.environ.get("UNDERSTUDY_BIN", REPO_ROOT / ".build" / "release" / "understudy"))
    if not options.redis_only:
        if not binary.exists():
            raise SystemExit(f"understudy binary not found at {binary} (swift build -c release, or set UNDERSTUDY_BIN)")
        if not supports_peer(binary):
            print(f"SKIP: `{binary} server --help` does not list --peer: replication is not built in this binary")
            return 0

    started = time.monotonic()
    rows: dict[tuple[str, str], list[Result]] = {}
    order: list[tuple[str, str]] = []
    lag_samples: list[int] = []
    setups: list[Setup] = []

    def record(label: str, client: str, result: Result) -> None:
        if (label, client) not in rows:
            rows[(label, client)] = []
            order.append((label, client))
        rows[(label, client)].append(result)
        print(f"{label:42} {client:16} {result.rps:>10,.0f} rps  p50 {result.p50_ms:.3f}  p99 {result.p99_ms:.3f} ms"
              + (f"  ({result.note})" if result.note else ""), flush=True)

    with tempfile.TemporaryDirectory(prefix="replication-bench-") as temporary:
        work_dir = Path(temporary)
        try:
            standalone = sync_pair = async_pair = None
            if not options.redis_only:
                port = free_port()
                standalone = Setup("Understudy standalone, --fsync always", port,
                                   [understudy(binary, work_dir, "understudy-standalone", port)])
                setups.append(standalone)
                sync_pair = understudy_pair(binary, work_dir, "sync")
                setups.append(sync_pair)
                async_pair = understudy_pair(binary, work_dir, "async")
                setups.append(async_pair)
            redis_pair = redis_with_replica(work_dir)
            setups.append(redis_pair)

            for round_index in range(options.repeat):
                print(f"-- round {round_index + 1} of {options.repeat}", flush=True)
                for setup in (standalone, sync_pair, async_pair, redis_pair):
                    if setup is None:
                        continue
                    if setup is async_pair:
                        with LagSampler(setup.port) as sampler:
                            result = run_redis_benchmark(setup.port, options.requests)
                        lag_samples += sampler.samples
                    else:
                        result = run_redis_benchmark(setup.port, options.requests)
                    record(setup.label, "redis-benchmark", result)
                record("Redis primary + replica, SET + WAIT 1", "Python loop",
                       run_client_loop(redis_pair.port, True, options.loop_requests, options.loop_seconds,
                                       options.loop_processes))
                record("Redis primary + replica (async)", "Python loop",
                       run_client_loop(redis_pair.port, False, options.loop_requests, options.loop_seconds,
                                       options.loop_processes))
                if sync_pair is not None:
                    record("Understudy pair, sync", "Python loop",
                           run_client_loop(sync_pair.port, False, options.loop_requests, options.loop_seconds,
                                           options.loop_processes))
        finally:
            for setup in setups:
                setup.stop()

    elapsed = time.monotonic() - started
    block = render([(label, client, median(rows[(label, client)])) for label, client in order],
                   lag_samples, options, elapsed)
    print()
    print(block)
    if not options.no_write and not options.redis_only:
        write_between_markers(options.output, block)
        print(f"wrote {options.output} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
