"""OnChainPositionInterface: AAVE v3, ether.fi weETH and Lido wstETH through web3's AsyncWeb3."""

from __future__ import annotations

from factory.interfaces.base import BasePositionInterface, PositionBackend

__all__ = ["OnChainPositionInterface"]


class OnChainPositionInterface(BasePositionInterface):
    """Token balances, AAVE supply/debt/health and LST rates of the desk's addresses.

    Live: `factory.interfaces.evm.onchain_live.OnChainLiveBackend` (one Multicall3 aggregate3 per
    snapshot at a pinned block). Credentials are read on the first call: the RPC URL from
    ``credentials.rpc_url_env`` and the desk's addresses from ``credentials.addresses_env``.
    """

    kind = "onchain"

    def _live_backend(self) -> PositionBackend:
        from factory.interfaces.evm.onchain_live import OnChainLiveBackend

        return OnChainLiveBackend(self.venue_config)
