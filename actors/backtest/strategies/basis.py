"""The basis family (btc_basis, eth_basis): long spot, short perps split over the venues."""

from __future__ import annotations

from actors.backtest.accounting import Book
from actors.backtest.strategies.base import WALLET, Strategy, net_delta
from actors.backtest.strategies.registry import register
from factory.config import ModeConfig
from factory.errors import ConfigError
from factory.positions import PortfolioSnapshot

__all__ = ["BasisStrategy"]


@register("basis")
class BasisStrategy(Strategy):
    """btc_basis / eth_basis: long spot on the spot venue, short perps split over the venues.

    Sizing keeps spot + margin = equity with margin = ``target_margin_ratio`` x perp notional:
    ``Q = E / (S (1 + fee) + M (target_margin_ratio + fee))``.
    """

    def __init__(self, config: ModeConfig, step_s: int = 3600):
        super().__init__(config, step_s)
        if not self.settings.underlying or not self.settings.spot_venue or not self.splits:
            raise ConfigError(
                f"{config.mode}: a basis mode needs strategy.underlying, strategy.spot_venue "
                "and hedge.splits"
            )
        self.underlying = self.settings.underlying
        self.spot_key = f"{self.settings.spot_venue}:BaseToken:{self.underlying}"
        self.spot_cash = self._cash_key(self.settings.spot_venue)
        self.perp_keys = {v: f"{v}:Perp:{self.underlying}USDT" for v in self.splits}

    def columns(self) -> list[str]:
        under = self.underlying
        return [f"spot.{under}", f"perp.{under}", f"funding.{under}"]

    def target_qty(self, book: Book) -> float:
        tick, under = book.tick, self.underlying
        margin_ratio = self.thresholds.target_margin_ratio
        return book.equity() / (
            tick.usd[under] * (1 + self.fee) + tick.marks[under] * (margin_ratio + self.fee)
        )

    def _set_spot(self, book: Book, qty: float) -> None:
        qty_change = qty - book.get(self.spot_key)
        price = book.tick.usd[self.underlying]
        wallet = self._cash_key(WALLET)
        if qty_change > 0:
            cost = qty_change * price / (1 - self.fee)
            book.transfer(wallet, self.spot_cash, cost)
            book.swap(self.spot_cash, self.spot_key, cost, self.fee)
        elif qty_change < 0:
            got = book.swap(self.spot_key, self.spot_cash, -qty_change, self.fee)
            book.transfer(self.spot_cash, wallet, got)

    def _rebalance(self, book: Book, resize: bool) -> None:
        self.gather_cash(book)
        if resize:
            self._set_spot(book, self.target_qty(book))
        self.set_hedge(book, self.perp_keys, book.get(self.spot_key))
        self.distribute_margin(book, self.perp_keys)

    def open(self, book: Book) -> None:
        self._rebalance(book, resize=True)

    def decide(self, step: int, book: Book, snapshot: PortfolioSnapshot) -> bool:
        if not self._due(step, snapshot):
            return False
        held = book.get(self.spot_key)
        price = book.tick.usd[self.underlying]
        equity = book.equity()
        limits = self.thresholds
        drift = abs(held - self.target_qty(book)) * price > limits.position_deviation * equity
        unhedged = (abs(net_delta(snapshot, self.underlying))
                    > limits.delta_tolerance * max(held, 1e-12))
        if not (drift or unhedged or self._margin_off(snapshot)):
            return False
        self._rebalance(book, resize=drift)
        self.rebalances += 1
        return True
