"""basis-monitor's runtime: Ray actor shells and the plain classes they wrap."""

from actors.engine import EventDrivenStrategyEngine
from actors.monitor import LocalVenueClient, PositionMonitor, VenueClient, aggregate
from actors.monitor_actor import PositionMonitorActor, spawn_monitor
from actors.portfolio import net_exposure
from actors.reconcile import reconcile

__all__ = [
    "EventDrivenStrategyEngine",
    "LocalVenueClient",
    "PositionMonitor",
    "PositionMonitorActor",
    "VenueClient",
    "aggregate",
    "net_exposure",
    "reconcile",
    "spawn_monitor",
]
