"""Ray actor options, one place per actor kind (name, namespace, CPUs, restarts, concurrency)."""

from __future__ import annotations

from typing import Any

__all__ = [
    "BUDGET_PREFIX",
    "MONITOR_CONCURRENCY_GROUPS",
    "MONITOR_NAME",
    "NAMESPACE",
    "budget_actor_name",
    "budget_actor_options",
    "monitor_options",
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


def venue_actor_name(venue: str) -> str:
    """Return the Ray actor name of a venue actor, e.g. ``venue:binance`` (no secrets)."""
    return f"venue:{venue}"


def venue_actor_options(venue: str, namespace: str | None = None) -> dict[str, Any]:
    """Options of a venue actor: I/O bound (0 CPU), restarted by Ray when its process dies.

    ``max_task_retries=0``: a snapshot that was in flight when the process died is not replayed
    by Ray; the monitor decides (the venue is stale this round).
    """
    opts: dict[str, Any] = {
        "name": venue_actor_name(venue),
        "num_cpus": 0,
        "max_restarts": -1,
        "max_task_retries": 0,
        "max_concurrency": 8,
        "get_if_exists": True,
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


def monitor_options(name: str | None = MONITOR_NAME, namespace: str | None = None) -> dict[str, Any]:
    """Options of the PositionMonitor actor: I/O bound (0 CPU), restarted on crash."""
    opts: dict[str, Any] = {
        "num_cpus": 0,
        "max_restarts": -1,
        "max_task_retries": 0,
    }
    if name:
        opts["name"] = name
    if namespace:
        opts["namespace"] = namespace
    return opts
