"""Ray actor options, one place per actor kind (name, namespace, CPUs, restarts, concurrency)."""

from __future__ import annotations

from typing import Any

__all__ = ["MONITOR_NAME", "NAMESPACE", "monitor_options", "venue_actor_name"]

NAMESPACE = "basis-monitor"
MONITOR_NAME = "position-monitor"


def venue_actor_name(venue: str) -> str:
    """Return the Ray actor name of a venue actor, e.g. ``venue:binance``."""
    return f"venue:{venue}"


def monitor_options(name: str | None = MONITOR_NAME) -> dict[str, Any]:
    """Options of the PositionMonitor actor: I/O bound (0 CPU), restarted on crash."""
    opts: dict[str, Any] = {
        "num_cpus": 0,
        "max_restarts": -1,
        "max_task_retries": 0,
        "max_concurrency": 16,
    }
    if name:
        opts["name"] = name
        opts["get_if_exists"] = False
    return opts
