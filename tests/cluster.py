"""A three-process cluster for the fault tests: ``understudy witness`` and two data nodes
(``understudy server --witness``), on reserved loopback ports with separate data dirs.

Node ``a`` is started with ``--role primary`` and ``b`` with ``--role standby``; with a
witness that is only a hint for a new cluster (the witness decides, and persists it).
A node's identity is its ``--listen`` address; the witness gets both with ``--nodes``.

With ``proxies=True`` every inter-process link goes through its own ``FaultProxy``::

    b --peer--> [b->a] --> a        a --witness--> [a->witness] --> witness
    a --peer--> [a->b] --> b        b --witness--> [b->witness] --> witness

so ``partition("a")`` cuts everything a has to the others (both directions of every link)
while a test's clients still reach ``a`` directly on its ``--listen`` port.
``partition_link("a", "b")`` cuts only the two peer links. Without proxies the processes
talk directly (a kill then looks exactly like one to the survivors: connections refused).

Every wait polls with a deadline and, when it runs out, fails with a description of the
whole cluster (roles, epochs, the witness's record, proxies, log tails).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

from faultproxy import FaultProxy
from harness import (
    HOST,
    ServerProcess,
    WitnessProcess,
    call,
    info,
    parse_duration,
    reserve_port,
    wait_until,
)
from resp import Closed

NODE_NAMES = ("a", "b")
WITNESS = "witness"
#: (from, to) of every link a process opens, i.e. every proxy with ``proxies=True``.
LINKS = (("b", "a"), ("a", "b"), ("a", WITNESS), ("b", WITNESS))
DEFAULT_TIMING = {"heartbeat_interval": "100ms", "failure_timeout": "1s", "lease": "500ms"}
#: A poll of a node must not hang on a paused (SIGSTOPped) or partitioned one.
POLL_TIMEOUT_SECONDS = 1.0
READY_TIMEOUT_SECONDS = 30.0
PROBE_KEY = "cluster:probe"


class Cluster:
    """A witness and two data nodes. ``flags`` go to both nodes (``failure_timeout="1s"``,
    ``lease``, ``heartbeat_interval``, ``max_lag_on_failover``, ``sync_timeout``,
    ``log_level`` ...; ``log_level`` and ``cluster_secret_file`` go to the witness too); ``node_options`` adds per-node ones (``{"a": {...}}``). Nothing runs
    until ``start()``; ``close()`` kills everything. ``every_process`` adds options to the
    witness and both nodes alike (the TLS flags and ``tls_client``, see harness.TLS_FLAGS)."""

    def __init__(self, work_dir: Path, mode: str = "sync", proxies: bool = False,
                 node_options: dict[str, dict] | None = None, every_process: dict | None = None, **flags):
        self.mode = mode
        self.work_dir = Path(work_dir)
        self.flags = {**DEFAULT_TIMING, **flags}
        self.failure_timeout = parse_duration(self.flags["failure_timeout"])
        self.lease = parse_duration(self.flags["lease"])
        self.heartbeat_interval = parse_duration(self.flags["heartbeat_interval"])
        ports: list[int] = []
        while len(ports) < 3:
            port = reserve_port()
            if port not in ports:
                ports.append(port)
        self.listen = {"a": f"{HOST}:{ports[0]}", "b": f"{HOST}:{ports[1]}", WITNESS: f"{HOST}:{ports[2]}"}
        port_of = dict(zip(("a", "b", WITNESS), ports))
        self.proxies: dict[tuple[str, str], FaultProxy] = {}
        try:
            if proxies:
                for source, destination in LINKS:
                    self.proxies[(source, destination)] = FaultProxy(
                        target=(HOST, port_of[destination]), name=f"{source}->{destination}")
        except BaseException:
            self._close_proxies()
            raise

        def reach(source: str, destination: str) -> str:
            proxy = self.proxies.get((source, destination))
            return proxy.address if proxy is not None else self.listen[destination]

        self.witness = WitnessProcess(self.work_dir / WITNESS, nodes=[self.listen["a"], self.listen["b"]],
                                      port=port_of[WITNESS], log_level=self.flags.get("log_level"),
                                      cluster_secret_file=self.flags.get("cluster_secret_file"),
                                      **(every_process or {}))
        self.nodes: dict[str, ServerProcess] = {}
        for name, role, other in (("a", "primary", "b"), ("b", "standby", "a")):
            options = {"fsync": "always", "replication": mode, **self.flags, **(every_process or {}),
                       **(node_options or {}).get(name, {})}
            self.nodes[name] = ServerProcess(
                "understudy", self.work_dir / name, port=port_of[name], peer=reach(name, other),
                witness=reach(name, WITNESS), role=role, **options)
        self._paused: set[str] = set()
        self._partitioned: set[str] = set()
        self._cut_links: set[frozenset[str]] = set()

    # -- names --------------------------------------------------------------------------------
    @property
    def a(self) -> ServerProcess:
        return self.nodes["a"]

    @property
    def b(self) -> ServerProcess:
        return self.nodes["b"]

    def name_of(self, node: str | ServerProcess) -> str:
        if isinstance(node, str):
            if node not in self.nodes and node != WITNESS:
                raise ValueError(f"no node {node!r}; nodes are {sorted(self.nodes)} and {WITNESS!r}")
            return node
        if node is self.witness:
            return WITNESS
        for name, process in self.nodes.items():
            if process is node:
                return name
        raise ValueError(f"{node!r} is not a node of this cluster")

    def node(self, node: str | ServerProcess) -> ServerProcess:
        name = self.name_of(node)
        return self.witness if name == WITNESS else self.nodes[name]

    def other(self, node: str | ServerProcess) -> ServerProcess:
        """The other data node."""
        name = self.name_of(node)
        return self.nodes["b" if name == "a" else "a"]

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, timeout: float = READY_TIMEOUT_SECONDS) -> "Cluster":
        """Start the witness, then ``a``, then ``b``, and wait until ``wait_ready``."""
        self.witness.start()
        self.a.start()
        self.b.start()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> ServerProcess:
        """Until one node is primary and acknowledges a write, the other is its attached
        standby and, in sync mode, the witness records the standby as in sync (when it
        answers ``WITNESS STATUS``). Returns the primary."""
        deadline = time.monotonic() + timeout
        primary = self.primary(timeout)
        standby = self.standby(max(0.1, deadline - time.monotonic()))
        self.wait(lambda: call(primary, "SET", PROBE_KEY, str(time.monotonic()), timeout=10.0) == "OK",
                  max(0.1, deadline - time.monotonic()), f"the primary ({self.name_of(primary)}) acknowledges a write")
        self.wait(lambda: info(standby, timeout=POLL_TIMEOUT_SECONDS).get("master_link_status") == "up"
                  and info(primary, timeout=POLL_TIMEOUT_SECONDS).get("connected_slaves") == "1",
                  max(0.1, deadline - time.monotonic()), "the standby is attached")
        if self.mode == "sync":
            def recorded_in_sync() -> bool:
                status = self.witness.status()
                return status is None or (status["in_sync"] == "1" and status["standby"] == self.listen[self.name_of(standby)])
            self.wait(recorded_in_sync, max(0.1, deadline - time.monotonic()),
                      "the witness records the standby as in sync")
        return primary

    def kill9(self, node: str | ServerProcess) -> None:
        name = self.name_of(node)
        self.node(name).kill()
        self._paused.discard(name)

    def stop(self, node: str | ServerProcess) -> None:
        """SIGSTOP (the process freezes; its sockets stay open) until ``cont``."""
        name = self.name_of(node)
        self.node(name).pause()
        self._paused.add(name)

    def cont(self, node: str | ServerProcess) -> None:
        """SIGCONT after ``stop``."""
        name = self.name_of(node)
        self.node(name).resume()
        self._paused.discard(name)

    def restart(self, node: str | ServerProcess) -> ServerProcess:
        """kill -9 if still running, then start with the same flags and data dir; returns
        once it answers PING (its role is whatever the cluster decides: poll ``role``)."""
        name = self.name_of(node)
        process = self.node(name)
        process.kill()
        self._paused.discard(name)
        return process.start()

    def kill_witness(self) -> None:
        self.kill9(WITNESS)

    def restart_witness(self) -> WitnessProcess:
        return self.restart(WITNESS)

    def close(self) -> None:
        """Kill every process and close every proxy, whatever state they are in."""
        errors = []
        for process in (*self.nodes.values(), self.witness):
            try:
                process.kill()  # SIGKILL also ends a stopped process
            except Exception as error:  # noqa: BLE001 - go on and clean up the rest
                errors.append(error)
        self._paused.clear()
        self._close_proxies()
        if errors:
            raise errors[0]

    def _close_proxies(self) -> None:
        for proxy in self.proxies.values():
            proxy.close()

    # -- partitions (need proxies=True) ------------------------------------------------------
    def partition(self, node: str | ServerProcess) -> None:
        """Cut every link of ``node`` (a data node or the witness), both ways; clients still
        reach it directly."""
        self._partitioned.add(self.name_of(node))
        self._apply_partitions()

    def heal(self, node: str | ServerProcess) -> None:
        """Undo ``partition(node)`` (links that another partition still cuts stay cut)."""
        self._partitioned.discard(self.name_of(node))
        self._apply_partitions()

    def partition_link(self, first: str | ServerProcess, second: str | ServerProcess) -> None:
        """Cut only the links between two processes (both proxies between them)."""
        self._cut_links.add(frozenset((self.name_of(first), self.name_of(second))))
        self._apply_partitions()

    def heal_link(self, first: str | ServerProcess, second: str | ServerProcess) -> None:
        self._cut_links.discard(frozenset((self.name_of(first), self.name_of(second))))
        self._apply_partitions()

    def _apply_partitions(self) -> None:
        if not self.proxies:
            raise RuntimeError("partitions need a cluster made with proxies=True")
        for (source, destination), proxy in self.proxies.items():
            cut = (source in self._partitioned or destination in self._partitioned
                   or frozenset((source, destination)) in self._cut_links)
            if cut and not proxy.blocked:
                proxy.partition()
            elif not cut and proxy.blocked:
                proxy.heal()

    # -- observing ------------------------------------------------------------------------------
    def role(self, node: str | ServerProcess) -> str | None:
        """``master`` / ``slave`` from ``ROLE``, or None if the node is down, paused or does
        not answer within ``POLL_TIMEOUT_SECONDS``."""
        name = self.name_of(node)
        process = self.node(name)
        if name in self._paused or not process.alive:
            return None
        try:
            reply = call(process, "ROLE", timeout=POLL_TIMEOUT_SECONDS)
        except (OSError, TimeoutError, Closed):
            return None
        return reply[0] if isinstance(reply, list) and reply else None

    def roles(self) -> dict[str, str | None]:
        return {name: self.role(name) for name in self.nodes}

    def primary(self, timeout: float = READY_TIMEOUT_SECONDS) -> ServerProcess:
        """The one node that says ``master`` while no other does."""
        def single_master():
            masters = [name for name, role in self.roles().items() if role == "master"]
            return masters[0] if len(masters) == 1 else None
        return self.nodes[self.wait(single_master, timeout, "exactly one node answers ROLE master")]

    def standby(self, timeout: float = READY_TIMEOUT_SECONDS) -> ServerProcess:
        """The node that says ``slave`` while the other says ``master``."""
        def standby_of_a_master():
            roles = self.roles()
            for name, role in roles.items():
                other = "b" if name == "a" else "a"
                if role == "slave" and roles[other] == "master":
                    return name
            return None
        return self.nodes[self.wait(standby_of_a_master, timeout, "one node is master and the other slave")]

    def wait_for_role(self, node: str | ServerProcess, role: str, timeout: float) -> float:
        """Until ``node`` answers ROLE ``role``; returns when that was seen (monotonic)."""
        name = self.name_of(node)
        self.wait(lambda: self.role(name) == role, timeout, f"{name} answers ROLE {role}", interval=0.005)
        return time.monotonic()

    def wait_for_new_primary(self, old: str | ServerProcess, timeout: float) -> ServerProcess:
        """Until the node other than ``old`` answers ROLE master; returns it."""
        new = self.other(old)
        self.wait_for_role(new, "master", timeout)
        return new

    def epoch(self, node: str | ServerProcess) -> int:
        return int(info(self.node(node), timeout=POLL_TIMEOUT_SECONDS)["understudy_epoch"])

    def rewind(self, node: str | ServerProcess) -> dict[str, str]:
        """The ``understudy_rewind_*`` fields of ``INFO replication`` (empty if none)."""
        fields = info(self.node(node), timeout=POLL_TIMEOUT_SECONDS)
        return {name: value for name, value in fields.items() if name.startswith("understudy_rewind_")}

    def wait(self, predicate: Callable[[], object], timeout: float, message: str, interval: float = 0.02):
        """``wait_until``, failing with the cluster's state in the message."""
        try:
            return wait_until(predicate, timeout, interval, message)
        except TimeoutError as error:
            raise AssertionError(f"{error}\n{self.describe()}") from error

    def describe(self) -> str:
        """Roles, epochs, links and log tails: what a failing test needs to say."""
        lines = []
        for name, process in self.nodes.items():
            state = "paused" if name in self._paused else ("running" if process.alive else "down")
            fields = {}
            if state == "running":
                try:
                    fields = info(process, timeout=POLL_TIMEOUT_SECONDS)
                except (OSError, TimeoutError, Closed, AssertionError) as error:
                    fields = {"info": f"{type(error).__name__}"}
            shown = {key: fields[key] for key in ("role", "understudy_epoch", "master_link_status", "connected_slaves",
                                                  "info") if key in fields}
            lines.append(f"node {name} {self.listen[name]} {state} {shown}")
        witness_state = "running" if self.witness.alive else "down"
        status = self.witness.status() if self.witness.alive and WITNESS not in self._paused else None
        lines.append(f"witness {self.listen[WITNESS]} {witness_state} record {status}")
        for (source, destination), proxy in self.proxies.items():
            lines.append(f"link {source}->{destination}: {proxy!r}")
        for name, process in (*self.nodes.items(), (WITNESS, self.witness)):
            lines.append(f"--- log tail of {name} ---\n{process.log_tail(15)}")
        return "\n".join(lines)


def read_lost_writes(path: str | Path) -> list[dict]:
    """The records of a lost-writes file (JSON lines; blank lines skipped). The first line is
    its header (``"format": "understudy-lost-writes"``), whose ``recordCount`` must match."""
    lines = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if line.strip():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise AssertionError(f"{path}:{number} is not JSON: {line[:200]!r}") from error
    assert lines and lines[0].get("format") == "understudy-lost-writes", f"{path} has no header line: {lines[:1]}"
    header, records = lines[0], lines[1:]
    assert header["recordCount"] == len(records), f"{path}: header says {header['recordCount']} records, holds {len(records)}"
    return records
