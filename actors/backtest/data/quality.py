"""What the data of one backtest window is worth: the ``data_quality`` block, or a refusal.

Computed once per scenario, before the first step (never in the loop). Refused by default
(`DataError`, one line naming the file, the instant and the problem):

- a funding settlement missing inside the window (the series' schedule is its usual spacing,
  anchored at its first settlement), a rate that is missing or not a number, or an instant
  with conflicting duplicate rows in any series the scenario reads; ``allow_gaps`` runs anyway
  and books the settlement as unknown (nothing paid; ``complete`` false; funding covers X of Y);
- a funding rate beyond the plausibility bounds: ``|rate|`` above `MAX_ABS_FUNDING_RATE` in one
  settlement, or a window whose median ``|rate|`` is above `MAX_MEDIAN_FUNDING_RATE` (rates in
  percent instead of fractions); ``allow_implausible`` accepts them.

The block counts what was done to the data: settlements expected and booked per funding
series (with the first missing instants), forward-filled price steps, identical duplicate rows
dropped, conflicting duplicates, unusable rows, the window as requested and as used, and the
provenance of every leg (`actors.backtest.data.provenance`).
"""

from __future__ import annotations

import numpy as np

from actors.backtest.data.market import DataError, MarketData, SeriesInfo, iso
from actors.backtest.data.provenance import Sources

__all__ = [
    "MAX_ABS_FUNDING_RATE",
    "MAX_MEDIAN_FUNDING_RATE",
    "assess_window",
    "quality_line",
]

#: one settlement's |rate| above this is not a fraction a venue here would pay (their caps on
#: BTC and ETH perps are well below it); 0.05 = 5% of the notional in one settlement
MAX_ABS_FUNDING_RATE = 0.05
#: a window whose median |rate| per settlement exceeds this (~330%/yr at 8-hourly settlements)
#: reads like rates in percent, not fractions
MAX_MEDIAN_FUNDING_RATE = 0.003
_SHOWN = 5  # first missing instants listed


def _in(pairs: tuple[tuple[int, str], ...], lo: int, hi: int) -> dict[int, str]:
    return {t: text for t, text in pairs if lo < t <= hi}


def _funding(market: MarketData, col: str, i0: int, i1: int) -> tuple[dict, list[tuple]]:
    """Return the block of one funding column and its problems ``(instant, file, what)``."""
    info = market.info.get(col, SeriesInfo(file=col))
    every = market.interval_of(col)
    values = market.columns[col]
    times = market.times
    known = times[~np.isnan(values)]
    anchor = int(known[0]) if len(known) else int(times[i0])
    t0, t1 = int(times[i0]), int(times[i1])
    window = times[i0 + 1 : i1 + 1]  # a settlement at the first step precedes the positions
    booked = window[~np.isnan(values[i0 + 1 : i1 + 1])]
    due = window[((window - anchor) % every == 0) & (window >= anchor)]
    expected = np.union1d(due, booked)
    missing = np.setdiff1d(due, booked)
    bad, clash = _in(info.bad, t0, t1), _in(info.conflicts, t0, t1)
    problems = []
    for t in sorted(set(missing.tolist()) | set(bad) | set(clash)):
        if t in clash:
            what = f"conflicting duplicate rows ({clash[t]})"
        elif t in bad:
            what = f"funding rate is missing or not a number ({bad[t]!r})"
        else:
            what = f"funding settlement missing (expected every {every // 3600} h)"
        problems.append((t, info.file, what))
    block = {
        "source": info.label(),
        "every_h": every / 3600,
        "expected": len(expected),
        "booked": len(booked),
        "missing": len(expected) - len(booked),
        "first_missing": [iso(t) for t, _, _ in problems[:_SHOWN]],
    }
    return block, problems


def _plausible(market: MarketData, col: str, i0: int, i1: int) -> None:
    info = market.info.get(col, SeriesInfo(file=col))
    vals = market.columns[col][i0 + 1 : i1 + 1]
    ok = ~np.isnan(vals)
    if not ok.any():
        return
    mag = np.abs(vals[ok])
    hint = ("rates are fractions of the notional per settlement (0.0001 = 0.01%); "
            "--allow-implausible-rates runs anyway")
    median = float(np.median(mag))
    if median > MAX_MEDIAN_FUNDING_RATE:
        raise DataError(f"{info.file}: median |funding rate| {median:.6g} over the window looks "
                        f"like percent, not a fraction (bound {MAX_MEDIAN_FUNDING_RATE}); {hint}")
    k = int(np.argmax(mag))
    if mag[k] > MAX_ABS_FUNDING_RATE:
        at = market.times[i0 + 1 : i1 + 1][ok][k]
        raise DataError(f"{info.file}: funding rate {vals[ok][k]:.6g} at {iso(at)} is beyond the "
                        f"plausibility bound |rate| <= {MAX_ABS_FUNDING_RATE}; {hint}")


def assess_window(
    market: MarketData,
    sources: Sources,
    i0: int,
    i1: int,
    requested: tuple[int | None, int | None] = (None, None),
) -> dict:
    """Return the ``data_quality`` block of a window, or refuse it (module docstring).

    Args:
        sources: the columns each leg reads (`actors.backtest.data.provenance.resolve_sources`).
        i0, i1: the window's grid indices (inclusive).
        requested: the start and end asked for (epoch seconds, None = as far as the data goes).

    Raises:
        DataError: a problem the data policy does not allow, naming file, instant and problem.
    """
    policy = market.policy
    times = market.times
    t0, t1 = int(times[i0]), int(times[i1])
    funding: dict[str, dict] = {}
    problems: list[tuple] = []
    for col in dict.fromkeys(sources.funding.values()):
        if col not in market.columns:
            continue
        funding[col], found = _funding(market, col, i0, i1)
        problems += found
        if not policy.allow_implausible:
            _plausible(market, col, i0, i1)
    filled, dups, clashes, unusable = {}, {}, {}, {}
    for col in sources.columns():
        info = market.info.get(col)
        mask = market.filled.get(col)
        if mask is not None and mask[i0 : i1 + 1].any():
            filled[col] = int(mask[i0 : i1 + 1].sum())
        if info is None:
            continue
        if info.duplicates:
            dups[col] = info.duplicates
        if info.conflicts:
            clashes[col] = len(info.conflicts)
        if info.bad:
            unusable[col] = len(info.bad)
        if not col.startswith("funding."):
            for t, text in sorted(_in(info.conflicts, t0 - 1, t1).items()):
                problems.append((t, info.file, f"conflicting duplicate rows ({text})"))
    if problems and not policy.allow_gaps:
        t, file, what = min(problems)
        raise DataError(f"{file}: {what} at {iso(t)} ({len(problems)} such instant(s) in the "
                        f"window {iso(t0)} .. {iso(t1)}); --allow-gaps runs anyway and books "
                        "them as unknown")
    start, end = requested
    clipped = []
    if start is not None and start != t0:
        clipped.append(f"start {iso(start)} -> {iso(t0)} (first step on the data grid)")
    if end is not None and end != t1:
        clipped.append(f"end {iso(end)} -> {iso(t1)} (last step on the data grid)")
    return {
        "complete": all(f["missing"] == 0 for f in funding.values()) and not problems,
        "funding": funding,
        "forward_filled_steps": filled,
        "duplicates_dropped": dups,
        "conflicting_duplicates": clashes,
        "unusable_rows": unusable,
        "window": {"requested": [None if start is None else iso(start),
                                 None if end is None else iso(end)],
                   "used": [iso(t0), iso(t1)], "clipped": clipped},
        "provenance": list(sources.lines),
        "stand_ins": list(sources.stand_ins),
    }


def quality_line(dq: dict | None) -> str | None:
    """Return a one-line summary of a ``data_quality`` block, or None when every count is 0."""
    if not dq:
        return None
    parts = []
    for col, f in dq.get("funding", {}).items():
        if f["missing"]:
            parts.append(f"funding {col} covers {f['booked']} of {f['expected']} settlements "
                         f"(first missing {f['first_missing'][0]}; booked as unknown)")
    for key, what in (("forward_filled_steps", "forward-filled price step(s)"),
                      ("duplicates_dropped", "identical duplicate row(s) dropped"),
                      ("conflicting_duplicates", "conflicting duplicate instant(s)"),
                      ("unusable_rows", "unusable row(s)")):
        counts = dq.get(key) or {}
        if counts:
            cols = ", ".join(counts)
            parts.append(f"{sum(counts.values())} {what} ({cols})")
    clipped = dq.get("window", {}).get("clipped") or []
    if clipped:
        parts.append(f"window clipped: {'; '.join(clipped)}")
    if dq.get("stand_ins"):
        short = [line.split(" (")[0] for line in dq["stand_ins"]]
        parts.append(f"{len(short)} stand-in series ({'; '.join(short)})")
    return "data quality: " + "; ".join(parts) if parts else None
