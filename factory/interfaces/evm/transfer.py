"""TransferPositionInterface: the desk's wallets and money in transit."""

from __future__ import annotations

from factory.interfaces.base import BasePositionInterface, PositionBackend

__all__ = ["TransferPositionInterface"]


class TransferPositionInterface(BasePositionInterface):
    """Native and ERC-20 balances of the desk's addresses plus transfers not yet landed.

    Live: `factory.interfaces.evm.transfer_live.TransferLiveBackend` (balances in one Multicall3
    aggregate3 at a pinned block; the node's pending pool; CEX deposits and withdrawals in
    transit through the CEX interfaces named in ``options.transfer_venues``).
    """

    kind = "transfer"

    _transit_sources = None

    def set_transit_sources(self, sources) -> None:
        """Read CEX transfers in transit from these sources (venue -> object with
        ``async get_transfers_in_transit()``) instead of building CEX interfaces of its own.

        Live venue actors pass the CEX venue actors here, so every CEX call goes through that
        venue's one rate limiter. Call before the first snapshot.
        """
        if self._backend is not None:
            raise RuntimeError(f"{self.venue}: transit sources must be set before the first call")
        self._transit_sources = dict(sources)

    def _live_backend(self) -> PositionBackend:
        from factory.interfaces.evm.transfer_live import TransferLiveBackend

        return TransferLiveBackend(self.venue_config, self.mode_config,
                                   sources=self._transit_sources)
