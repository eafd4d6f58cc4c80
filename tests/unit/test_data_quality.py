"""Bad data never gives a quiet number: every case is refused (exit 2, one line naming file,
instant and problem) or, on request, run with the problem counted in ``data_quality``."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from actors.backtest.data.load import load_market
from actors.backtest.data.quality import quality_line
from actors.backtest.simulator import Simulator
from actors.cli.main import main
from tests.unit.test_backtest_strategies import mode

T0 = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 12
FUNDING = "binance_BTCUSDT_funding_rates_2024-01-01_2024-01-13.csv.gz"
HELD = ["strategy.rebalance=false", "strategy.fee_rate=0", "thresholds.target_margin_ratio=1.0",
        "hedge.splits={binance: 1.0}"]


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def write(path, header, rows):
    with gzip.open(path, "wt") as f:
        f.write(header + "\n" + "\n".join(rows) + "\n")


def spot_price(h: int) -> float:
    return 40_000.0 + 37.0 * (h % 11) - 5.0 * h


def mark_price(h: int) -> float:
    return spot_price(h) * 1.0003 + 2.0 * (h % 5)


def rate(k: int) -> float:
    return 1.0e-4 + 1.0e-6 * (k % 7)


def settlements():
    """``(hour index, rate text)`` of every 8-hourly settlement."""
    return [(h, repr(rate(h // 8))) for h in range(0, DAYS * 24, 8)]


def make_folder(d, funding=None, venue="binance", perp_venue=None, spot_rows=None):
    """A raw folder: hourly spot and perp candles and 8-hourly funding of one venue."""
    hours = range(DAYS * 24)
    write(d / f"{venue}_BTCUSDT_1h_2024-01-01_2024-01-13.csv.gz", "timestamp,open,close",
          spot_rows or [f"{stamp(T0 + timedelta(hours=h))},{spot_price(h)!r},0" for h in hours])
    write(d / f"{perp_venue or venue}_BTCUSDT_perp_1h_2024-01-01_2024-01-13.csv.gz",
          "timestamp,open,close",
          [f"{stamp(T0 + timedelta(hours=h))},{mark_price(h)!r},0" for h in hours])
    rows = funding if funding is not None else settlements()
    write(d / FUNDING.replace("binance", venue), "funding_timestamp,funding_rate,symbol",
          [f"{stamp(T0 + timedelta(hours=h))},{r},BTCUSDT" for h, r in rows])
    return d


def expected_funding(booked_hours, start_h=0, end_h=DAYS * 24 - 1):
    """The constant hedge's funding computed from the rows: qty x mark x rate per settlement."""
    qty = 100_000.0 / (spot_price(start_h) + mark_price(start_h))
    return sum(qty * mark_price(h) * rate(h // 8) for h in booked_hours if start_h < h <= end_h)


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def backtest(capsys, folder, *extra):
    argv = ["backtest", "btc_basis", "--data", str(folder), "--json"]
    for o in HELD:
        argv += ["--set", o]
    return cli(capsys, *argv, *extra)


def assert_one_line(code, out, err, *needles):
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for n in needles:
        assert n in err, err


# -- a hole of five days in the funding file ----------------------------------------------------


def hole():
    return [(h, r) for h, r in settlements() if not 72 <= h < 72 + 5 * 24]  # days 3..7


def test_a_five_day_funding_hole_is_refused_naming_file_and_first_instant(tmp_path, capsys):
    code, out, err = backtest(capsys, make_folder(tmp_path, hole()))
    assert_one_line(code, out, err, FUNDING, "funding settlement missing",
                    "2024-01-04T00:00:00Z", "15 such instant(s)", "--allow-gaps")


def test_allow_gaps_runs_and_says_funding_covers_x_of_y(tmp_path, capsys):
    code, out, err = backtest(capsys, make_folder(tmp_path, hole()), "--allow-gaps")
    assert code == 0, err
    s = json.loads(out)
    f = s["data_quality"]["funding"]["funding.BTC"]
    assert (f["expected"], f["booked"], f["missing"]) == (35, 20, 15)
    assert f["first_missing"][0] == "2024-01-04T00:00:00Z"
    assert s["data_quality"]["complete"] is False
    assert "covers 20 of 35 settlements" in err  # the one-line summary, beside the JSON
    # nothing invented for the hole: exactly the booked settlements' funding
    booked = [h for h, _ in hole()]
    assert s["attribution"]["funding"] == pytest.approx(expected_funding(booked), rel=1e-9)


def test_the_table_output_ends_with_the_summary_line(tmp_path, capsys):
    argv = ["backtest", "btc_basis", "--data", str(make_folder(tmp_path, hole())), "--allow-gaps"]
    code, out, err = cli(capsys, *argv, *[x for o in HELD for x in ("--set", o)])
    assert code == 0, err
    assert out.splitlines()[-1].startswith(
        "  data quality: funding funding.BTC covers 20 of 35 settlements "
        "(first missing 2024-01-04T00:00:00Z; booked as unknown)")


def test_a_complete_funding_file_books_every_settlement(tmp_path, capsys):
    code, out, err = backtest(capsys, make_folder(tmp_path))
    assert code == 0, err
    s = json.loads(out)
    f = s["data_quality"]["funding"]["funding.BTC"]
    assert (f["expected"], f["booked"], f["missing"]) == (35, 35, 0)
    assert s["data_quality"]["complete"] is True and err == ""  # nothing to report
    every = [h for h, _ in settlements()]
    assert s["attribution"]["funding"] == pytest.approx(expected_funding(every), rel=1e-9)


# -- NaN and non-numeric rates --------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["nan", "abc", ""])
def test_an_unusable_rate_is_refused_naming_the_instant(tmp_path, capsys, bad):
    rows = [(h, bad if h == 40 else r) for h, r in settlements()]
    code, out, err = backtest(capsys, make_folder(tmp_path, rows))
    assert_one_line(code, out, err, FUNDING, "2024-01-02T16:00:00Z", "not a number")


def test_an_unusable_rate_with_allow_gaps_is_unknown_not_zero(tmp_path, capsys):
    rows = [(h, "abc" if h == 40 else r) for h, r in settlements()]
    code, out, err = backtest(capsys, make_folder(tmp_path, rows), "--allow-gaps")
    assert code == 0, err
    s = json.loads(out)
    f = s["data_quality"]["funding"]["funding.BTC"]
    assert (f["booked"], f["expected"]) == (34, 35) and s["data_quality"]["unusable_rows"]
    booked = [h for h, _ in settlements() if h != 40]
    assert s["attribution"]["funding"] == pytest.approx(expected_funding(booked), rel=1e-9)


# -- conflicting duplicates ---------------------------------------------------------------------


def test_conflicting_duplicate_rows_are_refused_not_last_row_wins(tmp_path, capsys):
    rows = settlements()
    rows.insert(6, (48, repr(rate(6) * 10)))  # a second, different rate at 2024-01-03 00:00
    code, out, err = backtest(capsys, make_folder(tmp_path, rows))
    assert_one_line(code, out, err, FUNDING, "2024-01-03T00:00:00Z", "conflicting duplicate")


def test_conflicting_duplicates_with_allow_gaps_book_neither_row(tmp_path, capsys):
    rows = settlements()
    rows.insert(6, (48, repr(rate(6) * 10)))
    code, out, err = backtest(capsys, make_folder(tmp_path, rows), "--allow-gaps")
    assert code == 0, err
    s = json.loads(out)
    assert s["data_quality"]["conflicting_duplicates"] == {"funding.BTC": 1}
    booked = [h for h, _ in settlements() if h != 48]
    assert s["attribution"]["funding"] == pytest.approx(expected_funding(booked), rel=1e-9)


def test_identical_duplicates_are_dropped_and_counted(tmp_path, capsys):
    rows = settlements()
    rows.insert(6, rows[6])
    code, out, err = backtest(capsys, make_folder(tmp_path, rows))
    assert code == 0, err
    s = json.loads(out)
    assert s["data_quality"]["duplicates_dropped"] == {"funding.BTC": 1}
    assert "1 identical duplicate row(s) dropped (funding.BTC)" in err
    every = [h for h, _ in settlements()]
    assert s["attribution"]["funding"] == pytest.approx(expected_funding(every), rel=1e-9)


# -- implausible rates ----------------------------------------------------------------------------


def test_rates_in_percent_are_refused_naming_file_and_value(tmp_path, capsys):
    rows = [(h, repr(float(r) * 100)) for h, r in settlements()]
    code, out, err = backtest(capsys, make_folder(tmp_path, rows))
    assert_one_line(code, out, err, FUNDING, "looks like percent", "0.01")


def test_one_rate_beyond_the_cap_is_refused_and_the_flag_overrides(tmp_path, capsys):
    rows = [(h, "0.2" if h == 80 else r) for h, r in settlements()]
    folder = make_folder(tmp_path, rows)
    code, out, err = backtest(capsys, folder)
    assert_one_line(code, out, err, FUNDING, "funding rate 0.2 at 2024-01-04T08:00:00Z",
                    "--allow-implausible-rates")
    code, out, err = backtest(capsys, folder, "--allow-implausible-rates")
    assert code == 0, err
    assert json.loads(out)["attribution"]["funding"] > expected_funding(
        [h for h, _ in settlements()])


# -- no look-ahead; the window may end at the last price bar -------------------------------------


def test_a_sub_hourly_bar_uses_the_first_observation_of_the_hour(tmp_path):
    rows = []
    for h in range(DAYS * 24):
        for minute, bump in ((0, 0.0), (15, 10.0), (59, 99.0)):
            t = T0 + timedelta(hours=h, minutes=minute)
            rows.append(f"{stamp(t)},{spot_price(h) + bump!r},0")
    m = load_market(make_folder(tmp_path, spot_rows=rows))
    assert m.columns["spot.BTC"][7] == spot_price(7)  # 07:00, not 07:59 (+99) nor 07:15


def test_the_default_window_ends_at_the_last_price_bar(tmp_path):
    m = load_market(make_folder(tmp_path))  # last settlement 2024-01-12 16:00, prices to 23:00
    res = Simulator(mode("btc_basis", *HELD), m).run()
    assert res.summary()["end"] == "2024-01-12T23:00:00Z"
    assert res.data_quality["funding"]["funding.BTC"]["missing"] == 0


def test_a_window_past_the_next_due_settlement_is_refused(tmp_path):
    rows = [(h, r) for h, r in settlements() if h < 200]  # the last settlement: 01-09 00:00
    m = load_market(make_folder(tmp_path, rows))
    with pytest.raises(Exception, match="covers .* 2024-01-09T07:00:00Z"):
        Simulator(mode("btc_basis", *HELD), m, "2024-01-01", "2024-01-10").run()


# -- the summary line -----------------------------------------------------------------------------


def test_quality_line_is_none_when_every_count_is_zero():
    assert quality_line({"funding": {}, "forward_filled_steps": {}, "stand_ins": [],
                         "window": {"clipped": []}}) is None
    line = quality_line({"forward_filled_steps": {"spot.BTC": 23, "perp.BTC": 23}})
    assert line == "data quality: 46 forward-filled price step(s) (spot.BTC, perp.BTC)"


def test_a_clipped_window_edge_is_reported(tmp_path, capsys):
    code, out, err = backtest(capsys, make_folder(tmp_path), "--start", "2024-01-02T00:30:00Z")
    assert code == 0, err
    clipped = json.loads(out)["data_quality"]["window"]["clipped"]
    assert clipped == [("start 2024-01-02T00:30:00Z -> 2024-01-02T01:00:00Z "
                        "(first step on the data grid)")]
    assert "window clipped" in err


# -- the shipped data ---------------------------------------------------------------------------


def test_shipped_2024_constant_hedge_equals_an_independent_computation(market_data_dir):
    """btc_basis 2024, held, no fee, margin = notional: equity and funding from the raw CSVs."""
    import pandas as pd

    def raw(name, col="timestamp"):
        df = pd.read_csv(market_data_dir / name)
        return df.set_index(pd.to_datetime(df[col], utc=True, format="ISO8601")).sort_index()

    start, end = pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2025-01-01", tz="UTC")
    spot = raw("binance_BTCUSDT_1h_2024-01-01_2025-09-30.csv.gz")["open"]
    perp = raw("binance_BTCUSDT_perp_1h_2024-01-01_2025-09-30.csv.gz")["open"]
    rates = raw("binance_BTCUSDT_funding_rates_2024-01-01_2025-09-30.csv.gz",
                "funding_timestamp")["funding_rate"]
    hourly = perp.reindex(pd.date_range(perp.index[0], perp.index[-1], freq="1h")).ffill()
    qty = 100_000.0 / (spot[start] + perp[start])
    settle = rates[(rates.index > start) & (rates.index <= end)]
    funding = float((qty * hourly.reindex(settle.index).to_numpy() * settle.to_numpy()).sum())
    final = 100_000.0 + qty * (spot[end] - spot[start]) - qty * (perp[end] - perp[start]) + funding

    res = Simulator(mode("btc_basis", *HELD[:3]), load_market(market_data_dir),
                    "2024-01-01", "2025-01-01").run()
    assert res.attribution["funding"] == pytest.approx(funding, rel=1e-9)
    assert res.final_equity == pytest.approx(final, rel=1e-9)
    assert res.data_quality["funding"]["funding.BTC"]["missing"] == 0
    assert res.data_quality["funding"]["funding.BTC"]["booked"] == len(settle) == 1098
