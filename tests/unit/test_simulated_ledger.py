"""The simulated ledger: every change shows in the next snapshot; bad values never enter."""

import math

import pytest

from factory.interfaces.simulated import SimulatedLedger
from factory.positions import utc


def test_each_change_shows_in_the_next_snapshot_and_unchanged_positions_are_kept():
    ledger = SimulatedLedger("okx", {"okx:Perp:BTCUSDT": -0.3, "okx:BaseToken:USDT": 1000})
    first = ledger.snapshot(utc(0))
    ledger.mark({"okx:Perp:BTCUSDT": {"mark_price": 50_000.0}})
    second = ledger.snapshot(utc(1))
    assert second.positions["okx:Perp:BTCUSDT"].mark_price == 50_000.0
    assert first.positions["okx:Perp:BTCUSDT"].mark_price is None  # snapshots are immutable
    assert second.positions["okx:BaseToken:USDT"] is first.positions["okx:BaseToken:USDT"]
    ledger.apply({"okx:BaseToken:USDT": 25.5})
    ledger.mark({"okx:Perp:BTCUSDT": {"mark_price": 50_000.0}})  # same value: no change
    third = ledger.snapshot(utc(2))
    assert third.positions["okx:BaseToken:USDT"].amount == 1025.5
    assert third.positions["okx:Perp:BTCUSDT"] is second.positions["okx:Perp:BTCUSDT"]
    ledger.set("okx:Perp:BTCUSDT", 0)
    assert list(ledger.snapshot(utc(3)).positions) == ["okx:BaseToken:USDT"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_amounts_and_marks_are_refused(bad):
    ledger = SimulatedLedger("okx")
    with pytest.raises(ValueError, match="finite"):
        ledger.set("okx:Perp:BTCUSDT", bad)
    with pytest.raises(ValueError, match="finite"):
        ledger.mark({"okx:Perp:BTCUSDT": {"mark_price": bad}})
    assert ledger.snapshot(utc(0)).positions == {}
