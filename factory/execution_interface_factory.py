"""ExecutionInterfaceFactory: the only place that turns config into position interfaces.

Routing is data: a venue's ``kind`` (from configs/venues/<venue>.yaml or the mode's
``venue_settings``) picks the interface class from `INTERFACE_REGISTRY`. Adding a venue is one
config file (and, for a new kind, one interface module registered here).
"""

from __future__ import annotations

import logging
from typing import Any

from factory.config import ModeConfig, resolve_config
from factory.interfaces.base import BasePositionInterface
from factory.interfaces.cex.interface import CEXPositionInterface
from factory.interfaces.evm.onchain import OnChainPositionInterface
from factory.interfaces.evm.transfer import TransferPositionInterface
from factory.interfaces.registry import (
    INTERFACE_REGISTRY,
    create_position_interface,
    register_interface,
    supported_venues,
)
from factory.positions import ExecutionMode

__all__ = ["INTERFACE_REGISTRY", "ExecutionInterfaceFactory", "register_interface"]

log = logging.getLogger(__name__)

register_interface("cex", CEXPositionInterface)
register_interface("onchain", OnChainPositionInterface)
register_interface("transfer", TransferPositionInterface)


class ExecutionInterfaceFactory:
    """Builds one position interface per venue, for live or backtest execution.

    The factory holds no state of its own, so an instance can be handed to actors (the
    PositionMonitor receives it) and pickled freely.
    """

    @staticmethod
    def supported_venues(config: ModeConfig | dict | None = None) -> list[str]:
        """Return the venue ids this factory can build, aliases included."""
        return supported_venues(config)

    @staticmethod
    def create_position_interface(
        venue: str, execution_mode: ExecutionMode, config: ModeConfig | dict | None
    ) -> BasePositionInterface:
        """Build the position interface for one venue (`factory.interfaces.registry`).

        Raises:
            ValueError: unsupported venue or execution mode.
            ConfigError: the config dict is invalid.
        """
        return create_position_interface(venue, execution_mode, config)

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

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), ())

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
