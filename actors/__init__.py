"""basis-monitor's runtime: Ray actor shells and the plain classes they wrap.

The public names load on first use (PEP 562), so importing one module of the package (the CLI,
the plain classes, ``basis monitor --once``) does not import Ray with the actor shells.
"""

from __future__ import annotations

import importlib
from typing import Any

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

#: public name -> the module that defines it
_HOMES = {
    "EventDrivenStrategyEngine": "actors.engine",
    "LocalVenueClient": "actors.monitor",
    "PositionMonitor": "actors.monitor",
    "VenueClient": "actors.monitor",
    "aggregate": "actors.monitor",
    "PositionMonitorActor": "actors.monitor_actor",
    "spawn_monitor": "actors.monitor_actor",
    "net_exposure": "actors.portfolio",
    "reconcile": "actors.reconcile",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'actors' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
