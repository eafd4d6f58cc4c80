"""Push the book into the venues' SimulatedLedgers, as a live venue would report it.

Each step: the amounts that changed go to ``ledger.apply`` as deltas (trades, funding, AAVE
accrual); perps get their mark, entry, unrealized PnL, notional and liquidation price; LSTs and
LST-backed aTokens their rate; CEX venues an account with margin balance (wallet + uPnL) and
maintenance margin; AAVE an account with collateral, debt, LTV and health factor. The monitor
then reads the ledgers through the position interfaces, exactly as it reads venues live.
"""

from __future__ import annotations

from collections.abc import Mapping

from actors.backtest.accounting import Book, Kind
from factory.interfaces.simulated import SimulatedLedger
from factory.positions import AccountInfo, PositionKey

__all__ = ["MAINTENANCE_MARGIN_RATE", "LedgerSync", "liquidation_price"]

#: Maintenance margin rate of the perp legs (Binance BTCUSDT/ETHUSDT first tier: 0.4%; bybit
#: and okx are close). Used for the reported maintenance margin and liquidation prices.
MAINTENANCE_MARGIN_RATE = 0.004


def liquidation_price(wallet: float, qty: float, entry: float, mmr: float) -> float | None:
    """Return the mark at which margin balance = maintenance margin for one isolated-per-venue
    perp (``wallet + qty x (L - entry) = mmr x |qty| x L``), or None when there is none."""
    if qty < 0:
        liq = (wallet - qty * entry) / (-qty * (1.0 + mmr))
    elif qty > 0:
        liq = (qty * entry - wallet) / (qty * (1.0 - mmr))
    else:
        return None
    return liq if liq > 0 else None


class LedgerSync:
    """Mirror a `Book` into per-venue ledgers.

    Args:
        book: the simulator's book.
        ledgers: venue -> SimulatedLedger (``monitor.interfaces[venue].ledger``).
        kinds: venue -> kind (``cex``, ``onchain``, ``transfer``).
        liquidation_threshold: AAVE liquidation threshold used for the health factor.
        max_ltv: AAVE maximum LTV of the collateral (reported as the account's ``ltv``, as
            ``Pool.getUserAccountData`` does).
        mmr: maintenance margin rate of the perp legs.
    """

    def __init__(
        self,
        book: Book,
        ledgers: Mapping[str, SimulatedLedger],
        kinds: Mapping[str, str],
        liquidation_threshold: float,
        max_ltv: float,
        mmr: float = MAINTENANCE_MARGIN_RATE,
    ):
        self.book = book
        self.ledgers = dict(ledgers)
        self.kinds = dict(kinds)
        self.liquidation_threshold = liquidation_threshold
        self.max_ltv = max_ltv
        self.mmr = mmr
        self._synced: dict[str, float] = {}
        self._rates: dict[str, float] = {}
        self._keys: dict[str, PositionKey] = {}  # validated once: the ledgers take the fast path

    def _position_key(self, key: str) -> PositionKey:
        position_key = self._keys.get(key)
        if position_key is None:
            position_key = self._keys[key] = PositionKey(key)
        return position_key

    def synced(self) -> dict[str, float]:
        """Return what the ledgers hold (as this mirror applied it), zeros dropped."""
        return {k: v for k, v in self._synced.items() if v != 0.0}

    def push(self) -> None:
        """Apply the book's changes since the last push, then refresh marks and accounts."""
        book = self.book
        if book.changed:
            per_venue: dict[str, dict[str, float]] = {}
            for key in book.changed:
                old = self._synced.get(key, 0.0)
                change = book.amounts.get(key, 0.0) - old
                if change != 0.0:
                    venue = book.spec(key)[3]
                    per_venue.setdefault(venue, {})[self._position_key(key)] = change
                    self._synced[key] = old + change
            book.changed.clear()
            for venue, deltas in per_venue.items():
                ledger = self.ledgers.get(venue)
                if ledger is None:
                    raise ValueError(f"the strategy uses venue {venue!r}, not enabled in the mode")
                ledger.apply(deltas)
        self._mark()

    def _mark(self) -> None:
        book, tick = self.book, self.book.tick
        per_venue: dict[str, list[str]] = {}
        for key, amount in self._synced.items():
            if amount != 0.0:
                per_venue.setdefault(book.spec(key)[3], []).append(key)
        for venue, keys in per_venue.items():
            kind = self.kinds.get(venue)
            details: dict[str, dict[str, float]] = {}
            account = None
            if kind == "cex":
                details, account = self._cex(keys)
            elif any(book.spec(k)[0] in (Kind.ATOKEN, Kind.DEBT) for k in keys):
                details, account = self._aave(keys)
            for key in keys:
                token = book.spec(key)[1]
                rate = tick.lst.get(token)
                if rate is not None and self._rates.get(key) != rate:
                    details.setdefault(self._position_key(key), {})["rate"] = rate
                    self._rates[key] = rate
            if details or account is not None:
                self.ledgers[venue].mark(details, account)

    def _cex(self, keys: list[str]):
        book, tick = self.book, self.book.tick
        perps = [k for k in keys if book.spec(k)[0] == Kind.PERP]
        cash = book.amounts.get(f"{book.spec(keys[0])[3]}:BaseToken:USDT", 0.0)
        details: dict[str, dict[str, float]] = {}
        upnl_total = notional_total = 0.0
        for key in perps:
            qty = book.amounts[key]
            mark = book.mark(key, tick)
            entry = book.entry.get(key, 0.0)
            upnl = qty * (mark - entry)
            notional = abs(qty) * mark
            upnl_total += upnl
            notional_total += notional
            detail = {"mark_price": mark, "entry_price": entry, "unrealized_pnl": upnl,
                      "notional": notional}
            if len(perps) == 1:
                liq = liquidation_price(cash, qty, entry, self.mmr)
                if liq is not None:
                    detail["liquidation_price"] = liq
            details[self._position_key(key)] = detail
        account = AccountInfo(
            quote="USDT",
            margin_balance=cash + upnl_total,
            maintenance_margin=self.mmr * notional_total,
        )
        return details, account

    def _aave(self, keys: list[str]):
        book, tick = self.book, self.book.tick
        collateral = debt = 0.0
        for key in keys:
            kind, token, _, _ = book.spec(key)
            if kind == Kind.ATOKEN:
                collateral += book.amounts[key] * tick.unit_usd(token)
            elif kind == Kind.DEBT:
                debt += book.amounts[key] * tick.unit_usd(token)
        account = AccountInfo(
            quote="USD",
            total_collateral=collateral,
            total_debt=debt,
            health_factor=collateral * self.liquidation_threshold / debt if debt > 0 else None,
            ltv=self.max_ltv,
            liquidation_threshold=self.liquidation_threshold,
        )
        return {}, account
