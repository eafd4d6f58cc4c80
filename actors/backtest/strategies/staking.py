"""The staking family (eth_staking_only): the ETH capital held as an LST."""

from __future__ import annotations

from actors.backtest.accounting import Book
from actors.backtest.strategies.base import Strategy, lst_of
from actors.backtest.strategies.registry import register
from factory.config import ModeConfig

__all__ = ["StakingStrategy"]


@register("staking")
class StakingStrategy(Strategy):
    """eth_staking_only: mint weETH with the ETH capital (no fee) and hold it; APY in ETH."""

    def __init__(self, config: ModeConfig, step_s: int = 3600):
        super().__init__(config, step_s)
        self.lst_key, self.lst_symbol = lst_of(config)

    def columns(self) -> list[str]:
        return [f"lst.{self.lst_symbol}"]

    def open(self, book: Book) -> None:
        book.swap(self.capital_key, self.lst_key, book.get(self.capital_key), 0.0)
