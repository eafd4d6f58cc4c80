"""PositionMonitor's plain logic with hand-written venue clients: deadline, stale, missing."""

import asyncio

import pytest

from actors.monitor import PositionMonitor
from factory.execution_interface_factory import ExecutionInterfaceFactory
from factory.positions import Position, VenueSnapshot, utc


class FakeClient:
    """A venue with knobs: answer, delay, fail."""

    def __init__(self, venue, amount=1.0, delay=0.0, error=None):
        self.venue, self.amount, self.delay, self.error = venue, amount, delay, error
        self.calls = 0

    async def snapshot(self, timestamp):
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error:
            raise self.error
        key = f"{self.venue}:Perp:BTCUSDT"
        return VenueSnapshot(
            venue=self.venue, execution_mode="live", timestamp=timestamp, fetched_at=timestamp,
            positions={key: Position(key=key, amount=self.amount)},
        )


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def make(clients, deadline=0.2, clock=None):
    cfg = {"venues": [c.venue for c in clients], "monitor": {"deadline_s": deadline}}
    return PositionMonitor(
        ExecutionInterfaceFactory(), cfg, "live", clients={c.venue: c for c in clients},
        clock=clock or Clock(),
    )


async def test_all_fresh_venues_make_a_complete_snapshot():
    mon = make([FakeClient("binance", -0.4), FakeClient("okx", -0.3)])
    snap = await mon.get_real_positions(utc(0))
    assert snap.complete and snap.missing == []
    assert snap.positions == {"binance:Perp:BTCUSDT": -0.4, "okx:Perp:BTCUSDT": -0.3}
    assert snap.net_exposure["BTC"] == pytest.approx(-0.7)


async def test_a_venue_that_never_answered_is_missing_not_flat():
    mon = make([FakeClient("binance"), FakeClient("okx", error=RuntimeError("down"))])
    snap = await mon.get_real_positions(utc(0))
    assert snap.missing == ["okx"] and not snap.complete
    assert "okx" not in snap.venues and "okx:Perp:BTCUSDT" not in snap.positions


async def test_a_failing_venue_keeps_its_last_good_values_marked_stale_with_age():
    clock = Clock()
    okx = FakeClient("okx", -0.3)
    mon = make([FakeClient("binance"), okx], clock=clock)
    await mon.get_real_positions(utc(0))
    okx.error = RuntimeError("503")
    clock.t += 7.0
    snap = await mon.get_real_positions(utc(10))
    stale = snap.venues["okx"]
    assert stale.status == "stale" and stale.age_s == pytest.approx(7.0)
    assert "503" in stale.error
    assert snap.positions["okx:Perp:BTCUSDT"] == -0.3 and not snap.complete


async def test_a_slow_venue_misses_the_deadline_and_the_answer_comes_on_time():
    slow = FakeClient("bybit", delay=5.0)
    mon = make([FakeClient("binance"), slow], deadline=0.1, clock=__import__("time").monotonic)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    snap = await mon.get_real_positions(utc(0))
    assert loop.time() - t0 < 0.1 + 0.1
    assert snap.missing == ["bybit"] and snap.positions == {"binance:Perp:BTCUSDT": 1.0}


async def test_reconciliation_uses_the_allocation_as_expected():
    clients = [FakeClient("okx", -0.35)]
    cfg = {"venues": ["okx"], "allocation": {"okx:Perp:BTCUSDT": -0.3},
           "reconciliation": {"abs_tol": 0.01, "rel_tol": 0}}
    mon = PositionMonitor(ExecutionInterfaceFactory(), cfg, "live",
                          clients={"okx": clients[0]}, clock=Clock())
    snap = await mon.get_real_positions(utc(0))
    assert [i.status for i in snap.reconciliation.items] == ["mismatch"]


async def test_backtest_mode_builds_the_simulated_interfaces_from_the_factory():
    cfg = {"venues": ["binance", "nope"], "allocation": {"binance:BaseToken:BTC": 2}}
    mon = PositionMonitor(ExecutionInterfaceFactory(), cfg, "backtest")
    snap = await mon.get_real_positions(utc(0))
    assert snap.positions == {"binance:BaseToken:BTC": 2.0} and snap.execution_mode == "backtest"
    assert snap.missing == ["nope"] and not snap.complete


def test_an_unknown_execution_mode_is_rejected():
    with pytest.raises(ValueError, match="execution_mode"):
        PositionMonitor(ExecutionInterfaceFactory(), {}, "paper")


async def test_a_failed_venue_is_stale_with_its_last_values_and_says_what_the_supervisor_knows():
    from factory.errors import VenueTimeoutError

    clock = Clock()
    okx = FakeClient("okx", -0.3)
    lost = "node 1a2b3c4d lost; Ray is restarting the venue actor on another node"
    cfg = {"venues": ["binance", "okx"], "monitor": {"deadline_s": 0.2}}
    mon = PositionMonitor(ExecutionInterfaceFactory(), cfg, "live",
                          clients={"binance": FakeClient("binance"), "okx": okx}, clock=clock,
                          why=lambda venue: lost if venue == "okx" else None)
    await mon.get_real_positions(utc(0))
    okx.error = VenueTimeoutError("okx", "no answer within the 0.2 s deadline")
    clock.t += 3.0
    snap = await mon.get_real_positions(utc(3))
    stale = snap.venues["okx"]
    assert stale.status == "stale" and stale.age_s == pytest.approx(3.0)
    assert stale.error == f"VenueTimeoutError: okx: no answer within the 0.2 s deadline ({lost})"
    assert snap.positions["okx:Perp:BTCUSDT"] == -0.3 and snap.missing == []
    assert snap.venues["binance"].status == "ok" and snap.venues["binance"].error is None


async def test_an_explanation_that_fails_never_fails_the_snapshot():
    def broken(venue):
        raise RuntimeError("supervisor gone")

    mon = PositionMonitor(ExecutionInterfaceFactory(), {"venues": ["okx"]}, "live",
                          clients={"okx": FakeClient("okx", error=RuntimeError("503"))},
                          clock=Clock(), why=broken)
    snap = await mon.get_real_positions(utc(0))
    assert snap.missing == ["okx"] and "503" in snap.alerts[0].message
