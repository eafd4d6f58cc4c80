"""Put irregular source series on the regular grid, with explicit gap rules (numpy only).

- Prices and LST rates (`align_prices`): a step takes the first observation at or after its
  instant and before the next step (an observation at 07:59 never stands for 07:00 when 07:00
  was observed: the step's price is the earliest one the step saw, never a later one that would
  look ahead). A step a source did not report is forward-filled from
  the last report when the whole gap is at most ``limit`` steps; a longer gap stays unknown
  (NaN) over its whole length, so a backtest crossing it fails loudly instead of trading on a
  stale price.
- Funding (`align_events`): a rate sits at its settlement step only. Nothing is filled; a
  missing settlement books no funding and is reported as a gap.
- AAVE indices (`align_index`): between two observations the index is projected forward from
  the earlier one with AAVE's own interest math when the rate is known (liquidity index: linear
  interest; variable borrow index: compounded per second), so no later value leaks backwards;
  without rates it is interpolated log-linearly. Observations further apart than ``limit``
  steps leave the steps between them unknown.
"""

from __future__ import annotations

import numpy as np

from actors.backtest.data.market import DataError, Gap

__all__ = ["SECONDS_PER_YEAR", "align_events", "align_index", "align_prices", "grid_positions"]

SECONDS_PER_YEAR = 365 * 86400


def grid_positions(ts: np.ndarray, t0: int, step_s: int) -> np.ndarray:
    """Return the grid index of each instant (floored to the step)."""
    return (np.asarray(ts, dtype=np.int64) - t0) // step_s


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Return ``(start, length)`` of each run of True in ``mask``."""
    if not mask.any():
        return []
    m = np.concatenate(([False], mask, [False])).astype(np.int8)
    d = np.diff(m)
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), (ends - starts).tolist()))


def align_prices(
    name: str,
    ts: np.ndarray,
    values: np.ndarray,
    grid: np.ndarray,
    step_s: int,
    limit: int,
) -> tuple[np.ndarray, np.ndarray, list[Gap]]:
    """Place a price-like series on the grid; forward-fill gaps of at most ``limit`` steps.

    Several reports in one step keep the first (the one nearest the step's instant, no look
    ahead). Before the first report and after the last one the column is unknown (that is
    coverage, not a gap).

    Returns:
        The column, the mask of forward-filled steps, and the gaps found (filled or not).
    """
    out = np.full(len(grid), np.nan)
    filled = np.zeros(len(grid), dtype=bool)
    if not len(ts):
        return out, filled, []
    order = np.argsort(np.asarray(ts, dtype=np.int64), kind="stable")
    pos = grid_positions(np.asarray(ts)[order], int(grid[0]), step_s)
    vals = np.asarray(values, dtype=np.float64)[order]
    keep = (pos >= 0) & (pos < len(grid)) & ~np.isnan(vals)
    pos, vals = pos[keep], vals[keep]
    steps, first_in_step = np.unique(pos, return_index=True)
    out[steps] = vals[first_in_step]
    known = np.flatnonzero(~np.isnan(out))
    if not len(known):
        return out, filled, []
    first, last = known[0], known[-1]
    inner = np.isnan(out[first : last + 1])
    gaps: list[Gap] = []
    for start, length in _runs(inner):
        i = first + start
        ok = length <= limit
        if ok:
            out[i : i + length] = out[i - 1]
            filled[i : i + length] = True
        gaps.append(Gap(name, int(grid[i]), int(length), ok))
    return out, filled, gaps


def align_events(
    name: str, ts: np.ndarray, values: np.ndarray, grid: np.ndarray, step_s: int
) -> tuple[np.ndarray, list[Gap]]:
    """Place settlement events (funding rates) at their step; nothing is ever filled.

    A settlement time that is not a grid instant belongs to the step it falls in. Missing
    settlements (an interval longer than the usual one) are reported as unfilled gaps.

    Raises:
        DataError: two settlements fall in the same step.
    """
    out = np.full(len(grid), np.nan)
    if not len(ts):
        return out, []
    pos = grid_positions(ts, int(grid[0]), step_s)
    keep = (pos >= 0) & (pos < len(grid)) & ~np.isnan(values)
    pos, vals = pos[keep], np.asarray(values, dtype=np.float64)[keep]
    if len(np.unique(pos)) != len(pos):
        raise DataError(f"{name}: two settlements in one {step_s} s step; the grid is too coarse")
    out[pos] = vals
    gaps: list[Gap] = []
    if len(pos) > 2:
        d = np.diff(np.sort(pos))
        usual = int(np.median(d))
        for k in np.flatnonzero(d > usual):
            missing = int(d[k] // usual) - 1
            if missing > 0:
                at = int(grid[np.sort(pos)[k]]) + usual * step_s
                gaps.append(Gap(name, at, missing * usual, False))
    return out, gaps


def align_index(
    name: str,
    ts: np.ndarray,
    index: np.ndarray,
    grid: np.ndarray,
    step_s: int,
    limit: int,
    rate: np.ndarray | None = None,
    compounded: bool = False,
) -> tuple[np.ndarray, list[Gap]]:
    """Place an AAVE index on the grid (see the module docstring).

    Args:
        rate: the annual rate at each observation (ray-free fraction, e.g. 0.05), or None to
            interpolate log-linearly between observations.
        compounded: True for the variable borrow index (per-second compounding), False for the
            liquidity index (linear interest).
    """
    out = np.full(len(grid), np.nan)
    ts = np.asarray(ts, dtype=np.int64)
    index = np.asarray(index, dtype=np.float64)
    ok = ~np.isnan(index)
    ts, index = ts[ok], index[ok]
    rate = None if rate is None else np.asarray(rate, dtype=np.float64)[ok]
    if not len(ts):
        return out, []
    if np.any(np.diff(ts) <= 0):
        raise DataError(f"{name}: observation times must be strictly increasing")
    gaps: list[Gap] = []
    inside = (grid >= ts[0]) & (grid <= ts[-1])
    g = grid[inside]
    k = np.searchsorted(ts, g, side="right") - 1  # last observation at or before each step
    k = np.minimum(k, len(ts) - 1)
    dt = (g - ts[k]).astype(np.float64)
    if rate is None:
        nxt = np.minimum(k + 1, len(ts) - 1)
        span = (ts[nxt] - ts[k]).astype(np.float64)
        frac = np.divide(dt, span, out=np.zeros_like(dt), where=span > 0)
        vals = np.exp(np.log(index[k]) + frac * (np.log(index[nxt]) - np.log(index[k])))
    else:
        r = np.nan_to_num(rate[k])
        if compounded:
            vals = index[k] * (1.0 + r / SECONDS_PER_YEAR) ** dt
        else:
            vals = index[k] * (1.0 + r * dt / SECONDS_PER_YEAR)
    at_obs = dt == 0
    vals[at_obs] = index[k][at_obs]
    seg = np.diff(ts) // step_s
    for j in np.flatnonzero(seg > limit):
        lo, hi = ts[j], ts[j + 1]
        bad = (g > lo) & (g < hi)
        vals[bad] = np.nan
        gaps.append(Gap(name, int(lo + step_s), int(seg[j] - 1), False))
    out[inside] = vals
    return out, gaps
