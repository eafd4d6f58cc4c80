"""Simulator: one backtest scenario through the live code path; SimulatorActor: its Ray shell.

Each step of the data window:

1. the `Book` moves to the step's prices: revaluation, AAVE accrual, funding at settlements;
2. the book's changes are applied to the venues' `SimulatedLedger`s as deltas, with marks,
   rates and account figures (`LedgerSync`), behind the position interfaces the
   ExecutionInterfaceFactory built for the mode;
3. ``await monitor.get_real_positions(ts)`` aggregates them into a `PortfolioSnapshot`, exactly
   as live (every ``reconcile_every_h`` the book's positions are set as expected, so the
   monitor reconciles what the venues show against what the simulator did);
4. the strategy reads that snapshot (net delta, margin ratios, health factor) and may trade.

The loop touches only plain floats and dicts per step; market columns are converted to Python
lists once per run. The Ray shell (`SimulatorActor`) holds no logic; its options live in
`simulator_options`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np

from actors.backtest.accounting import Book, Tick
from actors.backtest.data.market import MarketData, parse_instant
from actors.backtest.data.provenance import Sources, resolve_sources
from actors.backtest.data.quality import assess_window
from actors.backtest.results import BacktestResult
from actors.backtest.strategies.registry import make_strategy
from actors.backtest.sync import LedgerSync
from actors.monitor import PositionMonitor
from factory.config import ModeConfig, resolve_config
from factory.execution_interface_factory import ExecutionInterfaceFactory
from factory.positions import PortfolioSnapshot

__all__ = ["Simulator", "SimulatorActor", "prepare", "simulator_options", "spawn_simulator"]


def prepare(
    config: ModeConfig, market: MarketData, start: Any = None, end: Any = None, strategy=None
) -> tuple[Sources, int, int, dict]:
    """Check a scenario against the data before it runs: which series each leg reads, the
    window, and the window's ``data_quality`` block (`actors.backtest.data.quality`).

    Returns:
        The sources, the window's first and last grid index, and the data-quality block.

    Raises:
        DataError: a leg without a series, a window the data does not cover, or a problem in
            the data the market's policy does not allow.
    """
    strategy = strategy or make_strategy(config, market.step_s)
    spot_key = getattr(strategy, "spot_key", None)
    sources = resolve_sources(market, strategy.columns(),
                              spot_key.split(":")[0] if spot_key else None,
                              list(getattr(strategy, "perp_keys", {})))
    lo, hi = parse_instant(start), parse_instant(end)
    i0, i1 = market.window(sources.columns(), lo, hi)
    return sources, i0, i1, assess_window(market, sources, i0, i1, (lo, hi))


class Simulator:
    """Runs one scenario of a mode over a window of market data.

    Args:
        config: the mode config (or a dict).
        market: the market data.
        start, end: window bounds (dates, ISO instants or epoch seconds; inclusive); default
            the longest span where the mode's columns are known.
        factory: the ExecutionInterfaceFactory (default a new one).
        reconcile_every_h: how often the monitor reconciles the ledgers against the book
            (0 disables).
        clock: wall clock for the runtime figure (injected for tests).
        scenario: labels copied into the result (sweep id, overrides).
    """

    def __init__(
        self,
        config: ModeConfig | dict,
        market: MarketData,
        start: Any = None,
        end: Any = None,
        factory: ExecutionInterfaceFactory | None = None,
        reconcile_every_h: float = 24.0,
        clock: Callable[[], float] = time.perf_counter,
        scenario: dict | None = None,
    ):
        self.config = resolve_config(config)
        self.market = market
        self.factory = factory or ExecutionInterfaceFactory()
        self.strategy = make_strategy(self.config, market.step_s)
        self.sources, self.i0, self.i1, self.data_quality = prepare(
            self.config, market, start, end, self.strategy
        )
        self.recon_every = (
            round(reconcile_every_h * 3600 / market.step_s) if reconcile_every_h else 0
        )
        self.clock = clock
        self.scenario = dict(scenario or {})
        self.book: Book | None = None  # after a run: the final book and monitor snapshot
        self.last_snapshot: PortfolioSnapshot | None = None

    # -- market view ----------------------------------------------------------------------

    def _list(self, col: str) -> list[float]:
        return self.market.columns[col][self.i0 : self.i1 + 1].tolist()

    def stale(self) -> list[bool]:
        """Return, per step, whether any of the mode's prices was gap-filled there."""
        return self.market.stale_mask(self.sources.prices(), self.i0, self.i1).tolist()

    def ticks(self) -> list[Tick]:
        """Build the window's ticks (plain floats) once.

        On a stale step (any of the mode's prices gap-filled) every price of the mode is held at
        the last fully reported step, so legs from different sources never drift apart on
        invented data; funding settlements and AAVE accrual still happen at their own steps.
        Perp legs reading the same series share the underlying's mark and rate; a leg with a
        series of its own gets its mark and rate under its position key.
        """
        m, src_ = self.market, self.sources
        under = getattr(self.strategy, "underlying", None)
        keys = getattr(self.strategy, "perp_keys", {})
        spot = {a: self._list(c) for a, c in src_.spot.items()}
        lst: dict[str, list[float]] = {}
        aave: dict[str, list[float]] = {}
        for name in src_.other:
            kind, _, rest = name.partition(".")
            (lst if kind == "lst" else aave)[rest] = self._list(name)
        marks = _per_leg(src_.perp, under, keys, self._list, True)
        funding = _per_leg(src_.funding, under, keys, self._list, False)
        src: list[int] = []
        for j, stale in enumerate(self.stale()):
            src.append(src[-1] if stale and j else j)
        share_u: str = "ETH" if self.config.share_class == "ETH" else self.config.share_class
        share_u = {"USDT": "USD"}.get(share_u, share_u)
        times = m.times[self.i0 : self.i1 + 1].tolist()
        out = []
        for j, ts in enumerate(times):
            k = src[j]
            usd = {"USD": 1.0}
            for asset, col in spot.items():
                usd[asset] = col[k]
            if share_u == "USD":
                under_px, fx = usd, 1.0
            elif share_u in usd:
                fx = 1.0 / usd[share_u]
                under_px = {a: v * fx for a, v in usd.items()}
                under_px[share_u] = 1.0
            else:
                under_px, fx = {share_u: 1.0}, math.nan
            fund = {}
            for u, col in funding.items():
                if col[j] == col[j]:  # not NaN: a settlement at this step
                    fund[u] = col[j]
            liq = {a[: -len(".liquidity_index")]: c[j] for a, c in aave.items()
                   if a.endswith(".liquidity_index")}
            borrow = {a[: -len(".borrow_index")]: c[j] for a, c in aave.items()
                      if a.endswith(".borrow_index")}
            out.append(Tick(ts, usd, under_px, fx, {t: c[k] for t, c in lst.items()},
                            {u: c[k] for u, c in marks.items()}, fund, liq, borrow))
        return out

    # -- the loop -------------------------------------------------------------------------

    def run(self) -> BacktestResult:
        """Run the scenario (blocking)."""
        return asyncio.run(self.arun())

    async def arun(self) -> BacktestResult:
        """Run the scenario inside a running event loop."""
        started = self.clock()
        cfg, strategy = self.config, self.strategy
        ticks = self.ticks()
        stale = self.stale()
        monitor = PositionMonitor(self.factory, cfg, "backtest")
        ledgers = {v: iface.ledger for v, iface in monitor.interfaces.items()}
        kinds = {v: iface.kind for v, iface in monitor.interfaces.items()}
        book = Book(cfg.share_class, leg_marks=any(":" in k for k in ticks[0].marks))
        sync = LedgerSync(book, ledgers, kinds, strategy.settings.liquidation_threshold,
                          strategy.settings.max_ltv)
        equity = np.empty(len(ticks))
        min_hf = min_mr = math.inf
        breaches = recon_checks = mismatches = 0
        notional_sum = 0.0
        for j, tick in enumerate(ticks):
            book.advance(tick)
            if j == 0:
                book.deposit(strategy.capital_key, cfg.initial_capital)
            sync.push()
            check = self.recon_every and j and j % self.recon_every == 0
            if check:
                monitor.set_expected(sync.synced())
            snap = await monitor.get_real_positions(datetime.fromtimestamp(tick.epoch_s, UTC))
            if check:
                recon_checks += 1
                mismatches += len(snap.reconciliation.mismatches) if snap.reconciliation else 0
                monitor.set_expected({})
            risk = snap.risk
            for venue, r in risk.margin_ratio.items():
                if r is None:
                    raise RuntimeError(f"{venue}: the simulated margin ratio is unknown")
                min_mr = min(min_mr, r)
            for h in risk.health_factor.values():
                if h is not None and h < min_hf:
                    min_hf = h
            if risk.margin_ratio:
                breaches += any(
                    a is not None and a.maintenance_margin and a.margin_balance is not None
                    and a.margin_balance < a.maintenance_margin
                    for a in (vs.account for vs in snap.venues.values())
                )
            if j == 0:
                strategy.open(book)
            elif not stale[j]:  # never trade on gap-filled prices
                strategy.decide(j, book, snap)
            notional_sum += book.perp_notional()
            equity[j] = book.equity()
        sync.push()
        monitor.set_expected(sync.synced())
        final = await monitor.get_real_positions(datetime.fromtimestamp(ticks[-1].epoch_s, UTC))
        recon_checks += 1
        mismatches += len(final.reconciliation.mismatches) if final.reconciliation else 0
        await monitor.close()
        self.book, self.last_snapshot = book, final
        gap = book.check_identity()
        return BacktestResult(
            mode=cfg.mode,
            share_class=cfg.share_class,
            times=self.market.times[self.i0 : self.i1 + 1].copy(),
            equity=equity,
            initial_equity=book.deposits,
            attribution=dict(book.attribution),
            step_s=self.market.step_s,
            min_health_factor=None if min_hf == math.inf else min_hf,
            min_margin_ratio=None if min_mr == math.inf else min_mr,
            margin_breaches=breaches,
            rebalances=strategy.rebalances,
            trades=book.trades,
            recon_checks=recon_checks,
            recon_mismatches=mismatches,
            identity_gap=gap,
            avg_hedge_notional=notional_sum / len(ticks),
            stale_steps=sum(stale),
            runtime_s=self.clock() - started,
            scenario=self.scenario,
            data_quality=self.data_quality,
        )


def _per_leg(by_venue: dict[str, str], under: str | None, keys: dict[str, str],
             values: Callable[[str], list[float]], shared: bool) -> dict[str, list[float]]:
    """Return one series under the underlying when every leg reads the same column; else each
    leg's under its perp key (and, with ``shared``, the first leg's under the underlying: the
    reference mark for sizing)."""
    cols = list(dict.fromkeys(by_venue.values()))
    if not cols:
        return {}
    if len(cols) == 1 or under is None:
        return {under or cols[0].split(".")[1].partition("@")[0]: values(cols[0])}
    loaded = {c: values(c) for c in cols}
    out = {under: loaded[next(iter(by_venue.values()))]} if shared else {}
    out.update({keys[v]: loaded[c] for v, c in by_venue.items()})
    return out


# -- Ray shell ---------------------------------------------------------------------------


def simulator_options(**overrides: Any) -> dict[str, Any]:
    """Options of a SimulatorActor: one CPU (the loop is CPU bound), no restarts (a sweep
    re-runs the scenarios of a dead actor on the others)."""
    opts: dict[str, Any] = {"num_cpus": 1, "max_restarts": 0, "max_task_retries": 0}
    opts.update(overrides)
    return opts


class SimulatorActor:
    """Thin Ray shell: holds the market data (fetched from the object store once) and runs one
    scenario per call."""

    def __init__(self, market: MarketData):
        self._market = market

    def run(self, config: ModeConfig | dict, start: Any = None, end: Any = None,
            scenario: dict | None = None, reconcile_every_h: float = 24.0) -> BacktestResult:
        from actors import ray_calls  # loads Ray: a plain backtest in this process never does

        result = Simulator(config, self._market, start, end, reconcile_every_h=reconcile_every_h,
                           scenario=scenario).run()
        result.scenario = {**result.scenario, "node_id": ray_calls.node_id()}
        return result

    def ready(self) -> str:
        from actors import ray_calls  # loads Ray: a plain backtest in this process never does

        return ray_calls.node_id()


def spawn_simulator(market_ref: Any, **overrides: Any) -> Any:
    """Start a SimulatorActor with its options (Ray must be initialised)."""
    from actors import ray_calls  # loads Ray: a plain backtest in this process never does

    return ray_calls.start_actor(SimulatorActor, simulator_options(**overrides), market_ref)
