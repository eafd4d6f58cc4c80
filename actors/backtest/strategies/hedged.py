"""The hedged_staking family: staking carry hedged with perps, plain or looped on AAVE (the two
usdt_eth_staking modes).

Simple: ``lst_share`` of equity buys weETH (a spot trade, fee); the rest is CEX margin for ETH
perp shorts of the same ETH size (weETH x rate). Earns staking + funding.

Leveraged: the same net ETH is held as an AAVE v3 loop (weETH collateral, WETH debt, eMode) at
``target_ltv`` L: collateral value = N/(1-L), debt = N x L/(1-L) for a net ETH value N
(DOMAIN.md; the leverage is 1/(1-L), not L/(1-L)). Borrowed WETH mints weETH at the rate
(no fee); unwinding sells weETH for WETH (fee). The perps hedge the net ETH
(collateral x rate - debt).
"""

from __future__ import annotations

from actors.backtest.accounting import Book
from actors.backtest.strategies.base import WALLET, Strategy, lst_of, net_delta
from actors.backtest.strategies.registry import register
from factory.config import ModeConfig
from factory.errors import ConfigError
from factory.positions import PortfolioSnapshot

__all__ = ["HedgedStakingStrategy"]

AAVE = "aave_v3"


@register("hedged_staking")
class HedgedStakingStrategy(Strategy):
    """usdt_eth_staking_hedged_simple (``target_ltv`` 0) and _leveraged (``target_ltv`` > 0)."""

    def __init__(self, config: ModeConfig, step_s: int = 3600):
        super().__init__(config, step_s)
        self.underlying = self.settings.underlying or "ETH"
        self.lst_key, self.lst_symbol = lst_of(config)
        self.leveraged = self.settings.target_ltv > 0
        self.target_ltv = self.settings.target_ltv
        self.collateral_key = f"{AAVE}:aToken:a{self.lst_symbol}"
        self.debt_key = f"{AAVE}:debtToken:debtW{self.underlying}"
        self.borrowed_key = f"{WALLET}:BaseToken:W{self.underlying}"
        self.wallet_cash_key = self._cash_key(WALLET)
        self.perp_keys = {v: f"{v}:Perp:{self.underlying}USDT" for v in self.splits}
        if self.leveraged:
            if self.target_ltv >= self.settings.max_ltv:
                raise ConfigError(f"{config.mode}: strategy.target_ltv {self.target_ltv} must be "
                                  f"below strategy.max_ltv {self.settings.max_ltv}")
            health_factor = self.settings.liquidation_threshold / self.target_ltv
            if health_factor <= self.thresholds.min_health_factor:
                raise ConfigError(
                    f"{config.mode}: strategy.target_ltv {self.target_ltv} gives a health factor "
                    f"of {health_factor:.3f}, not above thresholds.min_health_factor "
                    f"{self.thresholds.min_health_factor}: the loop would de-lever at every step"
                )

    def columns(self) -> list[str]:
        under = self.underlying
        cols = [f"spot.{under}", f"perp.{under}", f"funding.{under}", f"lst.{self.lst_symbol}"]
        if self.leveraged:
            cols += [f"aave.{self.lst_symbol}.liquidity_index", f"aave.W{under}.borrow_index"]
        return cols

    def net_eth(self, book: Book) -> float:
        """Net ETH held in the carry leg: LST and collateral at the rate, minus debt."""
        rate = book.tick.lst[self.lst_symbol]
        held = book.get(self.lst_key) + book.get(self.collateral_key)
        return held * rate - book.get(self.debt_key)

    def open(self, book: Book) -> None:
        self._rebalance(book, resize=True, relever=True)

    def decide(self, step: int, book: Book, snapshot: PortfolioSnapshot) -> bool:
        if not self._due(step, snapshot):
            return False
        limits = self.thresholds
        equity = book.equity()
        net_eth = self.net_eth(book)
        value = net_eth * book.tick.usd[self.underlying]
        drift = abs(value - self.settings.lst_share * equity) > limits.position_deviation * equity
        unhedged = (abs(net_delta(snapshot, self.underlying))
                    > limits.delta_tolerance * max(net_eth, 1e-12))
        relever = False
        if self.leveraged:
            ltv = snapshot.risk.ltv.get(AAVE)
            health_factor = snapshot.risk.health_factor.get(AAVE)
            relever = (ltv is not None and abs(ltv - self.target_ltv) > self.settings.ltv_band) or (
                health_factor is not None and health_factor < limits.min_health_factor
            )
        if not (drift or unhedged or relever or self._margin_off(snapshot)):
            return False
        self._rebalance(book, resize=drift, relever=relever)
        self.rebalances += 1
        return True

    def _rebalance(self, book: Book, resize: bool, relever: bool) -> None:
        self.gather_cash(book)
        net_eth = self.net_eth(book)
        price = book.tick.usd[self.underlying]
        target = self.settings.lst_share * book.equity() / price if resize else net_eth
        if self.leveraged:
            if resize or relever:
                self._set_loop(book, target)
        elif resize:
            self._set_lst(book, target)
        self.set_hedge(book, self.perp_keys, self.net_eth(book))
        self.distribute_margin(book, self.perp_keys)

    def _set_lst(self, book: Book, net_eth_target: float) -> None:
        rate, price = book.tick.lst[self.lst_symbol], book.tick.usd[self.underlying]
        lst_change = net_eth_target / rate - book.get(self.lst_key)
        if lst_change > 0:
            cost = lst_change * rate * price / (1 - self.fee)
            book.swap(self.wallet_cash_key, self.lst_key, cost, self.fee)
        elif lst_change < 0:
            book.swap(self.lst_key, self.wallet_cash_key, -lst_change, self.fee)

    def _set_loop(self, book: Book, net_eth_target: float) -> None:
        """Move the AAVE loop to net ETH ``net_eth_target`` at ``target_ltv``."""
        tick = book.tick
        rate, price = tick.lst[self.lst_symbol], tick.usd[self.underlying]
        fee, ltv = self.fee, self.target_ltv
        collateral_target = net_eth_target / (rate * (1 - ltv))
        debt_target = collateral_target * rate * ltv
        debt = book.get(self.debt_key)
        if debt_target > debt:  # borrow WETH, mint weETH (no fee), supply
            book.borrow(self.debt_key, self.borrowed_key, debt_target - debt)
            got = book.swap(self.borrowed_key, self.lst_key, debt_target - debt, 0.0)
            book.transfer(self.lst_key, self.collateral_key, got)
        elif debt_target < debt:  # withdraw weETH, sell for WETH (fee), repay
            sell = (debt - debt_target) / (rate * (1 - fee))
            book.transfer(self.collateral_key, self.lst_key, sell)
            got = book.swap(self.lst_key, self.borrowed_key, sell, fee)
            book.repay(self.debt_key, self.borrowed_key, got)
        collateral = book.get(self.collateral_key)
        if collateral_target > collateral:  # more equity in the loop: buy weETH with USDT
            cost = (collateral_target - collateral) * rate * price / (1 - fee)
            got = book.swap(self.wallet_cash_key, self.lst_key, cost, fee)
            book.transfer(self.lst_key, self.collateral_key, got)
        elif collateral_target < collateral:  # less: withdraw and sell weETH for USDT
            book.transfer(self.collateral_key, self.lst_key, collateral - collateral_target)
            book.swap(self.lst_key, self.wallet_cash_key, collateral - collateral_target, fee)
