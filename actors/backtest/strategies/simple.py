"""Backtest strategies for the six modes of DOMAIN.md, reading PortfolioSnapshots to decide.

A strategy opens its positions at the first step (`Strategy.open`) and afterwards may rebalance
(`Strategy.decide`), reading the monitor's `PortfolioSnapshot` for what a live desk watches: net
delta per underlying, CEX margin ratios, the AAVE health factor and LTV. Trades go through the
`Book` (fees, realized PnL); the simulator mirrors them into the venues' ledgers.

Rebalance rules (thresholds from the mode config), checked every ``rebalance_interval_h`` and
at once when a margin ratio falls below ``min_margin_ratio`` or the health factor below
``min_health_factor``; nothing trades unless a rule is breached:

- size drift: the carry leg's value differs from its target by more than
  ``position_deviation`` x equity -> resize to target;
- hedge: |net delta| > ``delta_tolerance`` x gross exposure -> re-hedge the perps;
- margin: a venue's margin ratio outside ``[min_margin_ratio, 2 x target - min]`` -> move cash;
- loop (leveraged): |LTV - ``target_ltv``| > ``ltv_band`` -> re-lever to the target.

``strategy.rebalance: false`` holds the opening positions (a constant hedge) for the whole run.
"""

from __future__ import annotations

from actors.backtest.accounting import Book
from actors.backtest.strategies.base import WALLET, Strategy, _lst_of, net_delta
from actors.backtest.strategies.hedged import HedgedStakingStrategy
from factory.config import ModeConfig
from factory.errors import ConfigError
from factory.positions import PortfolioSnapshot

__all__ = [
    "BasisStrategy",
    "LendingStrategy",
    "StakingStrategy",
    "Strategy",
    "make_strategy",
    "net_delta",
]


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


class StakingStrategy(Strategy):
    """eth_staking_only: mint weETH with the ETH capital (no fee) and hold it; APY in ETH."""

    def __init__(self, config: ModeConfig, step_s: int = 3600):
        super().__init__(config, step_s)
        self.lst_key, self.lst = _lst_of(config)

    def columns(self) -> list[str]:
        return [f"lst.{self.lst}"]

    def open(self, book: Book) -> None:
        book.swap(self.capital_key, self.lst_key, book.get(self.capital_key), 0.0)


class BasisStrategy(Strategy):
    """btc_basis / eth_basis: long spot on the spot venue, short perps split over the venues.

    Sizing keeps spot + margin = equity with margin = ``target_margin_ratio`` x perp notional:
    ``Q = E / (S (1 + fee) + M (target_margin_ratio + fee))``.
    """

    def __init__(self, config: ModeConfig, step_s: int = 3600):
        super().__init__(config, step_s)
        if not self.s.underlying or not self.s.spot_venue or not self.splits:
            raise ConfigError(
                f"{config.mode}: a basis mode needs strategy.underlying, strategy.spot_venue "
                "and hedge.splits"
            )
        self.u = self.s.underlying
        self.spot_key = f"{self.s.spot_venue}:BaseToken:{self.u}"
        self.spot_cash = self._cash_key(self.s.spot_venue)
        self.perp_keys = {v: f"{v}:Perp:{self.u}USDT" for v in self.splits}

    def columns(self) -> list[str]:
        return [f"spot.{self.u}", f"perp.{self.u}", f"funding.{self.u}"]

    def target_qty(self, book: Book) -> float:
        t = book.tick
        m = self.th.target_margin_ratio
        return book.equity() / (t.usd[self.u] * (1 + self.fee) + t.marks[self.u] * (m + self.fee))

    def _set_spot(self, book: Book, qty: float) -> None:
        dq = qty - book.get(self.spot_key)
        price = book.tick.usd[self.u]
        wallet = self._cash_key(WALLET)
        if dq > 0:
            cost = dq * price / (1 - self.fee)
            book.transfer(wallet, self.spot_cash, cost)
            book.swap(self.spot_cash, self.spot_key, cost, self.fee)
        elif dq < 0:
            got = book.swap(self.spot_key, self.spot_cash, -dq, self.fee)
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
        price = book.tick.usd[self.u]
        equity = book.equity()
        drift = abs(held - self.target_qty(book)) * price > self.th.position_deviation * equity
        unhedged = abs(net_delta(snapshot, self.u)) > self.th.delta_tolerance * max(held, 1e-12)
        if not (drift or unhedged or self._margin_off(snapshot)):
            return False
        self._rebalance(book, resize=drift)
        self.rebalances += 1
        return True


def make_strategy(config: ModeConfig, step_s: int = 3600) -> Strategy:
    """Return the strategy of a mode.

    Raises:
        ConfigError: no strategy for the mode's name.
    """
    table: dict[str, type[Strategy]] = {
        "pure_lending_usdt": LendingStrategy,
        "eth_staking_only": StakingStrategy,
        "btc_basis": BasisStrategy,
        "eth_basis": BasisStrategy,
        "usdt_eth_staking_hedged_simple": HedgedStakingStrategy,
        "usdt_eth_staking_hedged_leveraged": HedgedStakingStrategy,
    }
    cls = table.get(config.mode)
    if cls is None:
        raise ConfigError(
            f"mode {config.mode!r}: no backtest strategy (known: {', '.join(sorted(table))})"
        )
    return cls(config, step_s)
