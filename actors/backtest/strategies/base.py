"""What every backtest strategy shares: the `Strategy` base with its rebalance checks, and the
net delta a strategy reads from a snapshot. The strategies themselves are one module per family
(`lending`, `staking`, `basis`, `hedged`), registered in `actors.backtest.strategies.registry`.

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
from factory.assets import underlying_of
from factory.config import ModeConfig
from factory.errors import ConfigError
from factory.positions import PortfolioSnapshot, PositionType

__all__ = ["WALLET", "Strategy", "lst_of", "net_delta"]

WALLET = "wallet"


def net_delta(snapshot: PortfolioSnapshot, underlying: str) -> float:
    """Return the net exposure to ``underlying`` from a snapshot's venue positions.

    LSTs and LST-backed aTokens count at the rate the venue reported, debt negatively, perps by
    their signed quantity (DOMAIN.md, net exposure).
    """
    total = 0.0
    for snap in snapshot.venues.values():
        for key, pos in snap.positions.items():
            if underlying_of(key) != underlying:
                continue
            amount = pos.amount
            if pos.rate is not None and key.type in (PositionType.LST, PositionType.aToken):
                amount *= pos.rate
            total += -amount if key.type == PositionType.debtToken else amount
    return total


def _margin_ratios(snapshot: PortfolioSnapshot) -> list[float]:
    """The margin ratio of every venue that has one; the simulated venues always know it."""
    out = []
    for venue, ratio in snapshot.risk.margin_ratio.items():
        if ratio is None:
            raise RuntimeError(f"{venue}: the simulated margin ratio is unknown")
        out.append(ratio)
    return out


class Strategy:
    """Base: capital location, rebalance cadence and cash distribution over CEX margins.

    Args:
        config: the mode config.
        step_s: the data grid step (seconds).
    """

    def __init__(self, config: ModeConfig, step_s: int = 3600):
        if config.strategy is None:
            raise ConfigError(f"mode {config.mode!r}: strategy: a backtest needs a strategy section")
        self.config = config
        self.settings = config.strategy
        self.thresholds = config.thresholds
        self.fee = self.settings.fee_rate
        self.rebalance_every_steps = max(1, round(self.settings.rebalance_interval_h * 3600 / step_s))
        self.splits = dict(config.hedge.splits)
        self.rebalances = 0

    @property
    def capital_key(self) -> str:
        return f"{WALLET}:BaseToken:{self.config.share_class}"

    def columns(self) -> list[str]:
        """Return the market columns this strategy needs over the whole window."""
        raise NotImplementedError

    def open(self, book: Book) -> None:
        """Put the capital to work at the first step."""
        raise NotImplementedError

    def decide(self, step: int, book: Book, snapshot: PortfolioSnapshot) -> bool:
        """Rebalance when a rule is breached; return True when it traded."""
        return False

    # -- shared helpers ------------------------------------------------------------------

    def _due(self, step: int, snapshot: PortfolioSnapshot) -> bool:
        if not self.settings.rebalance:
            return False
        if step % self.rebalance_every_steps == 0:
            return True
        if any(r < self.thresholds.min_margin_ratio for r in _margin_ratios(snapshot)):
            return True
        known = [h for h in snapshot.risk.health_factor.values() if h is not None]
        return any(h < self.thresholds.min_health_factor for h in known)

    def _margin_off(self, snapshot: PortfolioSnapshot) -> bool:
        low = self.thresholds.min_margin_ratio
        high = 2 * self.thresholds.target_margin_ratio - low
        return any(not low <= r <= high for r in _margin_ratios(snapshot))

    def _cash_key(self, venue: str) -> str:
        return f"{venue}:BaseToken:USDT"

    def gather_cash(self, book: Book) -> None:
        """Move every CEX venue's USDT to the wallet (instant, free in the backtest)."""
        wallet = self._cash_key(WALLET)
        for venue in self.splits:
            amount = book.get(self._cash_key(venue))
            if amount:
                book.transfer(self._cash_key(venue), wallet, amount)

    def distribute_margin(self, book: Book, perp_keys: dict[str, str]) -> None:
        """Spread the wallet's USDT over the hedge venues so margin balances follow the split.

        Margin balance of a venue = its USDT + the unrealized PnL of its perp; the total
        (cash + uPnL) is divided by ``hedge.splits``.
        """
        wallet = self._cash_key(WALLET)
        upnl = {v: book.unrealized(k) if book.get(k) else 0.0 for v, k in perp_keys.items()}
        total = book.get(wallet) + sum(book.get(self._cash_key(v)) for v in self.splits)
        total += sum(upnl.values())
        for venue, share in self.splits.items():
            target = share * total - upnl[venue]
            book.transfer(wallet, self._cash_key(venue), target - book.get(self._cash_key(venue)))

    def set_hedge(self, book: Book, perp_keys: dict[str, str], short_qty: float) -> None:
        """Set the perp legs to a total short of ``short_qty`` split over the venues."""
        for venue, key in perp_keys.items():
            qty_change = -short_qty * self.splits[venue] - book.get(key)
            if abs(qty_change) > 1e-12 * max(1.0, abs(short_qty)):
                book.trade_perp(key, qty_change, self.fee)


def lst_of(config: ModeConfig) -> tuple[str, str]:
    """Return the LST key and token of a mode (its LST position, default etherfi weETH)."""
    for key in config.positions:
        if key.type == PositionType.LST:
            return str(key), key.symbol
    return "etherfi:LST:weETH", "weETH"
