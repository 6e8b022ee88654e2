"""Fixtures for the process-level suite.

Target: ``--target understudy|redis`` or env ``TARGET`` (default ``understudy``). With
``redis`` the command-behaviour tests run against Debian's ``redis-server`` 7.0.15 so that
every expectation is checked against the real thing; tests marked ``understudy_only``
(limits, durability, crash safety) are skipped there.
"""

from __future__ import annotations

import os

import pytest

from harness import ReplicationPair, ServerProcess


def pytest_addoption(parser):
    parser.addoption(
        "--target",
        default=os.environ.get("TARGET", "understudy"),
        choices=("understudy", "redis"),
        help="server under test: understudy (default) or Debian's redis-server",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "understudy_only: needs understudy (flags, WAL files, durability)")
    config.addinivalue_line("markers", "slow: takes seconds (crash, restart, benchmark)")


def pytest_report_header(config):
    from harness import understudy_binary

    target = config.getoption("--target")
    extra = f" ({understudy_binary()})" if target == "understudy" else ""
    return f"target: {target}{extra}"


def pytest_collection_modifyitems(config, items):
    if config.getoption("--target") == "understudy":
        return
    skip = pytest.mark.skip(reason="understudy-only test (target is redis)")
    for item in items:
        if "understudy_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def target(pytestconfig) -> str:
    return pytestconfig.getoption("--target")


@pytest.fixture(scope="session")
def is_understudy(target) -> bool:
    return target == "understudy"


@pytest.fixture(scope="session")
def server(target, tmp_path_factory):
    """One server shared by the command-behaviour tests (each test starts from FLUSHALL)."""
    process = ServerProcess(target, tmp_path_factory.mktemp("shared-server"))
    try:
        process.start()
        yield process
    finally:
        process.kill()


@pytest.fixture
def r(server):
    client = server.client()
    client.flushall()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def rb(server):
    """A redis-py client that returns bytes (binary-safe checks)."""
    client = server.client(decode_responses=False)
    client.flushall()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def raw(server):
    client = server.raw()
    assert client.call("FLUSHALL") == "OK"
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def make_server(target, tmp_path_factory):
    """Factory for dedicated servers; every one is killed at teardown, whatever happened."""
    started: list[ServerProcess] = []

    def factory(server_target: str | None = None, **options) -> ServerProcess:
        process = ServerProcess(server_target or target, tmp_path_factory.mktemp("server"), **options)
        started.append(process)
        return process.start()

    try:
        yield factory
    finally:
        for process in started:
            process.kill()


@pytest.fixture
def make_node(tmp_path_factory):
    """Factory for understudy nodes that are NOT started yet (``port=`` fixes the port across
    restarts); every one is killed at teardown."""
    created: list[ServerProcess] = []

    def factory(**options) -> ServerProcess:
        process = ServerProcess("understudy", tmp_path_factory.mktemp("node"), **options)
        created.append(process)
        return process

    try:
        yield factory
    finally:
        for process in created:
            process.kill()


@pytest.fixture
def make_pair(tmp_path_factory):
    """Factory for a primary-standby pair (``harness.ReplicationPair``), started unless
    ``start=False``; both nodes are killed at teardown, whatever happened."""
    pairs: list[ReplicationPair] = []

    def factory(mode: str = "sync", start: bool = True, **options) -> ReplicationPair:
        pair = ReplicationPair(tmp_path_factory.mktemp("primary"), tmp_path_factory.mktemp("standby"), mode, **options)
        pairs.append(pair)
        return pair.start() if start else pair

    try:
        yield factory
    finally:
        for pair in pairs:
            pair.kill()


@pytest.fixture
def make_cluster(tmp_path_factory):
    """Factory for a witness and two data nodes (``cluster.Cluster``): ``make_cluster(mode=
    "sync"|"async", proxies=False, start=True, **flags)``. Started (and ready) unless
    ``start=False``; every process is killed and every proxy closed at teardown."""
    from cluster import Cluster

    clusters: list[Cluster] = []

    def factory(mode: str = "sync", proxies: bool = False, start: bool = True, **flags) -> Cluster:
        cluster = Cluster(tmp_path_factory.mktemp("cluster"), mode, proxies=proxies, **flags)
        clusters.append(cluster)
        return cluster.start() if start else cluster

    try:
        yield factory
    finally:
        for cluster in clusters:
            cluster.close()
