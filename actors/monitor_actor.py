"""The PositionMonitor's Ray actor shell: decode arguments, call the plain class, return models."""

from __future__ import annotations

from typing import Any

import ray

from actors.monitor import PositionMonitor
from actors.options import monitor_options
from factory.positions import ExecutionMode, PortfolioSnapshot

__all__ = ["PositionMonitorActor", "spawn_monitor"]


class PositionMonitorActor:
    """Thin shell over `PositionMonitor`."""

    def __init__(self, factory: Any, config: Any, execution_mode: ExecutionMode = "backtest"):
        self._monitor = PositionMonitor(factory, config, execution_mode)

    async def get_real_positions(self, timestamp: Any = None) -> PortfolioSnapshot:
        return await self._monitor.get_real_positions(timestamp)

    def set_expected(self, positions: dict[str, float]) -> None:
        self._monitor.set_expected(positions)

    def venues(self) -> list[str]:
        return sorted(self._monitor.clients)

    def ping(self) -> str:
        return "ok"


def spawn_monitor(
    factory: Any,
    config: Any,
    execution_mode: ExecutionMode = "backtest",
    name: str | None = "position-monitor",
    namespace: str | None = None,
) -> ray.actor.ActorHandle:
    """Start the PositionMonitor actor with its options; Ray must be initialised."""
    opts = monitor_options(name)
    if namespace:
        opts["namespace"] = namespace
    cls = ray.remote(PositionMonitorActor)
    return cls.options(**opts).remote(factory, config, execution_mode)
