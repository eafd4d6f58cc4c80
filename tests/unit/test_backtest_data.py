"""Market data: schema layout, raw shared files, explicit gap rules, windows."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

import actors.backtest as bt
from actors.backtest.data.align import align_events, align_index, align_prices
from actors.backtest.data.load import load_market, write_schema_dir
from actors.backtest.data.market import DataError, parse_instant
from actors.backtest.data.synthetic import synthetic_market, synthetic_tables

H = 3600
GRID = np.arange(0, 48 * H, H, dtype=np.int64)


def test_package_public_names_are_pinned():
    assert sorted(bt.__all__) == sorted([
        "COMPONENTS", "BacktestResult", "Book", "DataError", "Gap", "MarketData", "Tick",
        "assemble", "fingerprint", "load_market", "make_strategy", "net_delta",
        "synthetic_market", "write_schema_dir",
    ])


def test_price_gap_within_limit_is_forward_filled_and_reported():
    ts = np.array([0, H, 2 * H, 6 * H, 7 * H])  # hours 3..5 missing
    col, filled, gaps = align_prices("spot.BTC", ts, np.array([1.0, 2, 3, 7, 8]), GRID, H, limit=3)
    assert col[:8].tolist() == [1, 2, 3, 3, 3, 3, 7, 8]
    assert filled[3:6].all() and not filled[:3].any() and not filled[6:8].any()
    assert [(g.start, g.steps, g.filled) for g in gaps] == [(3 * H, 3, True)]


def test_price_gap_longer_than_limit_stays_unknown_over_its_whole_length():
    ts = np.array([0, 5 * H])
    col, filled, gaps = align_prices("perp.BTC", ts, np.array([1.0, 6.0]), GRID, H, limit=3)
    assert np.isnan(col[1:5]).all() and col[5] == 6.0
    assert not filled.any()
    assert gaps[0].steps == 4 and not gaps[0].filled


def test_before_first_and_after_last_report_is_coverage_not_a_gap():
    col, _, gaps = align_prices("x", np.array([2 * H, 3 * H]), np.array([1.0, 2.0]), GRID, H, 24)
    assert np.isnan(col[:2]).all() and np.isnan(col[4:]).all() and gaps == []


def test_funding_is_never_filled_and_missing_settlements_are_reported():
    ts = np.array([0, 8 * H, 24 * H, 32 * H])  # the 16h settlement is missing
    col, gaps = align_events("funding.BTC", ts, np.array([1e-4, 2e-4, 3e-4, 4e-4]), GRID, H)
    assert np.count_nonzero(~np.isnan(col)) == 4
    assert np.isnan(col[16]) and col[8] == 2e-4
    assert [(g.start, g.steps, g.filled) for g in gaps] == [(16 * H, 8, False)]


def test_two_settlements_in_one_step_are_refused():
    with pytest.raises(DataError, match="two settlements"):
        align_events("funding.BTC", np.array([0, 60]), np.array([1e-4, 1e-4]), GRID, H)


def test_liquidity_index_is_projected_forward_without_looking_ahead():
    day = 24 * H
    ts = np.array([0, day])
    a, _ = align_index("i", ts, np.array([1.0, 1.5]), GRID, H, 72, rate=np.array([0.0876, 0.0]))
    b, _ = align_index("i", ts, np.array([1.0, 9.9]), GRID, H, 72, rate=np.array([0.0876, 0.0]))
    assert a[12] == pytest.approx(1.0 + 0.0876 * 12 * H / (365 * 86400))
    assert a[12] == b[12]  # the next observation does not leak backwards
    assert a[24] == 1.5  # observations are exact


def test_borrow_index_compounds_per_second_and_without_rate_interpolates_log_linearly():
    ts = np.array([0, 24 * H])
    comp, _ = align_index("b", ts, np.array([1.0, 1.1]), GRID, H, 72, rate=np.array([0.1, 0.1]),
                          compounded=True)
    assert comp[12] == pytest.approx((1 + 0.1 / (365 * 86400)) ** (12 * H))
    loglin, _ = align_index("b", ts, np.array([1.0, 1.21]), GRID, H, 72)
    assert loglin[12] == pytest.approx(1.1)


def test_index_observations_too_far_apart_leave_the_span_unknown():
    col, gaps = align_index("i", np.array([0, 40 * H]), np.array([1.0, 1.1]),
                            np.arange(0, 48 * H, H), H, limit=24)
    assert np.isnan(col[1:40]).all() and col[40] == 1.1
    assert gaps[0].steps == 39


def test_schema_dir_round_trip_csv_and_parquet(tmp_path):
    tables = synthetic_tables(seed=5, days=20)
    direct = bt.assemble(tables, "mem")
    for fmt in ("csv", "parquet"):
        write_schema_dir(tables, tmp_path / fmt, fmt)
        loaded = load_market(tmp_path / fmt)
        assert sorted(loaded.columns) == sorted(direct.columns)
        for name, col in direct.columns.items():
            np.testing.assert_allclose(loaded.columns[name], col, rtol=1e-15, equal_nan=True)


def test_schema_file_missing_a_column_names_file_and_column(tmp_path):
    (tmp_path / "spot").mkdir()
    pd.DataFrame({"timestamp": ["2024-01-01T00:00:00Z"], "close": [1.0]}).to_csv(
        tmp_path / "spot" / "BTC.csv", index=False)
    with pytest.raises(DataError, match=r"spot/BTC.csv: missing column\(s\) price"):
        load_market(tmp_path)


def test_epoch_milliseconds_timestamps_are_read(tmp_path):
    (tmp_path / "spot").mkdir()
    pd.DataFrame({"timestamp": [1704067200000, 1704070800000], "price": [1.0, 2.0]}).to_csv(
        tmp_path / "spot" / "BTC.csv", index=False)
    m = load_market(tmp_path)
    assert m.times[0] == 1704067200 and m.columns["spot.BTC"].tolist() == [1.0, 2.0]


def _raw_csv(path, header, rows):
    with gzip.open(path, "wt") as f:
        f.write(header + "\n" + "\n".join(rows) + "\n")


def test_raw_layout_is_detected_mapped_and_deduplicated(tmp_path):
    hours = [f"2024-01-01T{h:02d}:00:00Z" for h in range(4)]
    _raw_csv(tmp_path / "binance_BTCUSDT_1h_2024-01-01_2024-01-02.csv.gz",
             "timestamp,open,high,low,close",
             [f"{t},{100 + i},0,0,{200 + i}" for i, t in enumerate(hours)])
    _raw_csv(tmp_path / "bybit_ETHUSDT_spot_1h_2024-01-01_2024-01-02.csv.gz",
             "timestamp,open,close",
             [f"{hours[0]},10,11", f"{hours[0]},10,11", f"{hours[1]},12,13"])
    _raw_csv(tmp_path / "binance_BTCUSDT_funding_rates_2024-01-01_2024-01-02.csv.gz",
             "funding_timestamp,funding_rate,symbol", [f"{hours[0]},0.0001,BTCUSDT"])
    _raw_csv(tmp_path / "notes_about_things.csv.gz", "a,b", ["1,2"])
    m = load_market(tmp_path)
    assert m.columns["spot.BTC"].tolist() == [100, 101, 102, 103]  # the open, not the close
    assert m.columns["spot.ETH"][:2].tolist() == [10, 12]
    assert any("duplicate" in n for n in m.notes) and any("ignored" in n for n in m.notes)


def test_a_directory_with_neither_layout_is_a_clear_error(tmp_path):
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(DataError, match="no market data found"):
        load_market(tmp_path)


def test_window_errors_name_the_problem():
    m = synthetic_market(seed=1, days=30)
    with pytest.raises(DataError, match="not before"):
        m.window(["spot.BTC"], parse_instant("2024-01-10"), parse_instant("2024-01-05"))
    with pytest.raises(DataError, match="outside"):
        m.window(["spot.BTC"], parse_instant("2023-12-01"), None)
    with pytest.raises(DataError, match="no spot.DOGE"):
        m.window(["spot.DOGE"])
    with pytest.raises(DataError, match="not a date"):
        parse_instant("2024-02-30")


def test_window_refuses_a_gap_longer_than_the_fill_limit():
    tables = synthetic_tables(seed=2, days=60)  # 23h gaps every 41 days
    short = bt.assemble(tables, "syn", fill_limit_h=12)
    with pytest.raises(DataError, match="gap longer than the fill limit"):
        short.window(["spot.BTC"], parse_instant("2024-01-01"), parse_instant("2024-02-28"))
    ok = bt.assemble(tables, "syn", fill_limit_h=24)
    ok.window(["spot.BTC"], parse_instant("2024-01-01"), parse_instant("2024-02-28"))


def test_synthetic_market_is_seeded():
    a, b = synthetic_market(7, days=10), synthetic_market(7, days=10)
    c = synthetic_market(8, days=10)
    assert all(np.array_equal(a.columns[k], b.columns[k], equal_nan=True) for k in a.columns)
    assert not np.array_equal(a.columns["spot.BTC"], c.columns["spot.BTC"])


# -- the real files ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(market_data_dir):
    return load_market(market_data_dir)


def test_real_binance_gaps_are_filled_explicitly(real):
    btc = [g for g in real.gaps if g.column == "spot.BTC"]
    assert len(btc) == 15 and all(g.steps == 23 and g.filled for g in btc)
    assert real.filled["spot.BTC"].sum() == 15 * 23
    assert "spot.ETH" not in real.filled  # bybit has no gaps, only duplicate rows
    assert any("bybit_ETHUSDT" in n and "15 duplicate" in n for n in real.notes)


def test_real_funding_is_only_at_settlements(market_data_dir, real):
    name = "binance_BTCUSDT_funding_rates_2024-01-01_2025-09-30.csv.gz"
    raw = pd.read_csv(market_data_dir / name, comment="#")
    col = real.columns["funding.BTC"]
    assert np.count_nonzero(~np.isnan(col)) == len(raw)
    hours = (real.times[~np.isnan(col)] % 86400) // 3600
    assert set(hours.tolist()) == {0, 8, 16}


def test_real_weeth_starts_2024_05_12_and_earlier_windows_are_refused(real):
    assert real.coverage("lst.weETH")[0] == parse_instant("2024-05-12T01:00:00Z")
    assert real.coverage("aave.weETH.liquidity_index")[0] == parse_instant("2024-05-12")
    with pytest.raises(DataError, match="lst.weETH covers 2024-05-12"):
        real.window(["lst.weETH"], parse_instant("2024-01-01"), parse_instant("2024-06-01"))
