"""Ray actor options, one place per actor kind (name, namespace, CPUs, restarts, concurrency)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "BUDGET_PREFIX",
    "MONITOR_CONCURRENCY_GROUPS",
    "MONITOR_NAME",
    "NAMESPACE",
    "PLACEMENT_MEMORY_BYTES",
    "UNPLACED_SCHEDULING",
    "budget_actor_name",
    "budget_actor_options",
    "monitor_options",
    "place_venues",
    "venue_actor_name",
    "venue_actor_options",
]

#: The Ray namespace of every ``basis`` command's job (monitor, sweep, demo). The named actors
#: are created without a namespace of their own, so they live in the job's, and are looked up
#: by name there (`actors.cli.ray_session.start_ray` passes this one).
NAMESPACE = "basis"
MONITOR_NAME = "position-monitor"

#: The monitor's control methods (health, ping, supervision) run in their own group so a slow
#: snapshot never blocks them.
MONITOR_CONCURRENCY_GROUPS = {"snapshots": 8, "control": 4}


#: How a venue actor is scheduled when no node was chosen for it (the alive nodes were not
#: known): Ray's best-effort spread. It is not the default because it is only best effort: it
#: packed three venue actors on one of two nodes in one start out of eight on a local cluster.
UNPLACED_SCHEDULING = "SPREAD"

#: Ray's logical memory each placed actor asks for. Ray applies a node choice (soft node
#: affinity) only to a request that asks for some resource: an actor asking for nothing at all
#: (``num_cpus=0`` alone) ran wherever its lease landed on a local 2-node cluster, whatever its
#: affinity said. One MiB is a token, not an estimate (a venue actor uses ~80 MB): it reserves
#: no CPU, fits on a head started with ``CPU: 0``, and a thousand actors share one GB of a
#: node's memory resource, so it never leaves an actor pending.
PLACEMENT_MEMORY_BYTES = 1024 * 1024


def place_venues(venues: Sequence[str], nodes: Iterable[str]) -> dict[str, str]:
    """Spread venues over nodes: the i-th venue on node ``i mod n`` of the sorted node ids.

    The venue order is the mode's, so a venue started again alone (a replacement) gets the
    same node as at the first start while the nodes are the same. No nodes: no placement.
    """
    ordered = sorted(set(nodes))
    if not ordered:
        return {}
    return {venue: ordered[i % len(ordered)] for i, venue in enumerate(venues)}


def venue_actor_name(venue: str) -> str:
    """Return the Ray actor name of a venue actor, e.g. ``venue:binance`` (no secrets)."""
    return f"venue:{venue}"


def venue_actor_options(
    venue: str, namespace: str | None = None, node_id: str | None = None
) -> dict[str, Any]:
    """Options of a venue actor: I/O bound (0 CPU), restarted by Ray when its process dies.

    ``max_task_retries=0``: a snapshot that was in flight when the process died is not replayed
    by Ray; the monitor decides (the venue is stale this round).

    ``node_id`` (from `place_venues`) is a soft node affinity: the actor starts on that node
    while it is alive, and when the node dies Ray restarts the actor (same name, restarts
    left) on a node that is alive. A hard affinity would make the actor unschedulable, dead
    for good, when its node dies. Without a node the actor is placed by `UNPLACED_SCHEDULING`.
    Either way it asks for `PLACEMENT_MEMORY_BYTES`, so that Ray applies the choice.
    """
    # Ray is imported here, not at the top: the CLI reads NAMESPACE from this module before it
    # decides to start Ray, and a bad command line must not pay for importing Ray.
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    opts: dict[str, Any] = {
        "name": venue_actor_name(venue),
        "num_cpus": 0,
        "memory": PLACEMENT_MEMORY_BYTES,
        "max_restarts": -1,
        "max_task_retries": 0,
        "max_concurrency": 8,
        "get_if_exists": True,
        "scheduling_strategy": (NodeAffinitySchedulingStrategy(node_id, soft=True) if node_id
                                else UNPLACED_SCHEDULING),
    }
    if namespace:
        opts["namespace"] = namespace
    return opts


#: Prefix of the shared rate budgets' actor names (``budget:<exchange>:<group>``).
BUDGET_PREFIX = "budget:"


def budget_actor_name(exchange: str, group: str) -> str:
    """Return the Ray actor name of an egress group's budget, e.g. ``budget:binance:default``."""
    return f"{BUDGET_PREFIX}{exchange}:{group}"


def budget_actor_options(exchange: str, group: str,
                         namespace: str | None = None) -> dict[str, Any]:
    """Options of a shared rate budget actor: one per (exchange, egress group), got or created
    by name (so instances spawned or respawned later share it), 0 CPU, restarted by Ray.

    Its methods are plain and quick: one call at a time (``max_concurrency=1``) keeps the
    budget's bookkeeping serial.
    """
    opts: dict[str, Any] = {
        "name": budget_actor_name(exchange, group),
        "num_cpus": 0,
        "max_restarts": -1,
        "max_task_retries": 0,
        "max_concurrency": 1,
        "get_if_exists": True,
    }
    if namespace:
        opts["namespace"] = namespace
    return opts


def monitor_options(
    name: str | None = MONITOR_NAME, namespace: str | None = None, node_id: str | None = None
) -> dict[str, Any]:
    """Options of the PositionMonitor actor: I/O bound (0 CPU), restarted on crash.

    ``node_id`` (the node of the process that starts the monitor) is a soft node affinity: the
    monitor runs beside its caller, where the history path was resolved, rather than wherever
    Ray puts a 0-CPU actor; if that node dies, Ray restarts it on one that is alive. It then
    asks for `PLACEMENT_MEMORY_BYTES`, so that Ray applies the choice.
    """
    opts: dict[str, Any] = {
        "num_cpus": 0,
        "max_restarts": -1,
        "max_task_retries": 0,
    }
    if node_id:
        # imported here for the reason given in venue_actor_options
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        opts["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id, soft=True)
        opts["memory"] = PLACEMENT_MEMORY_BYTES
    if name:
        opts["name"] = name
    if namespace:
        opts["namespace"] = namespace
    return opts
