"""ExecutionInterfaceFactory routing (the seed's API), with no credentials in the environment."""

import os

import pytest

from factory import (
    CEXPositionInterface,
    ExecutionInterfaceFactory,
    OnChainPositionInterface,
    TransferPositionInterface,
)


@pytest.fixture(autouse=True)
def _no_credentials(monkeypatch):
    for name in list(os.environ):
        if name.startswith("BASIS_"):
            monkeypatch.delenv(name)


ROUTES = [
    ("binance", CEXPositionInterface),
    ("bybit", CEXPositionInterface),
    ("okx", CEXPositionInterface),
    ("aave_v3", OnChainPositionInterface),
    ("aave", OnChainPositionInterface),
    ("lido", OnChainPositionInterface),
    ("etherfi", OnChainPositionInterface),
    ("wallet", TransferPositionInterface),
]


@pytest.mark.parametrize("mode", ["live", "backtest"])
@pytest.mark.parametrize("venue, cls", ROUTES)
def test_each_venue_routes_to_its_interface_in_both_modes(venue, cls, mode):
    iface = ExecutionInterfaceFactory.create_position_interface(venue, mode, {})
    assert type(iface) is cls
    assert iface.execution_mode == mode
    assert iface.venue == ("aave_v3" if venue == "aave" else venue)


def test_an_unknown_venue_is_a_value_error_listing_the_supported_ones():
    with pytest.raises(ValueError) as info:
        ExecutionInterfaceFactory.create_position_interface("nope", "live", {})
    text = str(info.value)
    assert text.startswith("Unsupported venue for position monitoring: nope")
    for venue in ("binance", "bybit", "okx", "aave_v3", "lido", "etherfi", "wallet"):
        assert venue in text


def test_get_position_interfaces_maps_a_failing_venue_to_none():
    out = ExecutionInterfaceFactory.get_position_interfaces(
        ["binance", "nope", "aave_v3"], "backtest", {}
    )
    assert list(out) == ["binance", "nope", "aave_v3"]
    assert isinstance(out["binance"], CEXPositionInterface)
    assert out["nope"] is None
    assert isinstance(out["aave_v3"], OnChainPositionInterface)


def test_no_venues_gives_an_empty_dict():
    assert ExecutionInterfaceFactory.get_position_interfaces([], "live", {}) == {}


def test_an_unknown_execution_mode_is_rejected():
    with pytest.raises(ValueError, match="execution_mode"):
        ExecutionInterfaceFactory.create_position_interface("binance", "paper", {})


def test_a_venue_added_by_config_routes_by_its_kind():
    cfg = {"venue_settings": {"deribit": {"venue": "deribit", "kind": "cex", "ccxt_id": "deribit"}}}
    iface = ExecutionInterfaceFactory.create_position_interface("deribit", "backtest", cfg)
    assert isinstance(iface, CEXPositionInterface)


async def test_backtest_interfaces_serve_the_allocation_and_apply_deltas():
    cfg = {
        "venues": ["okx"],
        "allocation": {"okx:Perp:BTCUSDT": -0.3, "okx:BaseToken:USDT": 20000},
    }
    iface = ExecutionInterfaceFactory.create_position_interface("okx", "backtest", cfg)
    snap = await iface.get_positions("2024-01-01T00:00:00Z")
    assert snap.amounts() == {"okx:Perp:BTCUSDT": -0.3, "okx:BaseToken:USDT": 20000}
    iface.ledger.apply({"okx:Perp:BTCUSDT": -0.1})
    assert await iface.get_balance("USDT") == 20000
    snap2 = await iface.get_positions("2024-01-01T08:00:00Z")
    assert snap2.amounts()["okx:Perp:BTCUSDT"] == pytest.approx(-0.4)
    history = await iface.get_position_history("2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z")
    assert [s.timestamp for s in history] == [snap.timestamp]
    with pytest.raises(ValueError, match="does not belong"):
        iface.ledger.apply({"bybit:Perp:BTCUSDT": 1})


def test_factory_and_interfaces_never_show_secrets_in_repr(monkeypatch):
    monkeypatch.setenv("BASIS_BINANCE_API_SECRET", "very-secret-value")
    iface = ExecutionInterfaceFactory.create_position_interface("binance", "live", {})
    assert "very-secret-value" not in repr(iface) + repr(iface.venue_config)
