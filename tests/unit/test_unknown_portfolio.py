"""Unknown stays unknown in the portfolio: a figure that needs an unknown input is null with a
reason, never 0, never a default rate, never a sum over the legs that answered."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from actors.alerts import evaluate_alerts
from actors.monitor import aggregate
from actors.portfolio import exposure, risk_summary, usd_values
from actors.view import render_snapshot
from factory.config import config_dir, load_mode
from factory.positions import (
    AccountInfo,
    PortfolioSnapshot,
    Position,
    VenueSnapshot,
    utc,
)

LEVERAGED = load_mode(config_dir() / "modes" / "usdt_eth_staking_hedged_leveraged.yaml")
AUTH = "AuthenticationError: binance: invalid API key (venue code -2015)"


def snap(venue, positions=None, *, account=None, status="ok", age_s=0.0, rates=None,
         transfers_unknown=None):
    return VenueSnapshot(
        venue=venue, execution_mode="live", timestamp=utc(0), fetched_at=utc(0), status=status,
        age_s=age_s, account=account, rates=rates or {}, transfers_unknown=transfers_unknown,
        positions={k: Position(key=k, **v) for k, v in (positions or {}).items()},
    )


def aave(**account):
    acct = AccountInfo(**({"total_collateral": 40000.0, "total_debt": 20000.0,
                           "health_factor": 1.8} | account))
    return snap("aave_v3", {"aave_v3:aToken:aweETH": {"amount": 10.0},
                            "aave_v3:debtToken:debtWETH": {"amount": 6.0}}, account=acct)


def render(portfolio: PortfolioSnapshot) -> str:
    console = Console(record=True, width=200)
    console.print(render_snapshot(portfolio))
    return console.export_text()


# -- the LST rate -------------------------------------------------------------------------------


def test_all_weeth_on_aave_counts_at_the_rate_the_etherfi_venue_read():
    # etherfi read getRate() = 1.05 but the wallet holds no weETH: the rate still travels
    etherfi = snap("etherfi", rates={"weETH": 1.05})
    net = exposure([aave(), etherfi]).net
    assert net["ETH"] == pytest.approx(10 * 1.05 - 6)  # 4.5, not 4.0 at a default rate of 1.0


def test_an_lst_rate_nobody_read_makes_net_eth_unknown_never_one():
    portfolio = aggregate(utc(0), "live", {"aave_v3": aave()}, [], LEVERAGED)
    assert portfolio.net_exposure["ETH"] is None
    why = portfolio.unknown["net_exposure.ETH"]
    assert "weETH rate unknown" in why.reason and why.waiting_for == ["etherfi"]
    assert not portfolio.complete


def test_a_zero_balance_of_a_rate_token_needs_no_rate():
    portfolio = exposure([snap("wallet", {"wallet:BaseToken:weETH": {"amount": 0.0},
                                          "wallet:BaseToken:WETH": {"amount": 2.0}})])
    assert portfolio.net == {"ETH": 2.0} and portfolio.unknown == {}


# -- venues that did not answer ---------------------------------------------------------------


def every_exchange_rejected() -> PortfolioSnapshot:
    venues = {"aave_v3": aave(), "etherfi": snap("etherfi", rates={"weETH": 1.05}),
              "wallet": snap("wallet", {"wallet:BaseToken:ETH": {"amount": 0.49}})}
    reasons = {v: AUTH.replace("binance", v) for v in ("binance", "bybit", "okx")}
    return aggregate(utc(0), "live", venues, ["binance", "bybit", "okx"], LEVERAGED,
                     with_alerts=True, reasons=reasons)


def test_with_every_exchange_rejected_net_eth_waits_for_them_instead_of_reading_unhedged():
    portfolio = every_exchange_rejected()
    assert portfolio.net_exposure["ETH"] is None
    why = portfolio.unknown["net_exposure.ETH"]
    assert why.waiting_for == ["binance", "bybit", "okx"]
    assert "okx missing (AuthenticationError" in why.reason
    kinds = [a.kind for a in portfolio.alerts]
    assert "net_delta" not in kinds
    # the exchanges also hold the USDT margin: net USD waits for them too
    assert portfolio.net_exposure["USD"] is None
    unknown = {a.key: a.message for a in portfolio.alerts if a.kind == "unknown"}
    assert sorted(unknown) == ["net_exposure.ETH", "net_exposure.USD"]
    assert "binance, bybit, okx" in unknown["net_exposure.ETH"]
    assert kinds.count("missing_venue") == 3


def test_the_view_says_unknown_and_never_beyond_tolerance():
    text = render(every_exchange_rejected())
    assert "beyond tolerance" not in text
    assert "unknown (waiting for: binance, bybit, okx)" in text
    assert "+9.99" not in text and "9.99" not in text


def test_a_missing_venue_the_mode_expects_no_leg_of_leaves_the_figure_known():
    venues = {"aave_v3": aave(), "etherfi": snap("etherfi", rates={"weETH": 1.05})}
    for cex in ("binance", "bybit", "okx"):
        venues[cex] = snap(cex, {f"{cex}:Perp:ETHUSDT": {"amount": -1.5}})
    portfolio = aggregate(utc(0), "live", venues, ["wallet"], LEVERAGED)
    assert portfolio.net_exposure["ETH"] == pytest.approx(4.5 - 4.5)
    assert portfolio.missing == ["wallet"] and not portfolio.complete


def test_stale_legs_count_with_their_age():
    venues = {"aave_v3": aave(), "etherfi": snap("etherfi", rates={"weETH": 1.05}),
              "okx": snap("okx", {"okx:Perp:ETHUSDT": {"amount": -4.5}}, status="stale",
                          age_s=42.0)}
    portfolio = aggregate(utc(0), "live", venues, [], LEVERAGED)
    assert portfolio.net_exposure["ETH"] == pytest.approx(0.0, abs=1e-12)
    assert portfolio.exposure_age_s == {"ETH": 42.0}
    assert "42" in render(portfolio)


# -- risk and value figures -------------------------------------------------------------------


def test_a_perp_without_pnl_has_no_usd_value_instead_of_zero():
    unknown = {}
    values = usd_values([snap("okx", {"okx:Perp:ETHUSDT": {"amount": -1.0}})], {"ETH": 3000.0},
                        unknown)
    assert values == {"okx:Perp:ETHUSDT": None}
    assert unknown["usd_value.okx:Perp:ETHUSDT"].waiting_for == ["okx"]


def test_unknown_debt_makes_ltv_and_health_factor_unknown_not_zero():
    unknown = {}
    risk = risk_summary([aave(total_debt=None, health_factor=None)], unknown)
    assert risk.ltv == {"aave_v3": None} and risk.health_factor == {"aave_v3": None}
    assert unknown["risk.ltv.aave_v3"].reason == "aave_v3: debt unknown"
    assert "risk.health_factor.aave_v3" in unknown


def test_no_debt_is_a_null_health_factor_without_a_reason():
    unknown = {}
    risk = risk_summary([aave(total_debt=0.0, health_factor=None)], unknown)
    assert risk.health_factor == {"aave_v3": None} and risk.ltv == {"aave_v3": 0.0}
    assert unknown == {}


def test_a_perp_with_unknown_notional_makes_the_margin_ratio_unknown():
    positions = {"okx:Perp:ETHUSDT": {"amount": -1.0, "mark_price": 3000.0},
                 "okx:Perp:BTCUSDT": {"amount": -0.1}}
    unknown = {}
    risk = risk_summary([snap("okx", positions, account=AccountInfo(margin_balance=1500.0))],
                        unknown)
    # never 1500 / 3000 = 0.5 from the ETH leg alone
    assert risk.margin_ratio == {"okx": None}
    assert "okx:Perp:BTCUSDT" in unknown["risk.margin_ratio.okx"].reason


def test_a_null_margin_ratio_raises_an_unknown_alert_and_no_threshold_alert():
    positions = {"okx:Perp:ETHUSDT": {"amount": -1.0, "mark_price": 3000.0}}
    venues = {"okx": snap("okx", positions, account=AccountInfo(margin_balance=None))}
    portfolio = aggregate(utc(0), "live", venues, [], LEVERAGED)
    alerts = evaluate_alerts(portfolio, LEVERAGED)
    assert [a.kind for a in alerts] == ["unknown"]
    assert alerts[0].key == "risk.margin_ratio.okx" and alerts[0].venue == "okx"


def test_a_leg_with_a_liquidation_price_and_no_mark_has_an_unknown_distance():
    positions = {"bybit:Perp:ETHUSDT": {"amount": -1.0, "liquidation_price": 4000.0}}
    unknown = {}
    risk = risk_summary([snap("bybit", positions)], unknown)
    assert risk.distance_to_liquidation == {"bybit:Perp:ETHUSDT": None}
    assert "mark price unknown" in unknown["risk.distance_to_liquidation.bybit:Perp:ETHUSDT"].reason


# -- transfers in transit and the JSON contract -----------------------------------------------


def test_unknown_transfers_in_transit_make_the_snapshot_incomplete_and_name_the_venue():
    wallet = snap("wallet", {"wallet:BaseToken:USDT": {"amount": 5.0}},
                  transfers_unknown="binance: VenueTimeoutError: no answer in time")
    portfolio = aggregate(utc(0), "live", {"wallet": wallet}, [], LEVERAGED)
    assert not portfolio.complete
    why = portfolio.unknown["transfers_in_transit.wallet"]
    assert why.waiting_for == ["wallet"] and "VenueTimeoutError" in why.reason


def test_a_snapshot_with_null_figures_round_trips_through_json():
    portfolio = every_exchange_rejected()
    again = PortfolioSnapshot.model_validate(json.loads(portfolio.model_dump_json()))
    assert again.net_exposure["ETH"] is None
    assert again.unknown["net_exposure.ETH"].waiting_for == ["binance", "bybit", "okx"]
    assert again == portfolio


def test_a_fully_known_book_is_complete_and_has_no_unknown():
    venues = {"aave_v3": aave(), "etherfi": snap("etherfi", rates={"weETH": 1.05}),
              "wallet": snap("wallet")}
    for cex in ("binance", "bybit", "okx"):
        venues[cex] = snap(cex, {f"{cex}:Perp:ETHUSDT": {"amount": -1.5, "mark_price": 3000.0}},
                           account=AccountInfo(margin_balance=2000.0))
    portfolio = aggregate(utc(0), "live", venues, [], LEVERAGED, with_alerts=True)
    assert portfolio.complete and portfolio.unknown == {}
    assert portfolio.net_exposure["ETH"] == pytest.approx(0.0, abs=1e-12)
    assert portfolio.risk.margin_ratio == {v: pytest.approx(2000 / 4500)
                                           for v in ("binance", "bybit", "okx")}
