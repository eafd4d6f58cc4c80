"""The lending family (pure_lending_usdt): the capital supplied to AAVE v3."""

from __future__ import annotations

from actors.backtest.accounting import Book
from actors.backtest.strategies.base import Strategy
from actors.backtest.strategies.registry import register
from factory.config import ModeConfig

__all__ = ["LendingStrategy"]


@register("lending")
class LendingStrategy(Strategy):
    """pure_lending_usdt: supply the capital to AAVE v3; it grows with the liquidity index."""

    def __init__(self, config: ModeConfig, step_s: int = 3600):
        super().__init__(config, step_s)
        self.reserve = config.share_class
        self.atoken = f"aave_v3:aToken:a{self.reserve}"

    def columns(self) -> list[str]:
        return [f"aave.{self.reserve}.liquidity_index"]

    def open(self, book: Book) -> None:
        book.transfer(self.capital_key, self.atoken, book.get(self.capital_key))
