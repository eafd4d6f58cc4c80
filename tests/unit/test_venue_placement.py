"""Where venue actors go on a cluster (actors/options.py): spread over the alive nodes, softly."""

from __future__ import annotations

from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors.options import (
    PLACEMENT_MEMORY_BYTES,
    UNPLACED_SCHEDULING,
    monitor_options,
    place_venues,
    venue_actor_options,
)


def test_venues_are_spread_over_the_nodes_in_the_modes_order():
    venues = ["binance", "bybit", "okx", "aave_v3", "wallet"]
    assert place_venues(venues, {"n2", "n1"}) == {
        "binance": "n1", "bybit": "n2", "okx": "n1", "aave_v3": "n2", "wallet": "n1"}
    assert place_venues(venues, {"n1", "n2", "n3", "n4", "n5", "n6"}) == dict(
        zip(venues, ["n1", "n2", "n3", "n4", "n5"], strict=True))
    assert place_venues(venues, []) == {}


def test_a_venue_started_again_alone_goes_to_the_same_node_as_at_the_first_start():
    mode = ["binance", "bybit", "okx"]
    assert place_venues(mode, ["n1", "n2"])["okx"] == "n1"
    assert place_venues([*mode, "lido"], ["n2", "n1"])["lido"] == "n2"


def test_a_placed_venue_actor_has_a_soft_affinity_so_ray_restarts_it_on_an_alive_node():
    node = "ab" * 28  # a node id: 28 bytes in hex
    strategy = venue_actor_options("okx", node_id=node)["scheduling_strategy"]
    assert isinstance(strategy, NodeAffinitySchedulingStrategy)
    assert strategy.node_id == node and strategy.soft is True
    opts = venue_actor_options("okx")
    assert opts["scheduling_strategy"] == UNPLACED_SCHEDULING == "SPREAD"
    assert opts["name"] == "venue:okx" and opts["num_cpus"] == 0 and opts["max_restarts"] == -1
    # Ray applies a placement only to a request for some resource: a token of memory, no CPU
    assert opts["memory"] == PLACEMENT_MEMORY_BYTES == 1024 * 1024


def test_the_monitor_stays_softly_beside_the_process_that_starts_it():
    node = "cd" * 28
    strategy = monitor_options("position-monitor", node_id=node)["scheduling_strategy"]
    assert isinstance(strategy, NodeAffinitySchedulingStrategy)
    assert strategy.node_id == node and strategy.soft is True
    assert monitor_options("position-monitor", node_id=node)["memory"] == PLACEMENT_MEMORY_BYTES
    assert "scheduling_strategy" not in monitor_options("position-monitor")
