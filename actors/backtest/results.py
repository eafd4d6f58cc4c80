"""Backtest results: the equity curve, its metrics, attribution and fingerprint.

Metrics (share-class units, risk-free rate 0):

- ``apy``: compounded, ``(final / initial) ** (365 d / period) - 1``;
- ``volatility``: standard deviation of step returns x sqrt(steps per year);
- ``max_drawdown``: largest fall from a running peak, as a positive fraction;
- ``sharpe``: mean / std of step returns x sqrt(steps per year);
- ``funding_share``: funding / (funding + staking + lending), the part of gross carry income
  that came from funding (NaN when there is none);
- ``fingerprint``: sha256 of the equity curve's float64 little-endian bytes, so two runs agree
  exactly or not at all.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np

from actors.backtest.data.market import iso

__all__ = ["YEAR_S", "BacktestResult", "fingerprint", "max_drawdown"]

YEAR_S = 365 * 86400


def fingerprint(curve: np.ndarray) -> str:
    """Return the sha256 hex digest of a curve's exact float64 (little-endian) bytes."""
    return hashlib.sha256(np.ascontiguousarray(curve, dtype="<f8").tobytes()).hexdigest()


def max_drawdown(curve: np.ndarray) -> float:
    """Return the largest peak-to-trough fall as a positive fraction (0 for a rising curve)."""
    if not len(curve):
        return 0.0
    peak = np.maximum.accumulate(curve)
    return float(np.max(1.0 - curve / peak))


def _clean(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


@dataclass
class BacktestResult:
    """One scenario's outcome.

    Attributes:
        times: epoch seconds of each step; ``equity``: equity after each step's trades.
        initial_equity: the capital deposited before the first step.
        attribution: PnL per component (accounting.COMPONENTS), summing to
            ``final_equity - initial_equity``.
        min_health_factor / min_margin_ratio: the lowest values the monitor reported (None when
            the mode has no debt / no perps).
        margin_breaches: steps where a venue's margin balance was below maintenance margin (the
            backtest flags liquidation risk; it does not simulate the venue's liquidation).
        avg_hedge_notional: mean perp notional over the steps (share class), for funding yield
            on the hedged notional.
        stale_steps: steps where a price of the mode was gap-filled (prices held, no trading).
        data_quality: what the window's data is worth (`actors.backtest.data.quality`): funding
            settlements expected vs booked per series, forward-filled steps, duplicates,
            conflicts, clipped window edges, the provenance of every leg.
    """

    mode: str
    share_class: str
    times: np.ndarray
    equity: np.ndarray
    initial_equity: float
    attribution: dict[str, float]
    step_s: int = 3600
    min_health_factor: float | None = None
    min_margin_ratio: float | None = None
    margin_breaches: int = 0
    rebalances: int = 0
    trades: int = 0
    recon_checks: int = 0
    recon_mismatches: int = 0
    identity_gap: float = 0.0
    avg_hedge_notional: float = 0.0
    stale_steps: int = 0
    runtime_s: float = 0.0
    scenario: dict = field(default_factory=dict)
    data_quality: dict = field(default_factory=dict)

    @property
    def final_equity(self) -> float:
        return float(self.equity[-1])

    @property
    def period_s(self) -> int:
        return int(self.times[-1] - self.times[0])

    @property
    def steps(self) -> int:
        return len(self.equity)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.equity)

    def returns(self) -> np.ndarray:
        curve = np.concatenate(([self.initial_equity], self.equity))
        return np.diff(curve) / curve[:-1]

    def metrics(self) -> dict[str, float | None]:
        """Return apy, volatility, max_drawdown, sharpe, funding_share and yields."""
        years = self.period_s / YEAR_S if self.period_s else float("nan")
        growth = self.final_equity / self.initial_equity
        apy = growth ** (1 / years) - 1 if growth > 0 else -1.0
        ret = self.returns()
        per_year = YEAR_S / self.step_s
        sd = float(np.std(ret, ddof=1)) if len(ret) > 1 else float("nan")
        sharpe = float(np.mean(ret)) / sd * math.sqrt(per_year) if sd and sd > 0 else float("nan")
        a = self.attribution
        carry = a["funding"] + a["staking"] + a["lending"]
        funding_yield = (
            a["funding"] / self.avg_hedge_notional / years if self.avg_hedge_notional else None
        )
        return {
            "apy": _clean(apy),
            "volatility": _clean(sd * math.sqrt(per_year)),
            "max_drawdown": max_drawdown(np.concatenate(([self.initial_equity], self.equity))),
            "sharpe": _clean(sharpe),
            "funding_share": _clean(a["funding"] / carry) if carry else None,
            "funding_yield_on_notional": _clean(funding_yield),
        }

    def summary(self) -> dict:
        """Return a JSON-friendly summary (no curve)."""
        out = {
            "mode": self.mode,
            "share_class": self.share_class,
            "start": iso(self.times[0]),
            "end": iso(self.times[-1]),
            "steps": self.steps,
            "initial_equity": self.initial_equity,
            "final_equity": self.final_equity,
            **self.metrics(),
            "attribution": {k: float(v) for k, v in self.attribution.items()},
            "min_health_factor": _clean(self.min_health_factor),
            "min_margin_ratio": _clean(self.min_margin_ratio),
            "margin_breaches": self.margin_breaches,
            "rebalances": self.rebalances,
            "trades": self.trades,
            "reconciliation": {"checks": self.recon_checks, "mismatches": self.recon_mismatches},
            "avg_hedge_notional": _clean(self.avg_hedge_notional),
            "stale_steps": self.stale_steps,
            "fingerprint": self.fingerprint,
            "runtime_s": round(self.runtime_s, 4),
            "steps_per_s": round(self.steps / self.runtime_s, 1) if self.runtime_s else None,
            "data_quality": self.data_quality,
        }
        if self.scenario:
            out["scenario"] = self.scenario
        return out
