"""Prometheus metrics against real processes: a witness and two nodes answer ``METRICS``
with their exposition, which the ``prometheus_client`` parser reads, and the series move
with what the cluster does (commands, refusals, a switchover, the witness's heartbeats).
"""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness import call, wait_until
from resp import Err
from test_operator import nodes_flag, run_cli

pytestmark = [pytest.mark.understudy_only]

GAUGE_TIMEOUT_SECONDS = 10.0


def scrape(process) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``METRICS`` by (sample name, sorted labels)."""
    text = call(process, "METRICS")
    assert isinstance(text, str), f"METRICS answered {text!r}"
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    assert key in samples, f"{name}{labels} is not exposed; exposed: {sorted({k[0] for k in samples})}"
    return samples[key]


def test_metrics_follow_commands_refusals_and_a_switchover(make_cluster):
    cluster = make_cluster(mode="sync")
    old, standby = cluster.primary(), cluster.standby()
    before = scrape(old)
    assert value(before, "understudy_build_info", version="0.1.0") == 1
    assert value(before, "understudy_role", role="primary") == 1
    assert value(before, "understudy_is_primary") == 1
    assert value(scrape(standby), "understudy_role", role="standby") == 1
    epoch_before = value(before, "understudy_epoch")
    assert epoch_before == cluster.epoch(old)

    client = old.client()
    for index in range(20):
        client.set(f"metrics:{index}", "x")
    client.close()
    after = scrape(old)
    assert value(after, "understudy_commands_total", command="set", result="ok") \
        - value(before, "understudy_commands_total", command="set", result="ok") == 20
    assert value(after, "understudy_wal_fsync_duration_seconds_count") > value(before, "understudy_wal_fsync_duration_seconds_count")
    assert value(after, "understudy_last_lsn") >= 20
    assert value(after, "understudy_standby_in_sync") == 1

    refused_before = value(scrape(standby), "understudy_requests_refused_total", reason="readonly")
    reply = call(standby, "SET", "metrics:on-standby", "x")
    assert isinstance(reply, Err) and reply.message.startswith("READONLY"), reply
    on_standby = scrape(standby)
    assert value(on_standby, "understudy_requests_refused_total", reason="readonly") == refused_before + 1
    assert value(on_standby, "understudy_commands_total", command="set", result="refused") >= 1

    result = run_cli("switchover", "--nodes", nodes_flag(cluster))
    assert result.returncode == 0, result.stdout + result.stderr
    new = standby
    assert value(scrape(old), "understudy_switchovers_total", outcome="done") == 1
    promoted = wait_until(
        lambda: (samples := scrape(new)) and value(samples, "understudy_role", role="primary") == 1 and samples,
        GAUGE_TIMEOUT_SECONDS, message="the new primary's role gauge")
    assert value(promoted, "understudy_epoch") > epoch_before
    assert value(promoted, "understudy_last_promotion_timestamp_seconds") > 0
    assert value(promoted, "understudy_failovers_total", reason="primary_lost") == 0, "a switchover is not a failover"
    wait_until(lambda: value(scrape(old), "understudy_role", role="standby") == 1, GAUGE_TIMEOUT_SECONDS,
               message="the old primary's role gauge")

    witness = scrape(cluster.witness)
    assert value(witness, "understudy_witness_epoch") == value(promoted, "understudy_epoch")
    assert value(witness, "understudy_witness_heartbeats_total") > 0
    assert value(witness, "understudy_witness_primary_changes_total") >= 1


def test_metrics_count_unknown_commands_as_other(make_cluster):
    cluster = make_cluster(mode="async")
    primary = cluster.primary()
    before = value(scrape(primary), "understudy_commands_total", command="other", result="error")
    assert isinstance(call(primary, "NOSUCHCOMMAND", "x"), Err)
    samples = scrape(primary)
    assert value(samples, "understudy_commands_total", command="other", result="error") == before + 1
    assert not any(labels and dict(labels).get("command") == "nosuchcommand" for _, labels in samples)


def test_a_crash_failover_counts_as_primary_lost_with_its_phases_timed(make_cluster):
    cluster = make_cluster(mode="sync")
    old = cluster.primary()
    cluster.kill9(old)
    new = cluster.wait_for_new_primary(old, timeout=cluster.failure_timeout + 10)
    client = new.client()
    wait_until(lambda: client.set("metrics:after-failover", "x"), GAUGE_TIMEOUT_SECONDS,
               message="a write on the new primary")
    client.close()
    samples = wait_until(
        lambda: (found := scrape(new)) and value(found, "understudy_failover_phase_duration_seconds_count",
                                                 phase="first_write") == 1 and found,
        GAUGE_TIMEOUT_SECONDS, message="the first-write phase recorded")
    assert value(samples, "understudy_failovers_total", reason="primary_lost") == 1
    assert value(samples, "understudy_failover_phase_duration_seconds_count", phase="vote") == 1
    assert value(samples, "understudy_is_primary") == 1
