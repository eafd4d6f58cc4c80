"""Sweeps on a 2-node cluster: spread over both nodes; losing a node mid-sweep loses nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.backtest.data.synthetic import synthetic_market
from actors.backtest.sweep import expand, load_sweep, run_sweep

GRID = Path(__file__).resolve().parents[2] / "configs" / "sweeps" / "basis_grid.yaml"


@pytest.fixture(scope="module")
def market():
    return synthetic_market(seed=7)


@pytest.fixture(scope="module")
def scenarios():
    out = expand(load_sweep(GRID))
    assert len(out) == 32
    return out


@pytest.fixture(scope="module")
def clean(ray_cluster, scenarios, market):
    """A clean run on both nodes (also the reference fingerprints)."""
    return run_sweep(scenarios, market, timeout_s=180)


def test_a_sweep_spreads_over_both_nodes(ray_cluster, clean):
    nodes = {r.scenario["node_id"] for r in clean.results}
    assert clean.actors == 2 and len(nodes) == 2
    assert clean.errors == {} and clean.reruns == 0


def test_removing_a_node_mid_sweep_completes_every_scenario_with_the_same_fingerprints(
    ray_cluster, scenarios, market, clean
):
    head = ray_cluster.head_node.node_id
    worker = next(iter(ray_cluster.worker_nodes))
    removed = []

    def progress(done, total, result):
        # remove the worker right after the head reports, while the worker is mid-scenario
        if not removed and done >= 6 and result is not None and result.scenario["node_id"] == head:
            ray_cluster.remove_node(worker)
            removed.append(done)

    result = run_sweep(scenarios, market, progress=progress, timeout_s=180)
    assert removed, "the worker node was never removed"
    assert all(r is not None for r in result.results) and result.errors == {}
    assert result.fingerprints() == clean.fingerprints()
    assert result.reruns >= 1  # the scenario running on the removed node ran again
    late = [r for r in result.results if r.scenario["node_id"] != head]
    assert len(late) < 32  # after the removal everything ran on the head
