"""Multi-node tests on ray.cluster_utils.Cluster: a head and a worker node on this machine."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="module")
def ray_cluster():
    """A 2-node local cluster (head with 1 CPU, one worker with 1 CPU); the driver joins it."""
    import ray
    from ray.cluster_utils import Cluster

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        ray.shutdown()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "object_store_memory": 150 * 1024 * 1024,
                        "include_dashboard": False},
    )
    cluster.add_node(num_cpus=1, object_store_memory=150 * 1024 * 1024)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, namespace="basis-cluster-tests", log_to_driver=False)
    yield cluster
    ray.shutdown()
    cluster.shutdown()
