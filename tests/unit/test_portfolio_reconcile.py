"""Pure portfolio arithmetic and reconciliation."""

import pytest

from actors.portfolio import margin_ratio, net_exposure, risk_summary
from actors.reconcile import reconcile
from factory.config import ReconciliationConfig
from factory.positions import AccountInfo, Position, VenueSnapshot, utc


def snap(venue, positions, account=None, status="ok"):
    return VenueSnapshot(
        venue=venue,
        execution_mode="live",
        timestamp=utc(0),
        fetched_at=utc(0),
        status=status,
        positions={k: Position(key=k, **v) for k, v in positions.items()},
        account=account,
    )


def test_net_exposure_counts_lsts_at_rate_supply_minus_debt_and_signed_perps():
    snaps = [
        snap("etherfi", {"etherfi:LST:weETH": {"amount": 10, "rate": 1.05}}),
        snap("aave_v3", {"aave_v3:aToken:aweETH": {"amount": 4, "rate": None},
                         "aave_v3:debtToken:debtWETH": {"amount": 3}}),
        snap("binance", {"binance:Perp:ETHUSDT": {"amount": -11.5},
                         "binance:BaseToken:USDT": {"amount": 1000}}),
    ]
    exp = net_exposure(snaps)
    # the aweETH supply counts at the weETH rate the etherfi venue reported
    assert exp["ETH"] == pytest.approx(10 * 1.05 + 4 * 1.05 - 3 - 11.5)
    assert exp["USD"] == 1000


def test_margin_ratio_is_margin_balance_over_perp_notional():
    s = snap("okx", {"okx:Perp:BTCUSDT": {"amount": -0.3, "mark_price": 50000}},
             AccountInfo(margin_balance=7500))
    assert margin_ratio(s) == pytest.approx(7500 / 15000)
    assert margin_ratio(snap("okx", {})) is None


def test_risk_summary_reads_health_factor_and_ltv():
    acct = AccountInfo(total_collateral=100.0, total_debt=60.0, health_factor=1.2)
    r = risk_summary([snap("aave_v3", {}, acct)])
    assert r.health_factor == {"aave_v3": 1.2}
    assert r.ltv == {"aave_v3": pytest.approx(0.6)}


def test_distance_to_liquidation_is_signed_relative_move():
    s = snap("bybit", {"bybit:Perp:BTCUSDT": {"amount": -1, "mark_price": 100, "liquidation_price": 150}})
    assert risk_summary([s]).distance_to_liquidation == {"bybit:Perp:BTCUSDT": pytest.approx(0.5)}


CFG = ReconciliationConfig(abs_tol=0.01, rel_tol=0.001)


def test_reconcile_flags_only_differences_beyond_tolerance():
    expected = {"okx:Perp:BTCUSDT": -10.0, "binance:BaseToken:BTC": 1.0}
    real = {"okx:Perp:BTCUSDT": -10.005, "binance:BaseToken:BTC": 0.9}
    res = reconcile(expected, real, {"okx", "binance"}, CFG)
    status = {i.key: i.status for i in res.items}
    assert status == {"okx:Perp:BTCUSDT": "ok", "binance:BaseToken:BTC": "mismatch"}
    item = res.mismatches[0]
    assert item.diff == pytest.approx(-0.1) and item.tolerance == pytest.approx(0.01)


def test_a_venue_that_did_not_report_is_unknown_not_a_mismatch_to_zero():
    res = reconcile({"bybit:Perp:BTCUSDT": -0.3}, {}, reported_venues=set(), cfg=CFG)
    assert [(i.status, i.real) for i in res.items] == [("unknown", None)]
    assert not res.mismatches and not res.ok


def test_an_unexpected_real_position_is_a_mismatch():
    res = reconcile({}, {"okx:Perp:BTCUSDT": -1}, {"okx"}, CFG)
    assert res.mismatches[0].key == "okx:Perp:BTCUSDT"
