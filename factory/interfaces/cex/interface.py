"""CEXPositionInterface: binance, bybit and okx through ccxt's async client.

Live mode reads the account through `CEXLiveBackend` (``factory.interfaces.cex.live``);
backtest mode uses the simulated ledger like every interface. Rate limiting belongs to the
caller: `set_request_hooks` installs the calls made around every HTTP request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from factory.interfaces.base import BasePositionInterface, PositionBackend
from factory.interfaces.cex.hooks import AfterResponse, BeforeRequest, RequestHooks
from factory.interfaces.cex.mapping import FundingPayment
from factory.positions import Transfer

__all__ = ["CEXPositionInterface"]


class CEXPositionInterface(BasePositionInterface):
    """Spot balances, perp positions, funding and transfers of one exchange account.

    Keys: ``venue:BaseToken:SYM`` for wallet balances (summed over the venue's wallets),
    ``venue:Perp:BASEQUOTE`` for linear perps with the signed base quantity.
    """

    kind = "cex"

    def __init__(self, *args: Any, hooks: RequestHooks | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._hooks = hooks or RequestHooks()

    def _live_backend(self) -> PositionBackend:
        from factory.interfaces.cex.live import CEXLiveBackend

        return CEXLiveBackend(self.venue_config, hooks=self._hooks)

    def set_request_hooks(
        self, before: BeforeRequest | None = None, after: AfterResponse | None = None
    ) -> None:
        """Install the calls made around every HTTP request (see `factory.interfaces.cex.hooks`).

        ``await before(endpoint)`` runs before each request and may wait or raise a typed
        error; ``await after(endpoint, status, headers)`` runs when it is over.
        """
        self._hooks = RequestHooks(before=before, after=after)
        if self._backend is not None and hasattr(self._backend, "hooks"):
            self._backend.hooks = self._hooks

    async def get_funding_history(
        self, since: datetime | str | float | None = None
    ) -> list[FundingPayment]:
        """Funding payments on the venue's perps since ``since`` (received > 0).

        The simulated backend (backtest) has none and returns an empty list.
        """
        fetch = getattr(self.backend, "fetch_funding_history", None)
        return [] if fetch is None else await fetch(since)

    async def get_transfers_in_transit(self) -> list[Transfer]:
        """Deposits and withdrawals not yet credited, with asset, amount, ends, id and age.

        The simulated backend (backtest) has none and returns an empty list.
        """
        fetch = getattr(self.backend, "fetch_transfers_in_transit", None)
        return [] if fetch is None else await fetch()
