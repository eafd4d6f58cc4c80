"""TransferPositionInterface: the desk's wallets and money in transit."""

from __future__ import annotations

from factory.errors import BackendNotAvailableError
from factory.interfaces.base import BasePositionInterface, PositionBackend

__all__ = ["TransferPositionInterface"]


class TransferPositionInterface(BasePositionInterface):
    """Native and ERC-20 balances of the desk's addresses plus transfers not yet landed."""

    kind = "transfer"

    def _live_backend(self) -> PositionBackend:
        raise BackendNotAvailableError(
            f"{self.venue}: the live wallet backend is not available yet; "
            "use execution_mode='backtest'"
        )
