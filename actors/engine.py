"""EventDrivenStrategyEngine: the driver that holds actor handles.

Initialisation order is part of the contract (seed ADR-001): 1. the ExecutionInterfaceFactory,
2. (live) one venue actor per enabled venue, spawned through the factory, 3. the PositionMonitor
actor, given the factory and the venue actors, 4. the rest (readers of PortfolioSnapshots).
The engine never calls ``ray.init``: the CLI (or the caller) starts or joins Ray first.
"""

from __future__ import annotations

from typing import Any

import ray

from actors.monitor_actor import spawn_monitor
from factory.config import ModeConfig, resolve_config
from factory.execution_interface_factory import ExecutionInterfaceFactory
from factory.positions import ExecutionMode, PortfolioSnapshot

__all__ = ["EventDrivenStrategyEngine"]


class EventDrivenStrategyEngine:
    """Builds the factory, then the monitor with the factory, and holds their handles.

    Args:
        config: the mode config (or a dict).
        execution_mode: ``live`` or ``backtest``.
        factory: an ExecutionInterfaceFactory (default: a new one).
        monitor_name: Ray actor name of the monitor (None for an anonymous actor).
    """

    def __init__(
        self,
        config: ModeConfig | dict,
        execution_mode: ExecutionMode = "backtest",
        factory: ExecutionInterfaceFactory | None = None,
        monitor_name: str | None = "position-monitor",
        store_path: str | None = None,
        limit_scale: float = 1.0,
    ):
        if not ray.is_initialized():
            raise RuntimeError("start or join Ray before building the engine (ray.init)")
        self.init_order: list[str] = []
        self.config = resolve_config(config)
        self.execution_mode: ExecutionMode = execution_mode
        self.factory = factory or ExecutionInterfaceFactory()
        self.init_order.append("factory")
        self.venue_actors: dict[str, Any] = {}
        if execution_mode == "live":
            self.venue_actors = self.factory.spawn_position_actors(
                self.config.venues, execution_mode, self.config, limit_scale=limit_scale
            )
            self.init_order.append("venue_actors")
        self.position_monitor = spawn_monitor(
            self.factory, self.config, execution_mode, name=monitor_name,
            venue_handles=self.venue_actors, store_path=store_path, limit_scale=limit_scale,
        )
        self.init_order.append("position_monitor")
        self.handles: dict[str, Any] = {"position_monitor": self.position_monitor}
        self.handles.update({f"venue:{v}": h for v, h in self.venue_actors.items() if h})

    def get_real_positions(self, timestamp: Any = None, timeout_s: float = 30.0) -> PortfolioSnapshot:
        """Ask the monitor for a snapshot and wait for it."""
        return ray.get(self.position_monitor.get_real_positions.remote(timestamp), timeout=timeout_s)

    def prepare_venues(self, timeout_s: float = 30.0) -> dict[str, str | None]:
        """Wait (bounded) until every venue actor is up and has run its one-time setup.

        Returns each venue's outcome: None when ready, else the reason in one line. Nothing
        here is a snapshot: a venue that is not ready is reported by the next snapshot.
        """
        refs = {h.prepare.remote(timeout_s): v for v, h in self.venue_actors.items() if h}
        done, _ = ray.wait(list(refs), num_returns=len(refs), timeout=timeout_s)
        outcome: dict[str, str | None] = {
            v: f"VenueTimeoutError: not ready within {timeout_s:.2f} s" for v in refs.values()}
        for ref in done:
            try:
                outcome[refs[ref]] = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - the actor died: the snapshot reports it
                outcome[refs[ref]] = type(exc).__name__
        return outcome

    def run(self, interval_s: float | None = None, count: int | None = None) -> Any:
        """Start the live loop in the monitor: a snapshot every ``interval_s``; returns its ref."""
        return self.position_monitor.run.remote(interval_s, count)

    def shutdown(self) -> None:
        """Stop the actors this engine started."""
        for handle in self.handles.values():
            try:
                ray.kill(handle)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self.handles.clear()
