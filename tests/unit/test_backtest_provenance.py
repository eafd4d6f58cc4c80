"""Each leg reads its own venue's series; a stand-in is configured and named, or refused."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from actors.backtest.data.load import load_market
from actors.backtest.data.market import DataError
from actors.backtest.simulator import Simulator
from tests.unit.test_backtest_strategies import mode
from tests.unit.test_data_quality import (
    DAYS,
    HELD,
    T0,
    backtest,
    make_folder,
    mark_price,
    rate,
    settlements,
    spot_price,
    stamp,
    write,
)

BOTH = [*HELD[:3], "hedge.splits={binance: 0.5, bybit: 0.5}"]


def bybit_mark(h: int) -> float:
    return mark_price(h) + 15.0 + (h % 3)


def bybit_rate(k: int) -> float:
    return 2.5e-4 - 3.0e-6 * (k % 4)


def add_bybit_perp(d, funding=True):
    write(d / "bybit_BTCUSDT_perp_1h_2024-01-01_2024-01-13.csv.gz", "timestamp,open,close",
          [f"{stamp(T0 + timedelta(hours=h))},{bybit_mark(h)!r},0" for h in range(DAYS * 24)])
    if funding:
        write(d / "bybit_BTCUSDT_funding_rates_2024-01-01_2024-01-13.csv.gz",
              "funding_timestamp,funding_rate,symbol",
              [f"{stamp(T0 + timedelta(hours=h))},{bybit_rate(h // 8)!r},BTCUSDT"
               for h in range(0, DAYS * 24, 8)])
    return d


def test_each_perp_leg_reads_its_own_venues_marks_and_funding(tmp_path):
    market = load_market(add_bybit_perp(make_folder(tmp_path)))
    res = Simulator(mode("btc_basis", *BOTH), market).run()
    qty = 100_000.0 / (spot_price(0) + mark_price(0))  # sized on the first leg's mark
    hours = [h for h, _ in settlements() if h > 0]
    binance = sum(0.5 * qty * mark_price(h) * rate(h // 8) for h in hours)
    bybit = sum(0.5 * qty * bybit_mark(h) * bybit_rate(h // 8) for h in hours)
    assert res.attribution["funding"] == pytest.approx(binance + bybit, rel=1e-9)
    # each leg's uPnL moves with its own mark: the price PnL is the two legs' own moves
    end = DAYS * 24 - 1
    price = qty * (spot_price(end) - spot_price(0)) - 0.5 * qty * (
        mark_price(end) - mark_price(0) + bybit_mark(end) - bybit_mark(0))
    assert res.attribution["price"] == pytest.approx(price, rel=1e-9)
    assert res.data_quality["stand_ins"] == []
    assert any(line.startswith("bybit perp leg: funding from bybit BTCUSDT")
               for line in res.data_quality["provenance"])


def test_a_mixed_folder_never_pairs_one_venues_funding_with_anothers_marks(tmp_path, capsys):
    d = make_folder(tmp_path)
    (d / "binance_BTCUSDT_perp_1h_2024-01-01_2024-01-13.csv.gz").unlink()
    add_bybit_perp(d, funding=False)  # marks from bybit, funding from binance only
    code, out, err = backtest(capsys, d)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "no binance series for the binance perp leg's marks" in err
    assert "--fallback-venue" in err


def test_a_named_fallback_runs_and_is_listed_as_a_stand_in(tmp_path, capsys):
    d = make_folder(tmp_path)
    (d / "binance_BTCUSDT_perp_1h_2024-01-01_2024-01-13.csv.gz").unlink()
    add_bybit_perp(d, funding=False)
    code, out, err = backtest(capsys, d, "--fallback-venue", "bybit")
    assert code == 0, err
    dq = json.loads(out)["data_quality"]
    assert dq["stand_ins"] == [(
        "binance perp leg: marks from bybit BTCUSDT "
        "(bybit_BTCUSDT_perp_1h_2024-01-01_2024-01-13.csv.gz), "
        "standing in for binance (--fallback-venue)")]
    assert "1 stand-in series (binance perp leg: marks from bybit BTCUSDT)" in err


def test_the_shipped_data_names_its_stand_ins_from_its_manifest(market_data_dir):
    res = Simulator(mode("btc_basis"), load_market(market_data_dir), "2024-01-01",
                    "2024-01-08").run()
    stand_ins = [s.split(" (")[0] for s in res.data_quality["stand_ins"]]
    assert stand_ins == [
        "bybit perp leg: marks from binance BTCUSDT", "okx perp leg: marks from binance BTCUSDT",
        "bybit perp leg: funding from binance BTCUSDT",
        "okx perp leg: funding from binance BTCUSDT",
    ]
    assert all(s.endswith("(manifest.yaml)") for s in res.data_quality["stand_ins"])


def test_without_the_manifest_the_shipped_files_refuse_the_missing_venues(tmp_path,
                                                                          market_data_dir):
    for f in market_data_dir.glob("binance_BTCUSDT_*"):
        shutil.copy(f, tmp_path / f.name)
    with pytest.raises(DataError, match="no bybit series for the bybit perp leg's marks"):
        Simulator(mode("btc_basis"), load_market(tmp_path), "2024-01-01", "2024-01-08")


def test_the_documented_layout_takes_a_venue_after_at(tmp_path):
    t = pd.date_range("2024-01-01", periods=48, freq="1h", tz="UTC")
    ts = t.strftime("%Y-%m-%dT%H:%M:%SZ")
    for sub, name, col, values in (
        ("spot", "BTC", "price", np.full(48, 40_000.0)),
        ("perp", "BTC", "mark", np.full(48, 40_010.0)),
        ("perp", "BTC@bybit", "mark", np.full(48, 40_020.0)),
        ("funding", "BTC", "rate", np.where(np.arange(48) % 8 == 0, 1e-4, np.nan)),
    ):
        (tmp_path / sub).mkdir(exist_ok=True)
        pd.DataFrame({"timestamp": ts, col: values}).dropna().to_csv(
            tmp_path / sub / f"{name}.csv", index=False)
    market = load_market(tmp_path)
    assert market.info["perp.BTC@bybit"].venue == "bybit"
    assert market.info["perp.BTC"].venue is None
    res = Simulator(mode("btc_basis", *BOTH), market).run()
    lines = res.data_quality["provenance"]
    assert "bybit perp leg: marks from bybit BTC (perp/BTC@bybit.csv)" in lines
    assert "binance perp leg: marks from BTC (perp/BTC.csv) (the data names no venue)" in lines
    assert res.data_quality["stand_ins"] == []
