"""CEXPositionInterface: binance, bybit and okx through ccxt's async client."""

from __future__ import annotations

from factory.errors import BackendNotAvailableError
from factory.interfaces.base import BasePositionInterface, PositionBackend

__all__ = ["CEXPositionInterface"]


class CEXPositionInterface(BasePositionInterface):
    """Spot balances, perp positions, funding and transfers of one exchange account."""

    kind = "cex"

    def _live_backend(self) -> PositionBackend:
        raise BackendNotAvailableError(
            f"{self.venue}: the live CEX backend is not available yet; use execution_mode='backtest'"
        )
