"""Multi-node tests on ray.cluster_utils.Cluster: a head and a worker node on this machine."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from factory.sandbox.env import scoped_environ

SANDBOX_SCENARIO = Path(__file__).resolve().parents[2] / "configs" / "sandbox.yaml"
MIB = 1024 * 1024


@contextlib.contextmanager
def two_node_cluster(environ: Mapping[str, str] | None = None) -> Iterator:
    """A head with 1 CPU and one worker with 1 CPU; the driver joins it.

    ``environ`` is in the environment the nodes start with (so their workers inherit it); the
    driver's own environment is restored once the nodes are up.
    """
    import ray
    from ray.cluster_utils import Cluster

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        ray.shutdown()
    with scoped_environ(environ or {}):
        cluster = Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": 1, "object_store_memory": 150 * MIB,
                            "include_dashboard": False},
        )
        cluster.add_node(num_cpus=1, object_store_memory=150 * MIB)
        cluster.wait_for_nodes()
    ray.init(address=cluster.address, namespace="basis-cluster-tests", log_to_driver=False)
    _every_node_takes_work(cluster)
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def _every_node_takes_work(cluster) -> None:
    """Run a task pinned to each node, so the scheduler has heard of every node before a test
    places actors on them (a node that is up but not yet known is skipped by a soft choice)."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    @ray.remote(num_cpus=0)
    def where() -> str:
        return ray.get_runtime_context().get_node_id()

    nodes = [cluster.head_node.node_id, *(n.node_id for n in cluster.worker_nodes)]
    refs = [where.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n, soft=False))
            .remote() for n in nodes]
    assert ray.get(refs, timeout=120) == nodes


@pytest.fixture(scope="module")
def ray_cluster():
    """A 2-node local cluster with no sandbox endpoints."""
    with two_node_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def exchange():
    """The sandbox exchange emulator (binance, bybit, okx) on a thread, for the module."""
    from factory.sandbox.exchange import serve_in_thread

    with serve_in_thread(scenario=SANDBOX_SCENARIO) as emu:
        yield emu


@pytest.fixture(scope="module")
def cex_cluster(exchange):
    """A 2-node local cluster whose nodes reach the exchange emulator with its sandbox keys."""
    environ: dict[str, str] = {}
    for venue in exchange.venues():
        environ.update(exchange.env(venue))
    with two_node_cluster(environ) as cluster:
        yield cluster
