"""Sweeps: many backtest scenarios fanned out over a Ray cluster, one SimulatorActor per CPU.

A sweep file (configs/sweeps/*.yaml) crosses modes x date windows x a grid of overrides
(dotted paths into the mode config, as ``--set`` takes them)::

    name: basis_grid
    modes: [btc_basis, eth_basis]            # names in configs/modes/ or paths to YAML files
    windows:
      - {start: 2024-01-01, end: 2024-02-01}
    grid:
      strategy.rebalance_interval_h: [8, 24]
      thresholds.target_margin_ratio: [0.3, 0.5]
    data: /path/to/market                    # optional; --data wins; default: the shipped data

`run_sweep` puts the market data in the object store once (``ray.put``), starts one
`SimulatorActor` per cluster CPU and feeds them scenarios as they free up. When an actor dies
(its node was removed or crashed), the scenario it was running is queued again for the others
and a replacement actor is started wherever the cluster has room: every scenario completes, and
since a scenario is deterministic its fingerprint does not depend on where or how often it ran.
The dispatch loop talks to Ray only through `actors.ray_calls.RayPool`, so it is tested with a
stub pool.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from actors.backtest.data.market import MarketData, parse_instant
from actors.backtest.results import BacktestResult
from factory.config import (
    ModeConfig,
    config_dir,
    load_mode,
    read_mapping,
    validate,
    with_overrides,
)
from factory.errors import BasisError, ConfigError
from factory.models import FiniteFrozenModel

__all__ = [
    "Scenario",
    "SweepConfig",
    "SweepError",
    "SweepResult",
    "SweepWindow",
    "check_scenarios",
    "dispatch",
    "expand",
    "load_sweep",
    "run_sweep",
]


class SweepError(BasisError):
    """A sweep could not complete (a scenario kept losing its actor, or no actor could start)."""


class SweepWindow(FiniteFrozenModel):
    """A date window: dates or ISO instants, inclusive; None = as far as the data goes."""

    start: str | None = None
    end: str | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _date_text(cls, v: Any) -> Any:
        return v.isoformat() if isinstance(v, (date, datetime)) else v


class SweepConfig(FiniteFrozenModel):
    """A sweep file: modes x windows x grid."""

    name: str = "sweep"
    description: str = ""
    modes: list[str] = Field(min_length=1)
    windows: list[SweepWindow] = Field(default_factory=lambda: [SweepWindow()])
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    data: str | None = None
    reconcile_every_h: float = Field(default=24.0, ge=0)


@dataclass(frozen=True)
class Scenario:
    """One backtest to run: a resolved mode config over a window, with its labels."""

    id: str
    mode: str
    config: ModeConfig
    start: str | None
    end: str | None
    overrides: dict[str, Any] = field(default_factory=dict)

    def labels(self) -> dict[str, Any]:
        return {"id": self.id, "mode": self.mode, "window_start": self.start,
                "window_end": self.end, "overrides": dict(self.overrides)}


def _mode_path(name: str, base: Path) -> Path:
    if name.endswith((".yaml", ".yml")):
        p = Path(name)
        return p if p.is_absolute() or p.exists() else base / p
    return config_dir() / "modes" / f"{name}.yaml"


def load_sweep(path: str | Path) -> SweepConfig:
    """Load and check a sweep file: modes exist, grid paths exist, values validate.

    Raises:
        ConfigError: naming the file, the field and what was expected.
    """
    path = Path(path)
    cfg: SweepConfig = validate(read_mapping(path), SweepConfig, str(path))
    expand(cfg, base=path.parent, source=str(path))
    return cfg


def expand(cfg: SweepConfig, base: Path = Path("."), source: str = "<sweep>") -> list[Scenario]:
    """Return every scenario of a sweep (modes x windows x grid), validated.

    Raises:
        ConfigError: an unknown mode, an override path that does not exist, a bad value or a
            window that is not a date range.
    """
    problems: list[str] = []
    modes: dict[str, ModeConfig] = {}
    for name in cfg.modes:
        try:
            modes[name] = load_mode(_mode_path(name, base))
        except ConfigError as e:
            problems += [f"{source}: modes: {line}" for line in e.problems]
    for k, w in enumerate(cfg.windows):
        try:
            lo, hi = parse_instant(w.start), parse_instant(w.end)
        except BasisError as e:
            problems.append(f"{source}: windows.{k}: {e}")
            continue
        if lo is not None and hi is not None and lo >= hi:
            problems.append(f"{source}: windows.{k}: start {w.start} is not before end {w.end}")
    for key, values in cfg.grid.items():
        if not values:
            problems.append(f"{source}: grid.{key}: needs at least one value")
    if problems:
        raise ConfigError(problems)
    keys = list(cfg.grid)
    combos = list(itertools.product(*(cfg.grid[k] for k in keys))) or [()]
    out: list[Scenario] = []
    for name, mode in modes.items():
        for combo in combos:
            overrides = dict(zip(keys, combo))
            try:
                resolved = with_overrides(mode, overrides) if overrides else mode
            except ConfigError as e:
                raise ConfigError([f"{source}: grid: {line}" for line in e.problems]) from None
            for w in cfg.windows:
                sid = f"{len(out):04d}-{mode.mode}"
                out.append(Scenario(sid, mode.mode, resolved, w.start, w.end, overrides))
    return out


@dataclass
class SweepResult:
    """What a sweep produced: results in scenario order, failures, how many re-runs."""

    scenarios: list[Scenario]
    results: list[BacktestResult | None]
    errors: dict[str, str]
    reruns: int
    actors: int
    wall_s: float

    def fingerprints(self) -> dict[str, str]:
        return {s.id: r.fingerprint for s, r in zip(self.scenarios, self.results) if r is not None}


def dispatch(
    scenarios: list[Scenario],
    pool: Any,
    size: int,
    progress: Callable[[int, int, BacktestResult | None], None] | None = None,
    max_attempts: int = 3,
    timeout_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[list[BacktestResult | None], dict[str, str], int]:
    """Run scenarios on ``size`` pooled actors; re-run those whose actor was lost.

    Returns:
        Results in scenario order (None for a failed scenario), errors by scenario id, and the
        number of re-runs.

    Raises:
        SweepError: a scenario lost its actor ``max_attempts`` times, or nothing finished within
            ``timeout_s`` of the last progress.
    """
    n = len(scenarios)
    todo = deque(range(n))
    results: list[BacktestResult | None] = [None] * n
    errors: dict[str, str] = {}
    attempts = [0] * n
    starting: dict[Any, Any] = {}
    busy: dict[Any, tuple[Any, int]] = {}
    idle: list[Any] = []
    reruns = done = 0

    def start_actor() -> None:
        actor = pool.spawn()
        starting[pool.ready(actor)] = actor

    for _ in range(max(1, min(size, n))):
        start_actor()
    last_progress = clock()
    try:
        while done < n:
            while idle and todo:
                actor, i = idle.pop(), todo.popleft()
                busy[pool.submit(actor, scenarios[i])] = (actor, i)
            ready = pool.wait(list(starting) + list(busy), 1.0)
            if not ready:
                if timeout_s is not None and clock() - last_progress > timeout_s:
                    raise SweepError(f"no scenario finished in {timeout_s:g} s ({done}/{n} done)")
                continue
            for fut in ready:
                if fut in starting:
                    actor = starting.pop(fut)
                    try:
                        pool.get(fut)
                        idle.append(actor)
                    except Exception:  # noqa: BLE001 - the actor could not start: try another
                        pool.kill(actor)
                        start_actor()
                    continue
                actor, i = busy.pop(fut)
                try:
                    res = pool.get(fut)
                except Exception as exc:  # noqa: BLE001 - sorted below
                    if pool.is_lost(exc):
                        attempts[i] += 1
                        if attempts[i] >= max_attempts:
                            raise SweepError(
                                f"scenario {scenarios[i].id} lost its actor {attempts[i]} times"
                            ) from None
                        reruns += 1
                        todo.appendleft(i)
                        pool.kill(actor)
                        start_actor()
                        continue
                    errors[scenarios[i].id] = f"{type(exc).__name__}: {str(exc)[-300:]}"
                    res = None
                results[i] = res
                done += 1
                last_progress = clock()
                idle.append(actor)
                if progress:
                    progress(done, n, res)
    finally:
        for actor in [*idle, *starting.values(), *(a for a, _ in busy.values())]:
            pool.kill(actor)
    return results, errors, reruns


def check_scenarios(scenarios: list[Scenario], market: MarketData) -> None:
    """Check every scenario against the data (window, refusals, provenance) before any runs.

    Raises:
        DataError: naming the scenario's problem (see `actors.backtest.simulator.prepare`).
    """
    from actors.backtest.simulator import (
        prepare,  # the simulator imports the monitor stack; load late
    )

    for s in scenarios:
        prepare(s.config, market, s.start, s.end)


def run_sweep(
    scenarios: list[Scenario] | SweepConfig,
    market: MarketData,
    actors: int | None = None,
    progress: Callable[[int, int, BacktestResult | None], None] | None = None,
    reconcile_every_h: float = 24.0,
    max_attempts: int = 3,
    timeout_s: float | None = None,
) -> SweepResult:
    """Run a sweep on the Ray cluster this process is connected to.

    Args:
        scenarios: scenarios (or a sweep config to expand).
        market: the market data (put in the object store once).
        actors: how many SimulatorActors (default: the cluster's CPUs).
        progress: called as ``progress(done, total, result)`` after each scenario.
    """
    from actors import ray_calls  # loads Ray: expanding and checking a sweep never needs it
    from actors.backtest.simulator import spawn_simulator  # imports the monitor stack; load late

    if isinstance(scenarios, SweepConfig):
        reconcile_every_h = scenarios.reconcile_every_h
        scenarios = expand(scenarios)
    check_scenarios(scenarios, market)
    started = time.perf_counter()
    size = actors or ray_calls.cluster_cpus()
    market_ref = ray_calls.put(market)
    pool = ray_calls.RayPool(lambda: spawn_simulator(market_ref), reconcile_every_h)
    results, errors, reruns = dispatch(scenarios, pool, size, progress, max_attempts, timeout_s)
    return SweepResult(scenarios, results, errors, reruns, size, time.perf_counter() - started)
