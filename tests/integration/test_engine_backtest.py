"""The engine on a real local Ray: factory first, then the monitor actor, then snapshots."""

from pathlib import Path

import pytest
import ray

from actors.engine import EventDrivenStrategyEngine
from factory.config import load_mode, with_overrides

REPO = Path(__file__).resolve().parents[2]

ALLOCATION = {
    "binance:BaseToken:BTC": 1.0,
    "binance:Perp:BTCUSDT": -0.4,
    "bybit:Perp:BTCUSDT": -0.3,
    "okx:Perp:BTCUSDT": -0.3,
}


@pytest.fixture
def engine(ray_session, tmp_path):
    cfg = load_mode(REPO / "configs" / "modes" / "btc_basis.yaml")
    cfg = with_overrides(cfg, {"allocation": ALLOCATION, "venues": ["binance", "bybit", "okx"]})
    eng = EventDrivenStrategyEngine(
        cfg, "backtest", monitor_name="position-monitor-test",
        store_path=str(tmp_path / "history.sqlite"),
    )
    yield eng
    eng.shutdown()


def test_btc_basis_backtest_snapshot_through_the_actor_handle(engine):
    ref = engine.position_monitor.get_real_positions.remote("2024-03-01T00:00:00Z")
    snap = ray.get(ref, timeout=60)
    assert snap.positions == ALLOCATION
    assert snap.net_exposure["BTC"] == pytest.approx(0.0, abs=1e-12)
    assert snap.execution_mode == "backtest" and snap.complete
    assert set(snap.venues) == {"binance", "bybit", "okx"}
    assert snap.reconciliation is not None and snap.reconciliation.ok


def test_the_engine_builds_the_factory_before_the_monitor(engine):
    assert engine.init_order == ["factory", "position_monitor"]
    assert ray.get(engine.position_monitor.venues.remote()) == ["binance", "bybit", "okx"]


def test_the_engine_sets_the_expected_positions_and_reads_the_history(engine):
    first = engine.get_real_positions("2024-03-01T00:00:00Z", timeout_s=60)
    assert first.reconciliation is not None and first.reconciliation.ok
    engine.set_expected({**ALLOCATION, "okx:Perp:BTCUSDT": -0.5})
    second = engine.get_real_positions("2024-03-01T08:00:00Z", timeout_s=60)
    assert second.reconciliation is not None
    assert [(i.key, i.expected, i.real) for i in second.reconciliation.mismatches] == [
        ("okx:Perp:BTCUSDT", -0.5, -0.3)]
    history = engine.position_history()
    assert [s.timestamp for s in history] == [first.timestamp, second.timestamp]
    assert engine.position_history(start="2024-03-01T04:00:00Z") == [second]
