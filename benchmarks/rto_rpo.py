#!/usr/bin/env python3
"""RTO and RPO under real faults: Understudy (sync and async) and Redis + Sentinel, side by
side in one run, with the same clients and the same faults.

Systems (fresh processes, fresh data directories and loopback ports for every trial):

* Understudy: ``tests/cluster.py`` — a witness and two nodes, defaults
  ``--heartbeat-interval 100ms --failure-timeout 1s --lease 500ms``, ``--fsync always``,
  ``--replication sync`` or ``async``.
* Redis 7 + Sentinel: a master and a replica (``appendonly yes``, ``appendfsync always``,
  ``save ''``, ``repl-diskless-sync-delay 0``, ``min-replicas-to-write`` left at 0) and three
  sentinels (quorum 2, ``down-after-milliseconds 1000``, ``failover-timeout 10000``).

Scenarios (the fault is applied at t0 to the current primary):

* ``kill``       kill -9; the killed node is restarted 1 s after the new primary's first
                 acknowledged write (as a supervisor would), and rejoins.
* ``stop``       SIGSTOP for 5 s, then SIGCONT.
* ``partition``  every link of the primary (replication, witness or sentinels) goes through
                 a ``tests/faultproxy.py`` proxy; all of them are cut for at least 5 s and
                 until the new primary has acknowledged a write, then healed. One client
                 still reaches the old primary directly.
* ``switchover`` planned: ``understudy switchover --nodes A,B``; Redis: ``FAILOVER`` sent to
                 the master (Redis 7 coordinated failover; Sentinel does not follow it).

Clients (redis-py, ``protocol=2``, one connection per node, no redis-py retries,
``--socket-timeout`` for connect and reply): ``--writers`` threads each ``SET`` unique keys
with unique values as fast as they are answered, bounded in count and time, and find the
new primary the way each system's users do: Understudy clients try the other node on any
error (READONLY, TRYAGAIN, connection error, timeout); Redis clients ask the sentinels
(``SENTINEL get-master-addr-by-name``, first sentinel that answers) on any error. A further
*pinned* client stays on the old primary's own address (reconnecting there on errors)
and writes one key every ``--pinned-interval`` s.

Per trial:

* RTO: t0 to the first acknowledged write from the new primary (any writer thread).
* max write gap: the longest time between two consecutive acknowledgements (all writer
  threads merged) from 1 s before t0 to the end; for a switchover, the pause clients see.
* lost: after the fault is healed and the cluster has one primary with the other node
  attached as its replica, every acknowledged key (writers and pinned client) is read back
  from that final primary; a key missing or holding another value is lost.
* split-brain acks: acknowledgements from the old primary (any client) read after the
  new primary's first acknowledged write.

Every process is killed at the end of its trial (and on Ctrl-C / SIGTERM). Waits poll with
deadlines; the only fixed waits are fault durations.

    swift build -c release --product understudy
    python3 benchmarks/rto_rpo.py --output docs/rto-rpo.md     # 3 runs each, ~8-10 minutes
    python3 benchmarks/rto_rpo.py --quick                      # 1 run each
    python3 benchmarks/rto_rpo.py --systems redis --scenarios stop --runs 1
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests"))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

import redis  # noqa: E402
from redis.backoff import NoBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402

from side_by_side import machine_description, redis_version  # noqa: E402

HOST = "127.0.0.1"
SCENARIOS = ("kill", "stop", "partition", "switchover")
SYSTEMS = ("understudy-sync", "understudy-async", "redis")
BEGIN_MARKER = "<!-- rto-rpo:begin -->"
END_MARKER = "<!-- rto-rpo:end -->"

STOP_SECONDS = 5.0           # SIGSTOP duration
PARTITION_SECONDS = 5.0      # minimum partition duration
RESTART_AFTER_SECONDS = 1.0  # kill: restart this long after the new primary's first ack
RECOVERY_DEADLINE = 45.0     # from t0: new primary acknowledged and old node demoted
CONVERGE_DEADLINE = 60.0     # after the clients stop: one primary, replica attached, caught up
WARMUP_ACKS = 50
#: steady load before the fault (a fault right after start-up finds timers that just began)
WARMUP_SECONDS = 1.0
MAX_OPERATIONS = 2_000_000
SENTINEL_MASTER = "mymaster"
REDIS_DOWN_AFTER_MS = 1000
REDIS_FAILOVER_TIMEOUT_MS = 10000


def choose_binary() -> Path:
    if os.environ.get("UNDERSTUDY_BIN"):
        return Path(os.environ["UNDERSTUDY_BIN"])
    for flavour in ("release", "debug"):
        candidate = REPO_ROOT / ".build" / flavour / "understudy"
        if candidate.exists():
            return candidate
    return REPO_ROOT / ".build" / "release" / "understudy"


# tests/harness.py reads UNDERSTUDY_BIN when it starts a process (default: the debug build).
os.environ["UNDERSTUDY_BIN"] = str(choose_binary())

from cluster import Cluster  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402
from harness import ServerProcess, info, reserve_port, wait_until  # noqa: E402


# -- clients -------------------------------------------------------------------------------------

def redis_client(port: int, timeout: float) -> redis.Redis:
    return redis.Redis(host=HOST, port=port, protocol=2, decode_responses=True, socket_timeout=timeout,
                       socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0))


def read_values(port: int, keys: list[str]) -> list:
    """The values of ``keys`` on the node at ``port`` (MGET in batches of 1,000)."""
    client = redis_client(port, 10.0)
    try:
        values = []
        for start in range(0, len(keys), 1000):
            values += client.mget(keys[start:start + 1000])
        return values
    finally:
        client.close()


def error_kind(error: BaseException) -> str:
    if isinstance(error, redis.exceptions.ReadOnlyError):
        return "READONLY"  # redis-py strips the code from this one's message
    if type(error) is redis.ResponseError:
        return str(error).split(" ", 1)[0] or "ResponseError"
    return type(error).__name__


@dataclass
class Ack:
    at: float
    node: str
    key: str


class Router:
    """How a client finds the primary: ``current()`` is the (node, port) to write to now;
    ``failed()`` is called after any error."""

    def current(self) -> tuple[str, int]:
        raise NotImplementedError

    def failed(self) -> None:
        raise NotImplementedError


class TryOtherNode(Router):
    """Understudy users: on any error, try the other node."""

    def __init__(self, nodes: dict[str, int], first: str):
        self.nodes = nodes
        self.names = list(nodes)
        self.index = self.names.index(first)

    def current(self):
        name = self.names[self.index]
        return name, self.nodes[name]

    def failed(self):
        self.index = (self.index + 1) % len(self.names)


class AskSentinel(Router):
    """Redis + Sentinel users: on any error, ask the sentinels where the master is."""

    def __init__(self, sentinel_ports: list[int], name_of_port: dict[int, str], timeout: float):
        self.sentinels = [redis_client(port, timeout) for port in sentinel_ports]
        self.name_of_port = name_of_port
        self.address: tuple[str, int] | None = None
        self.discover()

    def discover(self) -> None:
        for sentinel in self.sentinels:
            try:
                reply = sentinel.execute_command("SENTINEL", "get-master-addr-by-name", SENTINEL_MASTER)
            except redis.RedisError:
                continue
            if reply:
                port = int(reply[1])
                self.address = (self.name_of_port.get(port, f"{reply[0]}:{port}"), port)
                return

    def current(self):
        if self.address is None:
            self.discover()
            if self.address is None:
                raise redis.ConnectionError("no sentinel answered with a master address")
        return self.address

    def failed(self):
        self.discover()

    def close(self):
        for sentinel in self.sentinels:
            sentinel.close()


class Writer:
    """One client thread writing unique keys through ``router`` (``pinned``: one node only,
    paced by ``interval``)."""

    def __init__(self, prefix: str, router: Router, timeout: float, retry_pause: float, max_seconds: float,
                 interval: float = 0.0):
        self.prefix = prefix
        self.router = router
        self.timeout = timeout
        self.retry_pause = retry_pause
        self.max_seconds = max_seconds
        self.interval = interval
        self.acks: list[Ack] = []
        self.errors: dict[str, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=prefix, daemon=True)
        self.clients: dict[int, redis.Redis] = {}
        #: set ``mark`` (monotonic) and ``first_after`` records each node's first ack after it
        self.mark = float("inf")
        self.first_after: dict[str, float] = {}

    @staticmethod
    def value(key: str) -> str:
        return f"v:{key}"

    def start(self) -> "Writer":
        self.thread.start()
        return self

    def _client(self, port: int) -> redis.Redis:
        client = self.clients.get(port)
        if client is None:
            client = self.clients[port] = redis_client(port, self.timeout)
        return client

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        operation = 0
        while not self.stop.is_set() and operation < MAX_OPERATIONS and time.monotonic() < deadline:
            key = f"{self.prefix}:{operation}"
            operation += 1
            try:
                node, port = self.router.current()
                self._client(port).set(key, self.value(key))
                at = time.monotonic()
                self.acks.append(Ack(at, node, key))
                if at > self.mark and node not in self.first_after:
                    self.first_after[node] = at
                if self.interval:
                    self.stop.wait(self.interval)
            except (redis.RedisError, OSError) as error:
                kind = error_kind(error)
                self.errors[kind] = self.errors.get(kind, 0) + 1
                self.router.failed()
                self.stop.wait(self.retry_pause)
        for client in self.clients.values():
            client.close()

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


# -- Redis + Sentinel ----------------------------------------------------------------------------

class RedisNode(ServerProcess):
    """redis-server through tests/harness.py (``fsync="always"`` → appendonly yes, appendfsync
    always), plus the replication settings."""

    def __init__(self, work_dir: Path, port: int, replicaof: int | None = None):
        super().__init__("redis", work_dir, port=port, fsync="always")
        self.replicaof = replicaof

    def _command(self, port: int) -> list[str]:
        command = super()._command(port) + ["--repl-diskless-sync-delay", "0"]
        if self.replicaof is not None:
            command += ["--replicaof", HOST, str(self.replicaof)]
        return command


class SentinelProcess(ServerProcess):
    def __init__(self, work_dir: Path, port: int, master_port: int):
        super().__init__("sentinel", work_dir, port=port)
        self.master_port = master_port

    def _command(self, port: int) -> list[str]:
        config = self.work_dir / "sentinel.conf"
        if not config.exists():  # Sentinel rewrites its own file; a restart keeps what it learnt
            config.write_text("\n".join([
                f"port {port}", f"bind {HOST}", "protected-mode no", "daemonize no", f"dir {self.data_dir}",
                f"sentinel monitor {SENTINEL_MASTER} {HOST} {self.master_port} 2",
                f"sentinel down-after-milliseconds {SENTINEL_MASTER} {REDIS_DOWN_AFTER_MS}",
                f"sentinel failover-timeout {SENTINEL_MASTER} {REDIS_FAILOVER_TIMEOUT_MS}",
                f"sentinel parallel-syncs {SENTINEL_MASTER} 1", ""]))
        return [shutil.which("redis-server") or "redis-server", str(config), "--sentinel"]


def distinct_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = reserve_port()
        if port not in ports:
            ports.append(port)
    return ports


class RedisSystem:
    """Master ``a``, replica ``b``, three sentinels. With ``proxies`` the replica's
    ``replicaof`` and the sentinels' ``sentinel monitor`` name one FaultProxy in front of
    ``a`` (everything that connects *to* a — a master opens no connections of its own), so
    cutting it isolates ``a`` while clients that use a's own port still reach it."""

    label = "Redis + Sentinel"

    def __init__(self, work_dir: Path, proxies: bool, timeout: float):
        self.timeout = timeout
        port_a, port_b, *sentinel_ports = distinct_ports(5)
        self.proxy = FaultProxy(target=(HOST, port_a), name="to-a") if proxies else None
        a_seen_at = self.proxy.port if self.proxy else port_a
        self.nodes = {"a": RedisNode(work_dir / "a", port_a), "b": RedisNode(work_dir / "b", port_b, a_seen_at)}
        self.sentinels = [SentinelProcess(work_dir / f"sentinel{i}", port, a_seen_at)
                          for i, port in enumerate(sentinel_ports)]
        self.name_of_port = {port_a: "a", port_b: "b", a_seen_at: "a"}
        self.routers: list[AskSentinel] = []

    def start(self) -> str:
        self.nodes["a"].start()
        self.nodes["b"].start()
        for sentinel in self.sentinels:
            sentinel.start()
        self.wait(self.attached_to("a"), 30, "b replicates from a")

        def sentinels_ready():
            for sentinel in self.sentinels:
                state = sentinel_call(sentinel.port, self.timeout, "SENTINEL", "MASTER", SENTINEL_MASTER)
                fields = dict(zip(state[::2], state[1::2]))
                if fields.get("flags") != "master" or fields.get("num-slaves") != "1" \
                        or fields.get("num-other-sentinels") != "2":
                    return False
            return True
        self.wait(sentinels_ready, 30, "every sentinel knows the master, the replica and the other two sentinels")
        return "a"

    def wait(self, predicate, timeout, what):
        return wait_until(predicate, timeout, 0.05, what)

    def role(self, name: str) -> str | None:
        try:
            reply = sentinel_call(self.nodes[name].port, 0.5, "ROLE")
        except (redis.RedisError, OSError):
            return None
        return reply[0] if reply else None

    def attached_to(self, primary: str):
        replica = "b" if primary == "a" else "a"

        def check():
            if self.role(primary) != "master" or self.role(replica) != "slave":
                return False
            fields = info(self.nodes[replica], timeout=1.0)
            port = int(fields.get("master_port", 0))
            return fields.get("master_link_status") == "up" and self.name_of_port.get(port) == primary
        return check

    def router(self, first: str) -> Router:
        router = AskSentinel([s.port for s in self.sentinels], self.name_of_port, self.timeout)
        self.routers.append(router)
        return router

    def direct_port(self, name: str) -> int:
        return self.nodes[name].port

    # faults
    def kill(self, name):
        self.nodes[name].kill()

    def restart(self, name):
        self.nodes[name].start()

    def stop(self, name):
        self.nodes[name].pause()

    def cont(self, name):
        self.nodes[name].resume()

    def partition(self, name):
        assert name == "a" and self.proxy is not None
        self.proxy.partition()

    def heal(self, name):
        self.proxy.heal()

    def switchover(self, old: str, new: str) -> str:
        reply = sentinel_call(self.nodes[old].port, 5.0, "FAILOVER")
        return f"FAILOVER → {reply}"

    def sentinels_agree_on(self, name: str) -> bool:
        for sentinel in self.sentinels:
            try:
                reply = sentinel_call(sentinel.port, 0.5, "SENTINEL", "get-master-addr-by-name", SENTINEL_MASTER)
            except (redis.RedisError, OSError):
                return False
            if not reply or self.name_of_port.get(int(reply[1])) != name:
                return False
        return True

    def demoted(self, old: str, new: str) -> bool:
        """The old primary is the new one's replica and every sentinel names the new one."""
        return self.attached_to(new)() and self.sentinels_agree_on(new)

    def converge(self, timeout: float) -> str:
        """Until one node is master, the other its attached, caught-up replica and the
        sentinels agree; returns the master."""
        def settled():
            for primary in ("a", "b"):
                replica = "b" if primary == "a" else "a"
                if self.attached_to(primary)() and self.sentinels_agree_on(primary):
                    master_offset = int(info(self.nodes[primary], timeout=1.0)["master_repl_offset"])
                    replica_offset = int(info(self.nodes[replica], timeout=1.0).get("slave_repl_offset", -1))
                    if replica_offset >= master_offset:
                        return primary
            return None
        return self.wait(settled, timeout, "one master, its replica attached and caught up, sentinels agree")

    def read(self, name: str, keys: list[str]) -> list:
        return read_values(self.nodes[name].port, keys)

    def close(self):
        for router in self.routers:
            router.close()
        for process in (*self.nodes.values(), *self.sentinels):
            process.kill()
        if self.proxy is not None:
            self.proxy.close()


def sentinel_call(port: int, timeout: float, *args):
    client = redis_client(port, timeout)
    try:
        return client.execute_command(*args)
    finally:
        client.close()


# -- Understudy ----------------------------------------------------------------------------------

class UnderstudySystem:
    """tests/cluster.py: witness + nodes a and b (with ``proxies``, every inter-process link
    through its own FaultProxy)."""

    def __init__(self, work_dir: Path, mode: str, proxies: bool, timeout: float):
        self.label = f"Understudy {mode}"
        self.timeout = timeout
        self.cluster = Cluster(work_dir, mode=mode, proxies=proxies)
        self.switchover_result = ""

    def start(self) -> str:
        self.cluster.start()
        return self.cluster.name_of(self.cluster.primary())

    def router(self, first: str) -> Router:
        return TryOtherNode({name: node.port for name, node in self.cluster.nodes.items()}, first)

    def direct_port(self, name: str) -> int:
        return self.cluster.nodes[name].port

    def role(self, name):
        return self.cluster.role(name)

    def kill(self, name):
        self.cluster.kill9(name)

    def restart(self, name):
        self.cluster.restart(name)

    def stop(self, name):
        self.cluster.stop(name)

    def cont(self, name):
        self.cluster.cont(name)

    def partition(self, name):
        self.cluster.partition(name)

    def heal(self, name):
        self.cluster.heal(name)

    def switchover(self, old: str, new: str) -> str:
        nodes = f"{self.cluster.listen[old]},{self.cluster.listen[new]}"
        completed = subprocess.run([os.environ["UNDERSTUDY_BIN"], "switchover", "--nodes", nodes],
                                   capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        output = (completed.stdout + completed.stderr).strip().replace("\n", " ")[:200]
        return f"exit {completed.returncode}: {output}"

    def demoted(self, old: str, new: str) -> bool:
        return self.role(new) == "master" and self.role(old) == "slave"

    def converge(self, timeout: float) -> str:
        primary = self.cluster.wait_ready(timeout)
        return self.cluster.name_of(primary)

    def read(self, name: str, keys: list[str]) -> list:
        return read_values(self.cluster.nodes[name].port, keys)

    def close(self):
        self.cluster.close()


def switchover_available() -> tuple[bool, str]:
    try:
        completed = subprocess.run([os.environ["UNDERSTUDY_BIN"], "switchover", "--help"], capture_output=True,
                                   text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as error:
        return False, str(error)
    text = completed.stdout + completed.stderr
    return completed.returncode == 0 and "--nodes" in text, text.strip().splitlines()[0] if text.strip() else ""


# -- one trial -----------------------------------------------------------------------------------

@dataclass
class Trial:
    system: str
    scenario: str
    run: int
    rto: float | None = None
    max_gap: float | None = None
    acked: int = 0
    lost: int = 0
    lost_pinned: int = 0
    split_brain: int = 0
    split_brain_pinned: int = 0
    errors: dict = field(default_factory=dict)
    note: str = ""
    skipped: str = ""


def run_trial(system_name: str, scenario: str, run: int, options, work_root: Path) -> Trial:
    trial = Trial(system_name, scenario, run)
    work_dir = Path(tempfile.mkdtemp(prefix=f"{system_name}-{scenario}-{run}-", dir=work_root))
    proxies = scenario == "partition"
    if system_name == "redis":
        system = RedisSystem(work_dir, proxies, options.socket_timeout)
    else:
        system = UnderstudySystem(work_dir, system_name.split("-")[1], proxies, options.socket_timeout)
    writers: list[Writer] = []
    try:
        old = system.start()
        new = "b" if old == "a" else "a"
        max_seconds = RECOVERY_DEADLINE + 60
        writers = [Writer(f"w{i}", system.router(old), options.socket_timeout, options.retry_pause, max_seconds).start()
                   for i in range(options.writers)]
        pinned = Writer("pinned", TryOtherNode({old: system.direct_port(old)}, old), options.socket_timeout,
                        options.retry_pause, max_seconds, interval=options.pinned_interval).start()
        loaded_at = time.monotonic()
        wait_until(lambda: all(len(w.acks) >= WARMUP_ACKS for w in writers) and pinned.acks
                   and time.monotonic() - loaded_at >= WARMUP_SECONDS, 20, 0.01, "every writer has warmed up")

        def first_new_ack() -> float | None:
            times = [w.first_after[new] for w in writers if new in w.first_after]
            return min(times) if times else None

        t0 = time.monotonic()
        for writer in writers:
            writer.mark = t0
        switchover_thread = None
        if scenario == "kill":
            system.kill(old)
        elif scenario == "stop":
            system.stop(old)
        elif scenario == "partition":
            system.partition(old)
        else:
            box: dict[str, str] = {}

            def switch():
                try:
                    box["note"] = system.switchover(old, new)
                except Exception as error:  # noqa: BLE001 - reported in the table
                    box["note"] = f"{type(error).__name__}: {error}"
            switchover_thread = threading.Thread(target=switch, daemon=True)
            switchover_thread.start()

        healed = scenario == "switchover"
        first = None
        next_check = 0.0
        while time.monotonic() - t0 < RECOVERY_DEADLINE:
            now = time.monotonic()
            if first is None:
                first = first_new_ack()
            if not healed:
                if scenario == "stop" and now - t0 >= STOP_SECONDS:
                    system.cont(old)
                    healed = True
                elif scenario == "partition" and now - t0 >= PARTITION_SECONDS and first is not None:
                    system.heal(old)
                    healed = True
                elif scenario == "kill" and first is not None and now - first >= RESTART_AFTER_SECONDS:
                    system.restart(old)
                    healed = True
            if first is not None and healed and now >= next_check:
                next_check = now + 0.1
                if system.demoted(old, new):
                    break
            time.sleep(0.01)
        else:
            trial.note += f"old primary not demoted within {RECOVERY_DEADLINE:.0f} s; "
        if not healed:  # the new primary never answered: heal anyway so the cluster can settle
            {"stop": system.cont, "partition": system.heal, "kill": system.restart}.get(scenario, lambda _n: None)(old)
        if first is None:
            first = first_new_ack()
        for writer in (*writers, pinned):
            writer.finish()
        if switchover_thread is not None:
            switchover_thread.join(timeout=60)
            trial.note += box.get("note", "switchover still running")

        trial.rto = None if first is None else first - t0
        times = sorted(a.at for w in writers for a in w.acks if a.at >= t0 - 1.0)
        gaps = [later - earlier for earlier, later in zip(times, times[1:])]
        trial.max_gap = max(gaps) if gaps else None
        if first is not None:
            trial.split_brain_pinned = sum(1 for a in pinned.acks if a.node == old and a.at > first)
            trial.split_brain = trial.split_brain_pinned + sum(
                1 for w in writers for a in w.acks if a.node == old and a.at > first)
        for writer in (*writers, pinned):
            for kind, count in writer.errors.items():
                label = f"{'pinned ' if writer is pinned else ''}{kind}"
                trial.errors[label] = trial.errors.get(label, 0) + count

        final = system.converge(CONVERGE_DEADLINE)
        if final != new:
            trial.note += f"final primary is {final} (the old one); "
        for writer in (*writers, pinned):
            keys = [a.key for a in writer.acks]
            values = system.read(final, keys)
            lost = sum(1 for key, value in zip(keys, values) if value != Writer.value(key))
            trial.acked += len(keys)
            trial.lost += lost
            if writer is pinned:
                trial.lost_pinned = lost
    finally:
        for writer in writers:
            writer.stop.set()
        system.close()
        if not options.keep:
            shutil.rmtree(work_dir, ignore_errors=True)
    return trial


# -- report --------------------------------------------------------------------------------------

def fmt(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.3f}"


def summary_rows(trials: list[Trial], systems, scenarios) -> list[str]:
    rows = []
    for scenario in scenarios:
        for system in systems:
            group = [t for t in trials if t.system == system and t.scenario == scenario]
            if not group:
                continue
            if group[0].skipped:
                rows.append(f"| {scenario} | {label_of(system)} | — | {group[0].skipped} | | | | |")
                continue
            rtos = [t.rto for t in group if t.rto is not None]
            gaps = [t.max_gap for t in group if t.max_gap is not None]
            missing = len(group) - len(rtos)
            rto = (f"{statistics.median(rtos):.3f} / {max(rtos):.3f}" if rtos else "none") + \
                  (f" ({missing} without)" if missing else "")
            gap = f"{statistics.median(gaps):.3f} / {max(gaps):.3f}" if gaps else "—"
            acked = sum(t.acked for t in group)
            lost = sum(t.lost for t in group)
            lost_pinned = sum(t.lost_pinned for t in group)
            split = sum(t.split_brain for t in group)
            split_pinned = sum(t.split_brain_pinned for t in group)
            rows.append(f"| {scenario} | {label_of(system)} | {len(group)} | {rto} | {gap} | {acked:,} | "
                        f"{lost:,} ({lost_pinned:,} pinned) | {split:,} ({split_pinned:,} pinned) |")
    return rows


def label_of(system: str) -> str:
    return {"redis": "Redis + Sentinel", "understudy-sync": "Understudy sync",
            "understudy-async": "Understudy async"}[system]


def understudy_version() -> str:
    try:
        commit = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    binary = os.environ["UNDERSTUDY_BIN"]
    flavour = "release" if "/release/" in binary else ("debug" if "/debug/" in binary else "custom")
    return f"commit {commit}, {flavour} build (`{os.path.relpath(binary, REPO_ROOT)}`)"


def render(trials: list[Trial], systems, scenarios, command: str, elapsed: float) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        BEGIN_MARKER,
        f"- Command: `{command}`",
        f"- Date: {now}; took {elapsed:.0f} s",
        f"- Machine: {machine_description()} (`uname -r`: {platform.release()}, nproc {os.cpu_count()})",
        f"- Versions: Redis {redis_version()} (`redis-server --version`), redis-py {redis.__version__}, "
        f"Python {platform.python_version()}; Understudy {understudy_version()}",
        "- Understudy: witness + 2 nodes, `--heartbeat-interval 100ms --failure-timeout 1s --lease 500ms "
        "--fsync always`, `--replication sync|async`",
        f"- Redis: master + replica, `appendonly yes`, `appendfsync always`, `save ''`, "
        f"`repl-diskless-sync-delay 0`, `min-replicas-to-write 0` (default); 3 sentinels, quorum 2, "
        f"`down-after-milliseconds {REDIS_DOWN_AFTER_MS}`, `failover-timeout {REDIS_FAILOVER_TIMEOUT_MS}`",
        "",
        "| scenario | system | runs | RTO s p50 / max | max write gap s p50 / max | acked writes | "
        "acked but lost | split-brain acks |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        *summary_rows(trials, systems, scenarios),
        "",
        "<details><summary>Every trial</summary>",
        "",
        "| system | scenario | run | RTO s | max gap s | acked | lost (pinned) | split-brain (pinned) | errors seen | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for t in trials:
        if t.skipped:
            continue
        errors = ", ".join(f"{kind} {count}" for kind, count in sorted(t.errors.items(), key=lambda kv: -kv[1])[:5])
        lines.append(f"| {label_of(t.system)} | {t.scenario} | {t.run} | {fmt(t.rto)} | {fmt(t.max_gap)} | {t.acked:,} | "
                     f"{t.lost} ({t.lost_pinned}) | {t.split_brain} ({t.split_brain_pinned}) | {errors} | "
                     f"{t.note.replace('|', '/')} |")
    lines += ["", "</details>", END_MARKER]
    return "\n".join(lines)


def write_output(path: Path, block: str) -> None:
    if path.exists() and BEGIN_MARKER in path.read_text() and END_MARKER in path.read_text():
        text = path.read_text()
        text = text[: text.index(BEGIN_MARKER)] + block + text[text.index(END_MARKER) + len(END_MARKER):]
    else:
        text = "# RTO and RPO: Understudy and Redis + Sentinel side by side\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="trials per system and scenario (default 3)")
    parser.add_argument("--quick", action="store_true", help="one trial each (a smoke run)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated subset of {','.join(SYSTEMS)}")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma-separated subset of {','.join(SCENARIOS)}")
    parser.add_argument("--writers", type=int, default=4, help="writer threads per trial (default 4)")
    parser.add_argument("--socket-timeout", type=float, default=0.5,
                        help="client connect and reply timeout, seconds (default 0.5)")
    parser.add_argument("--retry-pause", type=float, default=0.01,
                        help="pause after a failed write before the next try, seconds (default 0.01)")
    parser.add_argument("--pinned-interval", type=float, default=0.005,
                        help="pause between the pinned client's writes, seconds (default 0.005)")
    parser.add_argument("--output", type=Path, help="also write the report here (e.g. docs/rto-rpo.md); "
                        "replaces the block between its markers if present")
    parser.add_argument("--keep", action="store_true", help="keep the data directories and logs")
    options = parser.parse_args()
    runs = 1 if options.quick else options.runs
    systems = [s for s in options.systems.split(",") if s]
    scenarios = [s for s in options.scenarios.split(",") if s]
    for name in systems:
        if name not in SYSTEMS:
            parser.error(f"unknown system {name!r}")
    for name in scenarios:
        if name not in SCENARIOS:
            parser.error(f"unknown scenario {name!r}")
    if shutil.which("redis-server") is None and "redis" in systems:
        parser.error("redis-server not found")
    if any(s.startswith("understudy") for s in systems) and not Path(os.environ["UNDERSTUDY_BIN"]).exists():
        parser.error(f"no understudy binary at {os.environ['UNDERSTUDY_BIN']}: swift build -c release --product understudy")

    # SIGTERM ends the run like Ctrl-C: every finally block kills what its trial started.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    has_switchover, switchover_help = switchover_available()
    command = "python3 benchmarks/rto_rpo.py " + " ".join(sys.argv[1:])
    started = time.monotonic()
    work_root = Path(tempfile.mkdtemp(prefix="rto-rpo-"))
    trials: list[Trial] = []
    try:
        for run in range(1, runs + 1):
            for scenario in scenarios:
                for system in systems:  # interleaved: machine drift hits every system alike
                    if scenario == "switchover" and system.startswith("understudy") and not has_switchover:
                        trial = Trial(system, scenario, run, skipped="not available in this build "
                                      "(`understudy switchover --help` fails)")
                    else:
                        print(f"[{time.monotonic() - started:6.1f}s] run {run}/{runs} {scenario:<10} {system} ...",
                              file=sys.stderr, flush=True)
                        try:
                            trial = run_trial(system, scenario, run, options, work_root)
                        except (AssertionError, TimeoutError, RuntimeError, OSError, redis.RedisError) as error:
                            trial = Trial(system, scenario, run, note=f"FAILED: {type(error).__name__}: "
                                          f"{str(error).splitlines()[0][:200] if str(error) else ''}")
                        print(f"           RTO {fmt(trial.rto)} s, max gap {fmt(trial.max_gap)} s, acked {trial.acked}, "
                              f"lost {trial.lost}, split-brain {trial.split_brain} {trial.note}",
                              file=sys.stderr, flush=True)
                    trials.append(trial)
    finally:
        if not options.keep:
            shutil.rmtree(work_root, ignore_errors=True)
        else:
            print(f"data directories and logs kept in {work_root}", file=sys.stderr)
    block = render(trials, systems, scenarios, command, time.monotonic() - started)
    print(block)
    if options.output:
        write_output(options.output, block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
