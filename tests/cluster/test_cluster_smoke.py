"""A 2-node local cluster runs work on both nodes."""

import ray


def test_tasks_spread_over_both_nodes(ray_cluster):
    @ray.remote(num_cpus=1)
    def where(i):
        import time

        time.sleep(0.3)
        return ray.get_runtime_context().get_node_id()

    nodes = set(ray.get([where.remote(i) for i in range(6)], timeout=120))
    alive = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert len(alive) == 2
    assert nodes == alive
