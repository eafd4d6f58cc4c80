"""The interface registry: which position interface class serves a venue kind, and building one.

`factory.execution_interface_factory` registers the shipped kinds (``cex``, ``onchain``,
``transfer``) when it is imported, which importing the ``factory`` package does. Modules that
build interfaces of other venues (the wallet venue reads CEX transfers in transit) call
`create_position_interface` here rather than importing the factory.
"""

from __future__ import annotations

from factory.config import VENUE_ALIASES, ModeConfig, resolve_config, venue_defaults
from factory.interfaces.base import BasePositionInterface
from factory.positions import ExecutionMode

__all__ = [
    "INTERFACE_REGISTRY",
    "canonical_venue",
    "create_position_interface",
    "register_interface",
    "supported_venues",
]

INTERFACE_REGISTRY: dict[str, type[BasePositionInterface]] = {}


def register_interface(kind: str, cls: type[BasePositionInterface]) -> None:
    """Register the interface class for a venue kind; a kind registers once."""
    if kind in INTERFACE_REGISTRY and INTERFACE_REGISTRY[kind] is not cls:
        raise ValueError(f"venue kind {kind!r} is already registered to {INTERFACE_REGISTRY[kind]}")
    INTERFACE_REGISTRY[kind] = cls


def canonical_venue(venue: str) -> str:
    """Return the canonical id of a venue name (``aave`` -> ``aave_v3``)."""
    return VENUE_ALIASES.get(venue, venue)


def supported_venues(config: ModeConfig | dict | None = None) -> list[str]:
    """Return the venue ids interfaces can be built for, aliases included."""
    mode = resolve_config(config)
    ids = set(venue_defaults()) | set(mode.venue_settings) | set(VENUE_ALIASES)
    return sorted(ids)


def create_position_interface(
    venue: str, execution_mode: ExecutionMode, config: ModeConfig | dict | None
) -> BasePositionInterface:
    """Build the position interface for one venue.

    Args:
        venue: venue id (``binance``, ``aave_v3`` or its alias ``aave``...), or the venue id
            of one of the mode's accounts (``binance.sub1``, routed to its exchange's kind).
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
    known = set(venue_defaults()) | set(mode.venue_settings) | set(mode.account_venues())
    if canonical not in known:
        supported = ", ".join(supported_venues(mode))
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
