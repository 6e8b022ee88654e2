"""``UnderstudyClient`` under real faults: ``understudy-client-check`` (built next to
``understudy`` by ``swift build``) drives one client with 32 concurrent callers sending
``INCR counter-<i % 8>`` (automatic idempotency keys) against a witness and two data nodes
(tests/cluster.py) while a test injects one fault about 1.5 s in; it prints per counter how
many increments were acknowledged (``ok``), ``indeterminate`` or failed otherwise, and the
final value it read through the client.

What every run must show, for every counter:

* ``value <= ok + indeterminate``: an acknowledged increment ran once, an indeterminate one
  at most once, and nothing that failed with another code ran at all; a retry after an
  unknown outcome carries the same ``IDEMPOTENT`` key, so it never applies twice.
* sync mode, and every switchover: ``ok <= value`` (nothing acknowledged is lost), and no two
  acknowledged increments returned the same value.
* async mode (kill -9, SIGSTOP, partition): acknowledged increments may be lost, but never
  silently: ``ok - value <=`` the records of that counter in the nodes' lost-writes files.
* the client rides out the fault: increments are acknowledged after it; failures carry only
  "not executed" codes; the value it read is the primary's once the pair has converged.

Plus the retry budget: with both data nodes stopped (SIGSTOP) for 5 s while 100 callers ask
for a GET every 10 ms, the attempts the client sends stay within 1.2 × the calls asked for
plus a small constant, and calls are answered again after SIGCONT.

Run: ``UNDERSTUDY_BIN=.build/debug/understudy python3 -m pytest -q -s tests/test_client.py``
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from cluster import POLL_TIMEOUT_SECONDS, read_lost_writes
from harness import call, understudy_binary, understudy_has_witness, wait_until
from test_operator import nodes_flag, run_cli


def check_binary() -> Path:
    """``understudy-client-check``, in the same directory as the ``understudy`` under test."""
    return understudy_binary().parent / "understudy-client-check"


pytestmark = [
    pytest.mark.skipif(
        not understudy_has_witness(),
        reason=(f"`{understudy_binary()} witness --help` does not list --nodes: the witness is not built yet"
                if understudy_binary().exists() else f"understudy binary not found at {understudy_binary()}"),
    ),
    pytest.mark.skipif(
        not check_binary().exists(),
        reason=f"{check_binary()} not found: `swift build` builds it next to understudy",
    ),
    pytest.mark.understudy_only,
    pytest.mark.slow,
]

MODES = ["sync", "async"]
FAULTS = ["kill9", "sigstop", "partition", "switchover"]
#: The check's time bound, and when the fault comes (after its first call was answered).
CHECK_SECONDS = 7.0
FAULT_AFTER_SECONDS = 1.5
SIGSTOP_SECONDS = 2.0
CHECK_MAX_INCREMENTS = 300_000
FINAL_READ_SECONDS = 20.0
#: The check's longest call is the client's 5 s deadline; then the final reads.
CHECK_EXIT_TIMEOUT_SECONDS = CHECK_SECONDS + 5.0 + FINAL_READ_SECONDS + 15.0
STARTED_TIMEOUT_SECONDS = 15.0
FAILOVER_TIMEOUT_SECONDS = 15.0
CONVERGE_TIMEOUT_SECONDS = 20.0
#: Codes of calls that were not executed: the only ones a failed increment may carry.
NOT_EXECUTED_CODES = {"circuitOpen", "retryBudgetExhausted", "deadlineExceeded", "retriesExhausted", "bulkheadFull"}

OUTAGE_CALLERS = 100
OUTAGE_SECONDS = 5.0
OUTAGE_CHECK_SECONDS = 9.0
OUTAGE_AFTER_SECONDS = 1.0
#: Envoy's budget: retries in progress <= 20 % of requests in progress, at least 3.
BUDGET_RATIO = 1.2
BUDGET_SLACK_ATTEMPTS = 10


# -- the check process --------------------------------------------------------------------------

@dataclass
class CheckRun:
    """One ``understudy-client-check`` process: stdout (the JSON line) and stderr (the
    client's log) go to files under ``work_dir``."""
    process: subprocess.Popen
    started_at: float
    stdout_path: Path
    stderr_path: Path

    def stderr_tail(self, lines: int = 30) -> str:
        text = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_started(self) -> float:
        """Until the client has found the primary (its first call is under way); returns when."""
        try:
            wait_until(lambda: self.process.poll() is not None
                       or "primary changed to" in self.stderr_path.read_text(errors="replace"),
                       STARTED_TIMEOUT_SECONDS, 0.02, "the check finds the primary")
        except TimeoutError as error:
            raise AssertionError(f"{error}:\n{self.stderr_tail()}") from None
        if self.process.poll() is not None:
            raise AssertionError(f"the check exited early ({self.process.returncode}):\n{self.stderr_tail()}")
        return time.monotonic()

    def result(self) -> dict:
        """Waits for the exit (bounded) and returns the JSON line."""
        try:
            code = self.process.wait(timeout=CHECK_EXIT_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the check did not exit within {CHECK_EXIT_TIMEOUT_SECONDS}s:\n{self.stderr_tail()}")
        lines = [line for line in self.stdout_path.read_text().splitlines() if line.strip()]
        assert code == 0 and len(lines) == 1, (f"the check exited {code} with {len(lines)} stdout lines "
                                               f"{[line[:300] for line in lines]}:\n{self.stderr_tail()}")
        return json.loads(lines[0])

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def seconds_since_start(self, at: float) -> float:
        """``at`` (monotonic) in the check's own elapsed time, at most: its clock starts after
        the process does, so a bucket that begins here or later began after ``at``."""
        return at - self.started_at


def start_check(cluster, work_dir: Path, *arguments: str) -> CheckRun:
    stdout_path, stderr_path = work_dir / "check.out", work_dir / "check.err"
    seeds = ",".join(cluster.listen[name] for name in ("a", "b"))
    with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
        started_at = time.monotonic()
        process = subprocess.Popen([str(check_binary()), "--seeds", seeds, *arguments], stdin=subprocess.DEVNULL,
                                   stdout=stdout, stderr=stderr, start_new_session=True)
    return CheckRun(process, started_at, stdout_path, stderr_path)


def count_after(per_bucket: list[int], bucket_ms: int, seconds: float) -> int:
    """Events in the buckets that began at or after ``seconds`` of the check's time."""
    first = int(-(-seconds * 1000 // bucket_ms))  # ceil
    return sum(per_bucket[max(first, 0):])


# -- the cluster after the fault ----------------------------------------------------------------

def wait_converged(cluster):
    """Until one node is primary and the other a standby that has applied a fresh write of
    it (so a returning old primary has cut off what it had alone). Returns (primary, standby)."""
    primary = cluster.primary(CONVERGE_TIMEOUT_SECONDS)
    standby = cluster.standby(CONVERGE_TIMEOUT_SECONDS)
    marker = f"client-check:converged:{time.monotonic_ns()}"
    cluster.wait(lambda: call(primary, "SET", marker, "1", timeout=5.0) == "OK", CONVERGE_TIMEOUT_SECONDS,
                 "the primary takes a write")
    cluster.wait(lambda: call(standby, "GET", marker, timeout=POLL_TIMEOUT_SECONDS) == "1", CONVERGE_TIMEOUT_SECONDS,
                 "the standby applied the primary's latest write")
    return primary, standby


def lost_records_per_key(cluster) -> dict[str, int] | None:
    """Per key, the records in every node's lost-writes files that touch it (an over-count
    if a rerun wrote a file twice, which only loosens the bound it is used for); None if a
    file could not list every record it cut (``snapshotOnlyLSNs``: pruned behind a snapshot)."""
    counts: dict[str, int] = {}
    for process in cluster.nodes.values():
        for path in sorted((process.data_dir / "lost-writes").glob("*.jsonl")):
            header = json.loads(path.read_text().splitlines()[0])
            if header.get("snapshotOnlyLSNs") is not None:
                print(f"{path} cut records it cannot list ({header['snapshotOnlyLSNs']}): loss bound not checked")
                return None
            for record in read_lost_writes(path):
                keys = {effect.get("key") for effect in record.get("effects", []) if isinstance(effect, dict)}
                for key in keys:
                    if isinstance(key, str):
                        counts[key] = counts.get(key, 0) + 1
    return counts


# -- faults -------------------------------------------------------------------------------------

def inject(cluster, fault: str, old) -> str:
    """Injects ``fault`` on the primary ``old`` and undoes it as tests/test_failover.py and
    tests/test_operator.py do; returns what happened, for the summary."""
    if fault == "kill9":
        cluster.kill9(old)
        new = cluster.wait_for_new_primary(old, FAILOVER_TIMEOUT_SECONDS)
        cluster.restart(old)
        return f"{cluster.name_of(new)} promoted; {cluster.name_of(old)} restarted"
    if fault == "sigstop":
        cluster.stop(old)
        time.sleep(SIGSTOP_SECONDS)  # the fault's length, not a wait for a condition
        promoted = cluster.role(cluster.other(old)) == "master"
        cluster.cont(old)
        return f"stopped {SIGSTOP_SECONDS}s; {'standby promoted' if promoted else 'no promotion'} before SIGCONT"
    if fault == "partition":
        cluster.partition(old)
        new = cluster.wait_for_new_primary(old, cluster.failure_timeout + FAILOVER_TIMEOUT_SECONDS)
        cluster.heal(old)
        return f"{cluster.name_of(new)} promoted; partition healed"
    if fault == "switchover":
        result = run_cli("switchover", "--nodes", nodes_flag(cluster))
        assert result.returncode == 0, f"switchover failed: {result.stdout}{result.stderr}"
        return "switched over"
    raise ValueError(fault)


# -- the tests ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", FAULTS)
def test_every_counter_is_within_its_outcomes_under_a_fault(make_cluster, tmp_path, fault, mode):
    cluster = make_cluster(mode, proxies=(fault == "partition"))
    old = cluster.primary()
    run = start_check(cluster, tmp_path, "--seconds", str(CHECK_SECONDS),
                      "--max-increments", str(CHECK_MAX_INCREMENTS), "--final-read-seconds", str(FINAL_READ_SECONDS))
    try:
        run.wait_started()
        time.sleep(FAULT_AFTER_SECONDS)  # places the fault within the run
        fault_at = time.monotonic()
        what = inject(cluster, fault, old)
        report = run.result()
    finally:
        run.kill()
    primary, _standby = wait_converged(cluster)
    lost = lost_records_per_key(cluster)
    counters = report["counters"]
    total = {field: sum(counter[field] for counter in counters.values()) for field in ("ok", "indeterminate", "failed")}
    values = sum(counter["value"] or 0 for counter in counters.values())
    after_fault = count_after(report["ok_per_bucket"], report["ok_bucket_ms"], run.seconds_since_start(fault_at))
    print(f"\n{fault} {mode} ({what}): ok {total['ok']}, indeterminate {total['indeterminate']}, "
          f"failed {total['failed']} {report['errors']}, sum of values {values}, "
          f"lost-writes records {sum(lost.get(name, 0) for name in counters) if lost is not None else '?'}; "
          f"{report['calls']} calls, {report['requests']} attempts; {after_fault} acknowledged after the fault")

    assert total["ok"] > 0, f"nothing acknowledged: {report}"
    assert after_fault > 0, f"nothing acknowledged after the fault ({what}): {report['ok_per_bucket']}"
    unexpected = set(report["errors"]) - NOT_EXECUTED_CODES
    assert not unexpected, f"failures that are not 'not executed': {report['errors']} {report['error_examples']}"
    keeps_acknowledged = mode == "sync" or fault == "switchover"
    for name, counter in counters.items():
        ok, indeterminate, value = counter["ok"], counter["indeterminate"], counter["value"]
        assert value is not None, f"{name}: the check read no final value"
        on_primary = call(primary, "GET", name, timeout=5.0)
        assert int(on_primary or 0) == value, f"{name}: the client read {value}, the converged primary holds {on_primary}"
        assert value <= ok + indeterminate, (f"{name}: value {value} > ok {ok} + indeterminate {indeterminate}: "
                                             f"an increment applied twice, or one reported failed was applied")
        if keeps_acknowledged:
            assert ok <= value, f"{name}: {ok} increments acknowledged but the value is {value} ({fault} {mode})"
            assert counter["duplicate_replies"] == 0, f"{name}: two acknowledged increments returned the same value"
            assert counter["max_reply"] is None or counter["max_reply"] <= value, f"{name}: {counter}"
        elif lost is not None:
            assert ok - value <= lost.get(name, 0), (f"{name}: {ok - value} acknowledged increments lost but only "
                                                     f"{lost.get(name, 0)} records in the lost-writes files")


def test_retries_stay_within_the_budget_while_both_nodes_are_stopped(make_cluster, tmp_path):
    cluster = make_cluster("sync")
    run = start_check(cluster, tmp_path, "--mode", "outage-budget", "--callers", str(OUTAGE_CALLERS),
                      "--seconds", str(OUTAGE_CHECK_SECONDS), "--max-increments", "2000000")
    try:
        run.wait_started()
        time.sleep(OUTAGE_AFTER_SECONDS)  # places the outage within the run
        stopped_at = time.monotonic()
        try:
            cluster.stop("a")
            cluster.stop("b")
            time.sleep(OUTAGE_SECONDS)  # the outage's length
        finally:
            cluster.cont("a")
            cluster.cont("b")
        resumed_at = time.monotonic()
        report = run.result()
    finally:
        run.kill()
    calls, attempts = report["calls"], report["attempts"]
    start, end = run.seconds_since_start(stopped_at) * 1000, run.seconds_since_start(resumed_at) * 1000
    before = max((s for s in report["samples"] if s[0] <= start), default=[0, 0, 0], key=lambda s: s[0])
    during = max((s for s in report["samples"] if s[0] <= end), default=[0, 0, 0], key=lambda s: s[0])
    answered_after = count_after(report["ok_per_bucket"], report["ok_bucket_ms"], run.seconds_since_start(resumed_at))
    print(f"\noutage budget: {calls} calls asked, {attempts} attempts sent (bound {BUDGET_RATIO} x calls + "
          f"{BUDGET_SLACK_ATTEMPTS} = {BUDGET_RATIO * calls + BUDGET_SLACK_ATTEMPTS:.0f}); during the outage about "
          f"{during[1] - before[1]} calls and {during[2] - before[2]} attempts; {report['ok']} answered, "
          f"{answered_after} after SIGCONT; errors {report['errors']}")
    assert calls > 0 and report["ok"] > 0, report
    assert attempts <= BUDGET_RATIO * calls + BUDGET_SLACK_ATTEMPTS, (
        f"{attempts} attempts for {calls} calls: more retries than the budget allows")
    assert answered_after > 0, f"no call answered after SIGCONT: {report['ok_per_bucket']}"
