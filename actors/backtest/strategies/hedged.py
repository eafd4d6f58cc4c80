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
from actors.backtest.strategies.base import WALLET, Strategy, _lst_of, net_delta
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
        self.u = self.s.underlying or "ETH"
        self.lst_key, self.lst = _lst_of(config)
        self.leveraged = self.s.target_ltv > 0
        self.ltv = self.s.target_ltv
        self.akey = f"{AAVE}:aToken:a{self.lst}"
        self.dkey = f"{AAVE}:debtToken:debtW{self.u}"
        self.weth = f"{WALLET}:BaseToken:W{self.u}"
        self.usdt = self._cash_key(WALLET)
        self.perp_keys = {v: f"{v}:Perp:{self.u}USDT" for v in self.splits}
        if self.leveraged:
            if self.ltv >= self.s.max_ltv:
                raise ConfigError(f"{config.mode}: strategy.target_ltv {self.ltv} must be below "
                                  f"strategy.max_ltv {self.s.max_ltv}")
            hf = self.s.liquidation_threshold / self.ltv
            if hf <= self.th.min_health_factor:
                raise ConfigError(
                    f"{config.mode}: strategy.target_ltv {self.ltv} gives a health factor of "
                    f"{hf:.3f}, not above thresholds.min_health_factor "
                    f"{self.th.min_health_factor}: the loop would de-lever at every step"
                )

    def columns(self) -> list[str]:
        cols = [f"spot.{self.u}", f"perp.{self.u}", f"funding.{self.u}", f"lst.{self.lst}"]
        if self.leveraged:
            cols += [f"aave.{self.lst}.liquidity_index", f"aave.W{self.u}.borrow_index"]
        return cols

    def net_eth(self, book: Book) -> float:
        """Net ETH held in the carry leg: LST and collateral at the rate, minus debt."""
        r = book.tick.lst[self.lst]
        return (book.get(self.lst_key) + book.get(self.akey)) * r - book.get(self.dkey)

    def open(self, book: Book) -> None:
        self._rebalance(book, resize=True, relever=True)

    def decide(self, step: int, book: Book, snapshot: PortfolioSnapshot) -> bool:
        if not self._due(step, snapshot):
            return False
        equity = book.equity()
        n = self.net_eth(book)
        value = n * book.tick.usd[self.u]
        drift = abs(value - self.s.lst_share * equity) > self.th.position_deviation * equity
        unhedged = abs(net_delta(snapshot, self.u)) > self.th.delta_tolerance * max(n, 1e-12)
        relever = False
        if self.leveraged:
            ltv = snapshot.risk.ltv.get(AAVE)
            hf = snapshot.risk.health_factor.get(AAVE)
            relever = (ltv is not None and abs(ltv - self.ltv) > self.s.ltv_band) or (
                hf is not None and hf < self.th.min_health_factor
            )
        if not (drift or unhedged or relever or self._margin_off(snapshot)):
            return False
        self._rebalance(book, resize=drift, relever=relever)
        self.rebalances += 1
        return True

    def _rebalance(self, book: Book, resize: bool, relever: bool) -> None:
        self.gather_cash(book)
        n = self.net_eth(book)
        target = self.s.lst_share * book.equity() / book.tick.usd[self.u] if resize else n
        if self.leveraged:
            if resize or relever:
                self._set_loop(book, target)
        elif resize:
            self._set_lst(book, target)
        self.set_hedge(book, self.perp_keys, self.net_eth(book))
        self.distribute_margin(book, self.perp_keys)

    def _set_lst(self, book: Book, n_target: float) -> None:
        r, price = book.tick.lst[self.lst], book.tick.usd[self.u]
        dw = n_target / r - book.get(self.lst_key)
        if dw > 0:
            book.swap(self.usdt, self.lst_key, dw * r * price / (1 - self.fee), self.fee)
        elif dw < 0:
            book.swap(self.lst_key, self.usdt, -dw, self.fee)

    def _set_loop(self, book: Book, n_target: float) -> None:
        """Move the AAVE loop to net ETH ``n_target`` at ``target_ltv``."""
        t = book.tick
        r, price, f, ltv = t.lst[self.lst], t.usd[self.u], self.fee, self.ltv
        w_t = n_target / (r * (1 - ltv))
        d_t = w_t * r * ltv
        debt = book.get(self.dkey)
        if d_t > debt:  # borrow WETH, mint weETH (no fee), supply
            book.borrow(self.dkey, self.weth, d_t - debt)
            got = book.swap(self.weth, self.lst_key, d_t - debt, 0.0)
            book.transfer(self.lst_key, self.akey, got)
        elif d_t < debt:  # withdraw weETH, sell for WETH (fee), repay
            sell = (debt - d_t) / (r * (1 - f))
            book.transfer(self.akey, self.lst_key, sell)
            got = book.swap(self.lst_key, self.weth, sell, f)
            book.repay(self.dkey, self.weth, got)
        w = book.get(self.akey)
        if w_t > w:  # more equity in the loop: buy weETH with USDT
            got = book.swap(self.usdt, self.lst_key, (w_t - w) * r * price / (1 - f), f)
            book.transfer(self.lst_key, self.akey, got)
        elif w_t < w:  # less: withdraw and sell weETH for USDT
            book.transfer(self.akey, self.lst_key, w - w_t)
            book.swap(self.lst_key, self.usdt, w - w_t, f)
