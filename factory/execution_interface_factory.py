"""ExecutionInterfaceFactory: the only place that turns config into position interfaces.

Routing is data: a venue's ``kind`` (from configs/venues/<venue>.yaml or the mode's
``venue_settings``) picks the interface class from `INTERFACE_REGISTRY`. Adding a venue is one
config file (and, for a new kind, one interface module registered here).
"""

from __future__ import annotations

import logging
from typing import Any

from factory.config import _ALIASES, ModeConfig, resolve_config, venue_defaults
from factory.interfaces.base import BasePositionInterface
from factory.interfaces.cex import CEXPositionInterface
from factory.interfaces.onchain import OnChainPositionInterface
from factory.interfaces.transfer import TransferPositionInterface
from factory.positions import ExecutionMode

__all__ = ["INTERFACE_REGISTRY", "ExecutionInterfaceFactory", "register_interface"]

log = logging.getLogger(__name__)

INTERFACE_REGISTRY: dict[str, type[BasePositionInterface]] = {}


def register_interface(kind: str, cls: type[BasePositionInterface]) -> None:
    """Register the interface class for a venue kind; a kind registers once."""
    if kind in INTERFACE_REGISTRY and INTERFACE_REGISTRY[kind] is not cls:
        raise ValueError(f"venue kind {kind!r} is already registered to {INTERFACE_REGISTRY[kind]}")
    INTERFACE_REGISTRY[kind] = cls


register_interface("cex", CEXPositionInterface)
register_interface("onchain", OnChainPositionInterface)
register_interface("transfer", TransferPositionInterface)


def canonical_venue(venue: str) -> str:
    """Return the canonical id of a venue name (``aave`` -> ``aave_v3``)."""
    return _ALIASES.get(venue, venue)


class ExecutionInterfaceFactory:
    """Builds one position interface per venue, for live or backtest execution.

    The factory holds no state of its own, so an instance can be handed to actors (the
    PositionMonitor receives it) and pickled freely.
    """

    @staticmethod
    def supported_venues(config: ModeConfig | dict | None = None) -> list[str]:
        """Return the venue ids this factory can build, aliases included."""
        mode = resolve_config(config)
        ids = set(venue_defaults()) | set(mode.venue_settings) | set(_ALIASES)
        return sorted(ids)

    @staticmethod
    def create_position_interface(
        venue: str, execution_mode: ExecutionMode, config: ModeConfig | dict | None
    ) -> BasePositionInterface:
        """Build the position interface for one venue.

        Args:
            venue: venue id (``binance``, ``aave_v3`` or its alias ``aave``...).
            execution_mode: ``live`` or ``backtest``.
            config: a loaded `ModeConfig` or a plain dict validated into one; venues without
                settings use the shipped defaults.

        Raises:
            ValueError: unsupported venue or execution mode.
            ConfigError: the config dict is invalid.
        """
        if execution_mode not in ("live", "backtest"):
            raise ValueError(f"execution_mode must be 'live' or 'backtest', got {execution_mode!r}")
        mode = resolve_config(config)
        canonical = canonical_venue(venue)
        known = set(venue_defaults()) | set(mode.venue_settings)
        if canonical not in known:
            supported = ", ".join(ExecutionInterfaceFactory.supported_venues(mode))
            raise ValueError(
                f"Unsupported venue for position monitoring: {venue} (supported: {supported})"
            )
        venue_config = mode.venue_config(canonical)
        cls = INTERFACE_REGISTRY.get(venue_config.kind)
        if cls is None:
            raise ValueError(
                f"Unsupported venue for position monitoring: {venue} "
                f"(no interface registered for kind {venue_config.kind!r})"
            )
        return cls(canonical, execution_mode, venue_config, mode)

    @staticmethod
    def get_position_interfaces(
        venues: list[str], execution_mode: ExecutionMode, config: ModeConfig | dict | None
    ) -> dict[str, BasePositionInterface | None]:
        """Build interfaces for several venues; a failing venue maps to None and is logged."""
        mode = resolve_config(config)
        out: dict[str, BasePositionInterface | None] = {}
        for venue in venues:
            try:
                out[venue] = ExecutionInterfaceFactory.create_position_interface(
                    venue, execution_mode, mode
                )
            except Exception as exc:  # noqa: BLE001 - one venue never sinks the others
                log.warning("position interface for %s not created: %s", venue, exc)
                out[venue] = None
        return out

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
        restarted by Ray when its process dies.
        """
        import ray

        from actors.options import venue_actor_options
        from actors.venue import VenuePositionActor

        mode = resolve_config(config)
        remote_cls = ray.remote(VenuePositionActor)
        handles: dict[str, Any] = {}
        for venue in venues:
            try:
                # validate routing here, in the caller, so a bad venue fails fast and clearly
                ExecutionInterfaceFactory.create_position_interface(venue, execution_mode, mode)
                canonical = canonical_venue(venue)
                handles[venue] = remote_cls.options(
                    **venue_actor_options(canonical, namespace)
                ).remote(canonical, execution_mode, mode, None, limit_scale)
            except Exception as exc:  # noqa: BLE001 - one venue never sinks the others
                log.warning("venue actor for %s not started: %s", venue, exc)
                handles[venue] = None
        return handles

    def __reduce__(self) -> tuple[Any, ...]:
        return (ExecutionInterfaceFactory, ())

    def __repr__(self) -> str:
        return "ExecutionInterfaceFactory()"
