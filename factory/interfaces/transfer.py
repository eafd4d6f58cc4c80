"""TransferPositionInterface: the desk's wallets and money in transit."""

from __future__ import annotations

from factory.interfaces.base import BasePositionInterface, PositionBackend

__all__ = ["TransferPositionInterface"]


class TransferPositionInterface(BasePositionInterface):
    """Native and ERC-20 balances of the desk's addresses plus transfers not yet landed.

    Live: `factory.interfaces.transfer_live.TransferLiveBackend` (balances in one Multicall3
    aggregate3 at a pinned block; the node's pending pool; CEX deposits and withdrawals in
    transit through the CEX interfaces named in ``options.transfer_venues``).
    """

    kind = "transfer"

    def _live_backend(self) -> PositionBackend:
        from factory.interfaces.transfer_live import TransferLiveBackend

        return TransferLiveBackend(self.venue_config, self.mode_config)
