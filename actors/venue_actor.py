"""VenuePositionActor: the thin Ray shell over `actors.venue.VenueWorker` (one actor per venue).

Started by `actors.spawn.VenueActorFactory.spawn_position_actors` with the options of
`actors.options.venue_actor_options` (named ``venue:<id>``, ``num_cpus=0``, restarted by Ray).
Live, a wallet's actor reads the CEX transfers in transit from the CEX venues' actors through
`actors.ray_calls.NamedVenueActor`.
"""

from __future__ import annotations

import os
from typing import Any

from actors import ray_calls
from actors.ray_calls import ActorBudgetLink, NamedVenueActor
from actors.venue import ActorTransitSource, VenueWorker
from factory.execution_interface_factory import ExecutionInterfaceFactory
from factory.positions import VenueSnapshot

__all__ = ["VenuePositionActor"]


class VenuePositionActor:
    """Thin Ray shell over `VenueWorker` (one actor per venue).

    ``budget``: the handle of the shared rate budget actor of the venue's exchange and egress
    group (`actors.ray_calls.shared_budget_actor`), None when the venue shares no pool.
    """

    def __init__(
        self,
        venue: str,
        execution_mode: str,
        config: Any,
        factory: Any = None,
        limit_scale: float = 1.0,
        budget: Any = None,
    ):
        factory = factory or ExecutionInterfaceFactory()
        iface = factory.create_position_interface(venue, execution_mode, config)
        if execution_mode == "live" and hasattr(iface, "set_transit_sources"):
            names = iface.venue_config.options.get("transfer_venues") or []
            enabled = set(iface.mode_config.venues)
            iface.set_transit_sources({v: ActorTransitSource(v, NamedVenueActor(v))
                                       for v in names if not enabled or v in enabled})
        link = ActorBudgetLink(budget) if budget is not None else None
        self.worker = VenueWorker(iface, limit_scale=limit_scale, budget=link)

    async def snapshot(self, timestamp: Any = None, deadline_s: float | None = None) -> VenueSnapshot:
        return await self.worker.snapshot(timestamp, deadline_s)

    async def transfers_in_transit(self, deadline_s: float | None = None) -> list:
        return await self.worker.transfers_in_transit(deadline_s)

    async def prepare(self, deadline_s: float) -> str | None:
        return await self.worker.prepare(deadline_s)

    def status(self) -> dict[str, Any]:
        return self.worker.status()

    def ping(self) -> int:
        """Return the actor's process id (tests kill it to check recovery)."""
        return os.getpid()

    def node_id(self) -> str:
        """Return the id of the Ray node this actor runs on (the supervisor's probe)."""
        return ray_calls.node_id()

    async def shutdown(self) -> None:
        await self.worker.close()

    def __repr__(self) -> str:
        return f"VenuePositionActor({self.worker.venue})"
