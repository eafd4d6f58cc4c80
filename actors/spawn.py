"""The factory the live engine hands around: position interfaces plus the venue actors.

`VenueActorFactory` is the `ExecutionInterfaceFactory` with one more duty, starting the
`VenuePositionActor` of each venue on Ray. It lives with the actors so that ``factory`` never
imports ``actors``; like its base it holds no state and pickles as its class.
"""

from __future__ import annotations

import logging
from typing import Any

from actors import ray_calls
from actors.budget import shared_groups
from actors.options import place_venues, venue_actor_options
from actors.ray_calls import shared_budget_actor
from actors.venue_actor import VenuePositionActor
from factory.config import ModeConfig, resolve_config
from factory.execution_interface_factory import ExecutionInterfaceFactory
from factory.interfaces.registry import canonical_venue
from factory.positions import ExecutionMode

__all__ = ["VenueActorFactory"]

log = logging.getLogger(__name__)


class VenueActorFactory(ExecutionInterfaceFactory):
    """Builds position interfaces and starts the venue actors that serve them."""

    @staticmethod
    def spawn_position_actors(
        venues: list[str],
        execution_mode: ExecutionMode,
        config: ModeConfig | dict | None,
        limit_scale: float = 1.0,
        namespace: str | None = None,
    ) -> dict[str, Any]:
        """Start one `VenuePositionActor` per venue (Ray must be up); a venue that cannot be
        built maps to None (logged). An actor of that name that is still alive is reused.

        Each actor is named ``venue:<id>`` so the Ray dashboard shows it, takes no CPU and is
        restarted by Ray when its process dies. The actors are spread over the alive nodes in
        the mode's venue order (`actors.options.place_venues`), so a replacement started
        alone goes where the venue went first. Instances of one exchange in one egress group
        (among the mode's venues) share the budget actor of their ``ip`` pools, got or created
        here by name, so an instance spawned or respawned later joins the same budget.
        """
        import ray

        mode = resolve_config(config)
        remote_cls = ray.remote(VenuePositionActor)
        handles: dict[str, Any] = {}
        try:
            nodes = place_venues([*mode.venues, *(v for v in venues if v not in mode.venues)],
                                 ray_calls.alive_nodes())
        except Exception as exc:  # noqa: BLE001 - placed by Ray's spread instead
            log.warning("could not list the alive nodes: %s", exc)
            nodes = {}
        groups = _groups(mode, venues) if execution_mode == "live" else {}
        for venue in venues:
            try:
                # validate routing here, in the caller, so a bad venue fails fast and clearly
                ExecutionInterfaceFactory.create_position_interface(venue, execution_mode, mode)
                canonical = canonical_venue(venue)
                budget = None
                if canonical in groups:
                    exchange, group = groups[canonical]
                    budget = shared_budget_actor(
                        exchange, group, mode.venue_config(canonical).rate_limits.pools,
                        limit_scale, namespace)
                handles[venue] = remote_cls.options(
                    **venue_actor_options(canonical, namespace, nodes.get(venue))
                ).remote(canonical, execution_mode, mode, None, limit_scale, budget)
            except Exception as exc:  # noqa: BLE001 - one venue never sinks the others
                log.warning("venue actor for %s not started: %s", venue, exc)
                handles[venue] = None
        return handles


def _groups(mode: ModeConfig, venues: list[str]) -> dict[str, tuple[str, str]]:
    """The shared budget groups of the mode's venues (and of ``venues``), by canonical id."""
    configs = {}
    for venue in {canonical_venue(v) for v in [*mode.venues, *venues]}:
        try:
            configs[venue] = mode.venue_config(venue)
        except KeyError:
            continue  # an unknown venue: its spawn reports it
    return shared_groups(configs)
