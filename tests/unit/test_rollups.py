"""Roll-ups per exchange, account and tag: hand-computed net exposure, and a stale or missing
account making its exchange's and its tag's roll-up incomplete (never a partial sum shown as
complete)."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from actors.monitor import aggregate
from actors.rollups import group_venues
from actors.store import SnapshotStore
from actors.view import render_snapshot
from factory.config import resolve_config
from factory.positions import PortfolioSnapshot, Position, VenueSnapshot, utc

DESK = resolve_config({
    "venues": ["etherfi"],
    "accounts": {
        "binance": [{"id": "main"}, {"id": "sub1", "tags": ["btc_basis"]},
                    {"id": "sub2", "tags": ["btc_basis", "hedge"]}],
        "okx": [{"id": "main", "tags": ["btc_basis"]}],
    },
    "positions": ["binance:BaseToken:BTC", "binance.sub1:Perp:BTCUSDT",
                  "binance.sub2:Perp:BTCUSDT", "okx:Perp:BTCUSDT"],
})
TIMEOUT = "VenueTimeoutError: binance.sub2: no answer within the 2 s deadline"


def snap(venue, positions, *, status="ok", age_s=0.0, error=None, rates=None):
    return VenueSnapshot(
        venue=venue, execution_mode="live", timestamp=utc(0), fetched_at=utc(0), status=status,
        age_s=age_s, error=error, rates=rates or {},
        positions={f"{venue}:{k}": Position(key=f"{venue}:{k}", amount=v)
                   for k, v in positions.items()},
    )


def books(**overrides):
    out = {
        "binance": snap("binance", {"BaseToken:BTC": 2.0, "BaseToken:USDT": 1000.0}),
        "binance.sub1": snap("binance.sub1", {"Perp:BTCUSDT": -0.8, "BaseToken:USDT": 500.0}),
        "binance.sub2": snap("binance.sub2", {"Perp:BTCUSDT": -0.5}),
        "okx": snap("okx", {"Perp:BTCUSDT": -0.7, "BaseToken:USDT": 300.0}),
        "etherfi": snap("etherfi", {}, rates={"weETH": 1.05}),
    }
    out.update(overrides)
    return out


def test_groups_hold_their_venues():
    by_exchange, by_account, by_tag = group_venues(DESK.venues, DESK.venue_tags())
    assert by_exchange == {"etherfi": ["etherfi"], "okx": ["okx"],
                           "binance": ["binance", "binance.sub1", "binance.sub2"]}
    assert by_account["binance.sub1"] == ["binance.sub1"] and len(by_account) == 5
    assert by_tag == {"btc_basis": ["binance.sub1", "binance.sub2", "okx"],
                      "hedge": ["binance.sub2"]}


def test_net_exposure_per_account_exchange_tag_and_desk():
    p = aggregate(utc(0), "live", books(), [], DESK)
    # accounts: each its own book
    assert p.by_account["binance"].net_exposure == {"BTC": 2.0, "USD": 1000.0}
    assert p.by_account["binance.sub1"].net_exposure == {"BTC": -0.8, "USD": 500.0}
    assert p.by_account["binance.sub2"].net_exposure == {"BTC": -0.5}
    assert p.by_account["okx"].net_exposure == {"BTC": -0.7, "USD": 300.0}
    # exchanges: binance = 2.0 - 0.8 - 0.5 = 0.7 BTC, 1000 + 500 = 1500 USD
    assert p.by_exchange["binance"].net_exposure == pytest.approx({"BTC": 0.7, "USD": 1500.0})
    assert p.by_exchange["okx"].net_exposure == {"BTC": -0.7, "USD": 300.0}
    # tags: btc_basis = sub1 + sub2 + okx = -0.8 - 0.5 - 0.7 = -2.0 BTC, 500 + 300 = 800 USD
    assert p.by_tag["btc_basis"].net_exposure == pytest.approx({"BTC": -2.0, "USD": 800.0})
    assert p.by_tag["hedge"].net_exposure == {"BTC": -0.5}
    # the desk: 0.7 - 0.7 = 0 BTC, 1800 USD
    assert p.net_exposure == pytest.approx({"BTC": 0.0, "USD": 1800.0})
    groups = [*p.by_account.values(), *p.by_exchange.values(), *p.by_tag.values()]
    assert all(g.complete and g.reason is None for g in groups) and p.complete


def test_a_stale_account_makes_its_exchange_and_tags_incomplete_not_others():
    stale = snap("binance.sub2", {"Perp:BTCUSDT": -0.5}, status="stale", age_s=45.0,
                 error=TIMEOUT)
    p = aggregate(utc(0), "live", books(**{"binance.sub2": stale}), [], DESK)
    for group in (p.by_exchange["binance"], p.by_tag["btc_basis"], p.by_tag["hedge"],
                  p.by_account["binance.sub2"]):
        assert not group.complete
        assert group.reason == f"binance.sub2 stale 45 s ({TIMEOUT})"
        assert group.exposure_age_s == {"BTC": 45.0}
    # stale legs still count, as in the desk total, with their age
    assert p.by_exchange["binance"].net_exposure == pytest.approx({"BTC": 0.7, "USD": 1500.0})
    assert p.by_tag["btc_basis"].net_exposure == pytest.approx({"BTC": -2.0, "USD": 800.0})
    for fresh in (p.by_exchange["okx"], p.by_account["binance"], p.by_account["binance.sub1"]):
        assert fresh.complete and fresh.reason is None
    assert not p.complete


def test_a_missing_account_makes_its_legs_unknown_in_every_group_it_belongs_to():
    venues = books()
    del venues["binance.sub1"]
    why = "AuthenticationError: binance.sub1: invalid API key (venue code -2015)"
    p = aggregate(utc(0), "live", venues, ["binance.sub1"], DESK,
                  reasons={"binance.sub1": why})
    for group in (p.by_exchange["binance"], p.by_tag["btc_basis"], p.by_account["binance.sub1"]):
        assert group.net_exposure["BTC"] is None  # never 2.0 - 0.5, the legs that answered
        unknown = group.unknown["net_exposure.BTC"]
        assert unknown.waiting_for == ["binance.sub1"]
        assert unknown.reason == f"binance.sub1 missing ({why})"
        assert not group.complete and group.reason == f"binance.sub1 missing ({why})"
    assert p.by_tag["hedge"].net_exposure == {"BTC": -0.5} and p.by_tag["hedge"].complete
    assert p.by_exchange["okx"].complete and p.net_exposure["BTC"] is None


def test_an_lst_rate_read_by_a_venue_outside_the_group_still_values_its_legs():
    venues = books(okx=snap("okx", {"BaseToken:weETH": 2.0}))
    p = aggregate(utc(0), "live", venues, [], DESK)
    assert p.by_exchange["okx"].net_exposure == pytest.approx({"ETH": 2.1})
    assert p.by_tag["btc_basis"].net_exposure["ETH"] == pytest.approx(2.1)


def test_an_unknown_rate_makes_the_group_incomplete_with_its_reason():
    venues = books(okx=snap("okx", {"BaseToken:weETH": 2.0}),
                   etherfi=snap("etherfi", {}))  # etherfi answered without the rate
    p = aggregate(utc(0), "live", venues, [], DESK)
    okx = p.by_exchange["okx"]
    assert okx.net_exposure == {"ETH": None} and not okx.complete
    assert okx.reason == "net_exposure.ETH unknown: weETH rate unknown: no venue read it"
    assert p.by_exchange["binance"].complete


def test_rollups_round_trip_through_json_and_history(tmp_path):
    venues = books()
    del venues["binance.sub1"]
    p = aggregate(utc(0), "live", venues, ["binance.sub1"], DESK,
                  reasons={"binance.sub1": "no answer yet"})
    body = json.loads(p.model_dump_json())
    assert body["by_tag"]["btc_basis"]["net_exposure"]["BTC"] is None
    assert body["by_exchange"]["binance"]["complete"] is False
    assert body["by_account"]["okx"]["net_exposure"] == {"BTC": -0.7, "USD": 300.0}
    store = SnapshotStore(tmp_path / "history.sqlite")
    store.append(p)
    (back,) = store.query()
    assert back == p
    assert PortfolioSnapshot.model_validate_json(p.model_dump_json()) == p


def render(p: PortfolioSnapshot) -> str:
    console = Console(record=True, width=220)
    console.print(render_snapshot(p))
    return console.export_text()


def test_the_terminal_view_shows_each_group_and_why_it_is_incomplete():
    stale = snap("binance.sub2", {"Perp:BTCUSDT": -0.5}, status="stale", age_s=45.0,
                 error=TIMEOUT)
    text = render(aggregate(utc(0), "live", books(**{"binance.sub2": stale}), [], DESK))
    assert "Roll-ups" in text
    rows = {tuple(line.split("│")[1:3]): line for line in text.splitlines() if "│" in line}
    exchange = next(v for k, v in rows.items() if [c.strip() for c in k] == ["exchange",
                                                                           "binance"])
    assert "no: binance.sub2 stale 45 s" in exchange and "0.700000" in exchange
    tag = next(v for k, v in rows.items() if [c.strip() for c in k] == ["tag", "btc_basis"])
    assert "-2.000000" in tag and "no: binance.sub2 stale" in tag
    okx = next(v for k, v in rows.items() if [c.strip() for c in k] == ["exchange", "okx"])
    assert "yes" in okx and "-0.700000" in okx


def test_a_missing_account_reads_unknown_in_the_view():
    venues = books()
    del venues["binance.sub1"]
    text = render(aggregate(utc(0), "live", venues, ["binance.sub1"], DESK))
    tag = next(line for line in text.splitlines() if "btc_basis" in line and "tag" in line)
    assert "unknown (waiting for: binance.sub1)" in tag


def test_a_desk_of_one_account_per_venue_shows_no_rollup_table():
    mode = resolve_config({"venues": ["binance", "okx"]})
    p = aggregate(utc(0), "live", {"binance": books()["binance"], "okx": books()["okx"]}, [],
                  mode)
    assert set(p.by_exchange) == {"binance", "okx"} and not p.by_tag
    assert "Roll-ups" not in render(p)
