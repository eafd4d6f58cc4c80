"""Position interfaces: one per venue, the same classes live and in backtests."""

from factory.interfaces.base import BasePositionInterface, PositionBackend
from factory.interfaces.cex.interface import CEXPositionInterface
from factory.interfaces.evm.onchain import OnChainPositionInterface
from factory.interfaces.evm.transfer import TransferPositionInterface
from factory.interfaces.simulated import SimulatedBackend, SimulatedLedger

__all__ = [
    "BasePositionInterface",
    "CEXPositionInterface",
    "OnChainPositionInterface",
    "PositionBackend",
    "SimulatedBackend",
    "SimulatedLedger",
    "TransferPositionInterface",
]
