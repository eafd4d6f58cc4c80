"""Position interfaces: one per venue, the same classes live and in backtests."""

from factory.interfaces.base import BasePositionInterface, PositionBackend
from factory.interfaces.cex import CEXPositionInterface
from factory.interfaces.onchain import OnChainPositionInterface
from factory.interfaces.simulated import SimulatedBackend, SimulatedLedger
from factory.interfaces.transfer import TransferPositionInterface

__all__ = [
    "BasePositionInterface",
    "CEXPositionInterface",
    "OnChainPositionInterface",
    "PositionBackend",
    "SimulatedBackend",
    "SimulatedLedger",
    "TransferPositionInterface",
]
