"""Pure reconciliation: expected vs real positions per key, with tolerances from the mode config.

A key is a mismatch when ``|expected - real| > max(abs_tol, rel_tol x |expected|)`` (a per-key
tolerance replaces ``abs_tol``). A key on a venue that did not report is ``unknown``: a missing
report is never a mismatch to zero.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Literal

from factory.config import ReconciliationConfig
from factory.positions import PositionKey, ReconciliationItem, ReconciliationResult

__all__ = ["reconcile", "tolerance_for"]


def tolerance_for(key: PositionKey, expected: float, cfg: ReconciliationConfig) -> float:
    """Return the allowed absolute difference for one key."""
    abs_tol = cfg.per_key.get(key, cfg.abs_tol)
    return max(abs_tol, cfg.rel_tol * abs(expected))


def reconcile(
    expected: Mapping[str, float],
    real: Mapping[PositionKey, float],
    reported_venues: Collection[str],
    cfg: ReconciliationConfig,
) -> ReconciliationResult:
    """Compare expected and real positions.

    Args:
        expected: expected amount per key (our execution records or the simulator).
        real: amounts the venues reported.
        reported_venues: venues whose report is in ``real`` (fresh or stale with values);
            keys of other venues are ``unknown``.
        cfg: tolerances.
    """
    items: list[ReconciliationItem] = []
    for raw_key in sorted(set(expected) | set(real)):
        key = PositionKey(raw_key)
        exp = float(expected.get(key, 0.0))
        tol = tolerance_for(key, exp, cfg)
        if key.venue not in reported_venues:
            items.append(
                ReconciliationItem(key=key, expected=exp, real=None, diff=None, tolerance=tol,
                                   status="unknown")
            )
            continue
        got = float(real.get(key, 0.0))
        diff = got - exp
        status: Literal["ok", "mismatch"] = "mismatch" if abs(diff) > tol else "ok"
        items.append(
            ReconciliationItem(key=key, expected=exp, real=got, diff=diff, tolerance=tol,
                               status=status)
        )
    return ReconciliationResult(items=items)
