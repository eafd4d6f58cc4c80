"""basis-monitor's builders: config, domain models, the factory and the interfaces it makes."""

from factory.config import ModeConfig, VenueConfig, load_mode, load_venue, resolve_config
from factory.errors import BasisError, ConfigError, MissingCredentialError, VenueError
from factory.execution_interface_factory import ExecutionInterfaceFactory
from factory.interfaces import (
    BasePositionInterface,
    CEXPositionInterface,
    OnChainPositionInterface,
    TransferPositionInterface,
)
from factory.positions import (
    PortfolioSnapshot,
    Position,
    PositionKey,
    VenueSnapshot,
)

__all__ = [
    "BasePositionInterface",
    "BasisError",
    "CEXPositionInterface",
    "ConfigError",
    "ExecutionInterfaceFactory",
    "MissingCredentialError",
    "ModeConfig",
    "OnChainPositionInterface",
    "PortfolioSnapshot",
    "Position",
    "PositionKey",
    "TransferPositionInterface",
    "VenueConfig",
    "VenueError",
    "VenueSnapshot",
    "load_mode",
    "load_venue",
    "resolve_config",
]
