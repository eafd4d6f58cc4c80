"""Several accounts per exchange, live: three binance accounts (the default and two tagged
sub-accounts) and one okx account read through the real ccxt client from the exchange emulator,
each with its own key and its own book, rolled up per account, exchange and tag."""

from __future__ import annotations

import pytest
import yaml

from actors.cli.main import main
from actors.monitor import PositionMonitor
from factory import ExecutionInterfaceFactory
from factory.config import resolve_config
from factory.positions import PortfolioSnapshot
from factory.sandbox.exchange import ExchangeEmulator


def perp(symbol, quantity, mark):
    return {"symbol": symbol, "quantity": quantity, "entry_price": mark, "mark_price": mark}


BTC, ETH = 61000.0, 3050.0
SCENARIO = {"venues": {
    "binance": {"wallets": {"spot": {"BTC": 1.0}, "futures": {"USDT": 10000}},
                "perps": [perp("BTCUSDT", -0.2, BTC)]},
    "binance.sub1": {"wallets": {"futures": {"USDT": 20000}},
                     "perps": [perp("BTCUSDT", -0.5, BTC)]},
    "binance.sub2": {"wallets": {"futures": {"USDT": 5000}},
                     "perps": [perp("BTCUSDT", -0.1, BTC), perp("ETHUSDT", -3.0, ETH)]},
    "okx": {"wallets": {"trading": {"USDT": 30000}}, "perps": [perp("BTCUSDT", -0.3, BTC)]},
}}
MODE = {
    "mode": "desk_accounts",
    "accounts": {
        "binance": [{"id": "main"}, {"id": "sub1", "tags": ["btc_basis"]},
                    {"id": "sub2", "tags": ["btc_basis", "eth_hedge"]}],
        "okx": [{"id": "main", "tags": ["btc_basis"]}],
    },
    "positions": ["binance:BaseToken:BTC", "binance:Perp:BTCUSDT", "binance.sub1:Perp:BTCUSDT",
                  "binance.sub2:Perp:BTCUSDT", "binance.sub2:Perp:ETHUSDT", "okx:Perp:BTCUSDT"],
    "monitor": {"deadline_s": 10.0},
}
ACCOUNTS = ["binance", "binance.sub1", "binance.sub2", "okx"]


def assert_rollups(snap: PortfolioSnapshot) -> None:
    """The hand-computed roll-ups of SCENARIO."""
    assert snap.complete and snap.missing == []
    assert sorted(snap.venues) == ACCOUNTS
    # each account read its own book with its own key
    assert snap.by_account["binance"].net_exposure == pytest.approx({"BTC": 0.8, "USD": 10000})
    assert snap.by_account["binance.sub1"].net_exposure == pytest.approx(
        {"BTC": -0.5, "USD": 20000})
    assert snap.by_account["binance.sub2"].net_exposure == pytest.approx(
        {"BTC": -0.1, "ETH": -3.0, "USD": 5000})
    assert snap.by_account["okx"].net_exposure == pytest.approx({"BTC": -0.3, "USD": 30000})
    assert snap.venues["binance.sub2"].amounts() == pytest.approx({
        "binance.sub2:BaseToken:USDT": 5000, "binance.sub2:Perp:BTCUSDT": -0.1,
        "binance.sub2:Perp:ETHUSDT": -3.0,
    })
    # binance = 0.8 - 0.5 - 0.1 = 0.2 BTC, -3 ETH, 10000 + 20000 + 5000 USD
    assert snap.by_exchange["binance"].net_exposure == pytest.approx(
        {"BTC": 0.2, "ETH": -3.0, "USD": 35000})
    assert snap.by_exchange["binance"].venues == ["binance", "binance.sub1", "binance.sub2"]
    assert snap.by_exchange["okx"].net_exposure == pytest.approx({"BTC": -0.3, "USD": 30000})
    # btc_basis = sub1 + sub2 + okx = -0.9 BTC, -3 ETH, 55000 USD
    assert snap.by_tag["btc_basis"].net_exposure == pytest.approx(
        {"BTC": -0.9, "ETH": -3.0, "USD": 55000})
    assert snap.by_tag["eth_hedge"].net_exposure == pytest.approx(
        {"BTC": -0.1, "ETH": -3.0, "USD": 5000})
    # the desk: 0.2 - 0.3 = -0.1 BTC, -3 ETH, 65000 USD
    assert snap.net_exposure == pytest.approx({"BTC": -0.1, "ETH": -3.0, "USD": 65000})
    groups = [*snap.by_account.values(), *snap.by_exchange.values(), *snap.by_tag.values()]
    assert all(g.complete for g in groups)


def emulator_env(emu: ExchangeEmulator, monkeypatch) -> None:
    for venue in ACCOUNTS:
        for name, value in emu.env(venue).items():
            monkeypatch.setenv(name, value)


async def test_each_account_reads_its_own_book_and_rolls_up(monkeypatch):
    async with ExchangeEmulator(scenario=SCENARIO, venues=["binance", "okx"]) as emu:
        emulator_env(emu, monkeypatch)
        monitor = PositionMonitor(ExecutionInterfaceFactory(), resolve_config(MODE), "live")
        try:
            assert_rollups(await monitor.get_real_positions())
        finally:
            await monitor.close()


async def test_a_wrong_secret_fails_only_that_account_and_its_groups(monkeypatch):
    async with ExchangeEmulator(scenario=SCENARIO, venues=["binance", "okx"]) as emu:
        emulator_env(emu, monkeypatch)
        # the default account's secret under sub1's key: the signature is checked per key
        monkeypatch.setenv("BASIS_BINANCE_SUB1_API_SECRET", emu.credentials("binance").secret)
        monitor = PositionMonitor(ExecutionInterfaceFactory(), resolve_config(MODE), "live")
        try:
            snap = await monitor.get_real_positions()
        finally:
            await monitor.close()
    assert snap.missing == ["binance.sub1"]
    for group in (snap.by_exchange["binance"], snap.by_tag["btc_basis"]):
        assert group.net_exposure["BTC"] is None and not group.complete
        assert "binance.sub1 missing (AuthenticationError" in group.reason
    assert snap.by_account["binance"].complete and snap.by_exchange["okx"].complete
    assert snap.by_tag["eth_hedge"].net_exposure == pytest.approx(
        {"BTC": -0.1, "ETH": -3.0, "USD": 5000})


def test_monitor_once_json_shows_the_rollups(clean_exchange, monkeypatch, tmp_path, capfd):
    clean_exchange.load(SCENARIO)
    emulator_env(clean_exchange, monkeypatch)
    path = tmp_path / "desk.yaml"
    path.write_text(yaml.safe_dump(MODE))

    code = main(["monitor", str(path), "--once", "--json", "--db", str(tmp_path / "h.sqlite")])
    snap = PortfolioSnapshot.model_validate_json(capfd.readouterr().out)

    assert code == 0
    assert_rollups(snap)


def test_one_venue_actor_per_account_on_ray(ray_session, clean_exchange, tmp_path):
    """The sandbox scenario's binance sub-accounts (configs/sandbox.yaml) beside the default
    accounts, each account in its own named venue actor with its own key from the environment
    the Ray workers inherited."""
    import ray

    from actors.engine import EventDrivenStrategyEngine
    from tests.integration.live_helpers import eventually

    mode = resolve_config({**MODE, "accounts": {
        "binance": [{"id": "main"}, {"id": "sub1", "tags": ["btc_basis"]},
                    {"id": "sub2", "tags": ["eth_hedge"]}],
        "okx": [{"id": "main", "tags": ["btc_basis"]}],
    }, "positions": ["binance.sub1:Perp:BTCUSDT", "binance.sub2:Perp:ETHUSDT",
                     "okx:Perp:BTCUSDT"]})
    eng = EventDrivenStrategyEngine(mode, "live", store_path=str(tmp_path / "history.sqlite"))
    try:
        snap = eventually(lambda: (s := eng.get_real_positions()).complete and s, 60, 0.2,
                          "a complete snapshot over the four accounts")
        for venue in ACCOUNTS:
            assert ray.get(ray.get_actor(f"venue:{venue}").ping.remote())
    finally:
        eng.shutdown()
    # sandbox.yaml: binance 2 BTC spot, -0.8 BTC and -4 ETH perps, 65000 USDT; sub1 -0.5 BTC,
    # 20000 USDT; sub2 -2 ETH, 8000 USDT; okx -0.6 BTC, -3 ETH, 47000 USDT
    assert snap.by_account["binance"].net_exposure == pytest.approx(
        {"BTC": 1.2, "ETH": -4.0, "USD": 65000})
    assert snap.by_account["binance.sub1"].net_exposure == pytest.approx(
        {"BTC": -0.5, "USD": 20000})
    assert snap.by_account["binance.sub2"].net_exposure == pytest.approx(
        {"ETH": -2.0, "USD": 8000})
    assert snap.by_exchange["binance"].net_exposure == pytest.approx(
        {"BTC": 0.7, "ETH": -6.0, "USD": 93000})
    assert snap.by_tag["btc_basis"].net_exposure == pytest.approx(
        {"BTC": -1.1, "ETH": -3.0, "USD": 67000})
    assert snap.by_tag["eth_hedge"].net_exposure == pytest.approx({"ETH": -2.0, "USD": 8000})
    assert snap.net_exposure == pytest.approx({"BTC": 0.1, "ETH": -9.0, "USD": 140000})
