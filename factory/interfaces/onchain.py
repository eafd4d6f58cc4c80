"""OnChainPositionInterface: AAVE v3, ether.fi weETH and Lido wstETH through web3's AsyncWeb3."""

from __future__ import annotations

from factory.errors import BackendNotAvailableError
from factory.interfaces.base import BasePositionInterface, PositionBackend

__all__ = ["OnChainPositionInterface"]


class OnChainPositionInterface(BasePositionInterface):
    """Token balances, AAVE supply/debt/health and LST rates of the desk's addresses."""

    kind = "onchain"

    def _live_backend(self) -> PositionBackend:
        raise BackendNotAvailableError(
            f"{self.venue}: the live on-chain backend is not available yet; "
            "use execution_mode='backtest'"
        )
