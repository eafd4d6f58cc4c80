"""Accounts in config: several accounts per exchange, each a venue instance with its own
credential variables, routed to its exchange's interface kind."""

from __future__ import annotations

import pytest

from actors.cli.main import main
from actors.cli.monitor import missing_credentials
from actors.options import venue_actor_name
from factory import ExecutionInterfaceFactory
from factory.config import env_name, load_mode, resolve_config, with_overrides
from factory.errors import ConfigError, MissingCredentialError
from factory.interfaces.cex.interface import CEXPositionInterface
from factory.interfaces.evm.onchain import OnChainPositionInterface
from factory.positions import PositionKey, VenueSnapshot, utc

DESK = """\
mode: desk
venues: [aave_v3]
accounts:
  binance: [{id: main}, {id: sub1, tags: [btc_basis]}, {id: sub_2, tags: [btc_basis, hedge]}]
  okx: [{id: main, tags: [hedge]}]
positions:
  - binance.sub1:Perp:BTCUSDT
  - okx:Perp:BTCUSDT
hedge:
  splits: {binance.sub1: 0.5, okx: 0.5}
"""


def _mode(tmp_path, text):
    path = tmp_path / "mode.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def desk(tmp_path):
    return load_mode(_mode(tmp_path, DESK))


def test_accounts_become_venue_instances_after_the_listed_venues(desk):
    assert desk.venues == ["aave_v3", "binance", "binance.sub1", "binance.sub_2", "okx"]
    assert desk.account_venues() == ["binance", "binance.sub1", "binance.sub_2", "okx"]
    assert desk.venue_tags() == {
        "binance.sub1": ["btc_basis"], "binance.sub_2": ["btc_basis", "hedge"], "okx": ["hedge"],
    }


def test_a_dumped_mode_validates_to_the_same_mode(desk):
    dumped = desk.model_dump(mode="json")
    assert dumped["venues"] == ["aave_v3"]  # the accounts stay in accounts
    assert resolve_config(dumped) == desk
    assert with_overrides(desk, ["monitor.interval_s=7"]).venues == desk.venues


def test_an_account_inherits_its_exchange_and_reads_its_own_credentials(desk):
    sub = desk.venue_config("binance.sub_2")
    main_ = desk.venue_config("binance")
    assert sub.venue == "binance.sub_2" and sub.ccxt_id == "binance"
    assert sub.kind == "cex" and sub.rate_limits == main_.rate_limits and sub.urls == main_.urls
    assert sub.credentials.api_key_env == "BASIS_BINANCE_SUB_2_API_KEY"
    assert sub.credentials.api_secret_env == "BASIS_BINANCE_SUB_2_API_SECRET"
    assert sub.credentials.passphrase_env is None  # binance has no passphrase
    # the default account keeps the plain names of the venue YAML
    assert main_.credentials.api_key_env == "BASIS_BINANCE_API_KEY"
    okx_sub = resolve_config({"accounts": {"okx": [{"id": "main"}, {"id": "arb"}]}})
    assert (okx_sub.venue_config("okx.arb").credentials.passphrase_env
            == "BASIS_OKX_ARB_API_PASSPHRASE")


def test_every_account_shares_the_exchange_base_url(desk):
    env = {"BASIS_BINANCE_API_BASE_URL": "http://127.0.0.1:9"}
    assert desk.venue_config("binance.sub1").base_url(env) == "http://127.0.0.1:9"


@pytest.mark.parametrize("venue, suffix, name", [
    ("binance", "API_KEY", "BASIS_BINANCE_API_KEY"),
    ("binance.sub1", "API_KEY", "BASIS_BINANCE_SUB1_API_KEY"),
    ("okx.sub_2", "API_PASSPHRASE", "BASIS_OKX_SUB_2_API_PASSPHRASE"),
    ("aave_v3", "RPC_URL", "BASIS_AAVE_V3_RPC_URL"),
])
def test_credential_variable_names(venue, suffix, name):
    assert env_name(venue, suffix) == name


def test_a_missing_account_credential_names_the_exact_variable(desk):
    creds = desk.venue_config("binance.sub1").credentials
    with pytest.raises(MissingCredentialError, match="BASIS_BINANCE_SUB1_API_SECRET"):
        creds.read("binance.sub1", "api_secret_env", environ={"BASIS_BINANCE_API_SECRET": "s"})
    env = {"BASIS_BINANCE_API_KEY": "k", "BASIS_BINANCE_API_SECRET": "s"}
    lines = missing_credentials(desk, env)
    assert "binance.sub1: missing credential, set the environment variable " \
           "BASIS_BINANCE_SUB1_API_KEY" in lines
    assert not any("BASIS_BINANCE_API_KEY" in line for line in lines)


def test_the_factory_routes_an_account_to_its_exchange_kind(desk):
    built = ExecutionInterfaceFactory.get_position_interfaces(desk.venues, "live", desk)
    assert isinstance(built["binance.sub1"], CEXPositionInterface)
    assert isinstance(built["okx"], CEXPositionInterface)
    assert isinstance(built["aave_v3"], OnChainPositionInterface)
    assert built["binance.sub1"].venue == "binance.sub1"
    assert built["binance.sub1"].venue_config.credentials.api_key_env == \
        "BASIS_BINANCE_SUB1_API_KEY"
    with pytest.raises(ValueError, match="Unsupported venue for position monitoring: binance.x"):
        ExecutionInterfaceFactory.create_position_interface("binance.x", "live", desk)


def test_an_account_is_named_by_its_venue_id_in_actor_names():
    assert venue_actor_name("binance.sub1") == "venue:binance.sub1"


async def test_an_account_backtests_its_own_allocation():
    mode = resolve_config({
        "accounts": {"binance": [{"id": "main"}, {"id": "sub1"}]},
        "allocation": {"binance:Perp:BTCUSDT": -1.0, "binance.sub1:Perp:BTCUSDT": -2.5},
    })
    iface = ExecutionInterfaceFactory.create_position_interface("binance.sub1", "backtest", mode)
    snap = await iface.get_positions(utc(0))
    assert snap.venue == "binance.sub1"
    assert snap.amounts() == {"binance.sub1:Perp:BTCUSDT": -2.5}


@pytest.mark.parametrize("key", ["binance.sub1:Perp:BTCUSDT", "okx.a_1:BaseToken:USDT"])
def test_an_account_is_a_valid_venue_part_of_a_key(key):
    k = PositionKey(key)
    assert k.venue == key.split(":")[0] and str(k) == key


@pytest.mark.parametrize("key", [
    "binance.Sub1:Perp:BTCUSDT", "binance.:Perp:BTCUSDT", "binance.a.b:Perp:BTCUSDT",
    ".sub1:Perp:BTCUSDT", "binance.sub-1:Perp:BTCUSDT",
])
def test_a_malformed_account_venue_part_is_rejected(key):
    with pytest.raises(ValueError, match="venue"):
        PositionKey(key)


def test_a_snapshot_keeps_an_account_position_on_its_own_account():
    with pytest.raises(ValueError, match="does not belong to venue 'binance'"):
        VenueSnapshot(venue="binance", execution_mode="live", timestamp=utc(0),
                      fetched_at=utc(0), positions={"binance.sub1:Perp:BTCUSDT": {
                          "key": "binance.sub1:Perp:BTCUSDT", "amount": -1.0}})


@pytest.mark.parametrize("body, line", [
    ("venues: [binance]\naccounts: {binance: [{id: sub1}]}\n",
     "accounts.binance: exchange 'binance' is also in venues"),
    ("accounts: {binance: [{id: sub1}, {id: main}, {id: sub1}]}\n",
     "accounts.binance.2.id: account 'sub1' is listed twice"),
    ("accounts: {kraken: [{id: main}]}\n",
     "accounts.kraken: unknown exchange 'kraken' (exchanges: binance, bybit, okx)"),
    ("accounts: {aave_v3: [{id: main}]}\n",
     "accounts.aave_v3: 'aave_v3' is a venue of kind onchain"),
    ("accounts: {binance: [{id: Sub-1}]}\n",
     "accounts.binance.0.id: Value error, account id 'Sub-1' cannot be part of a venue id"),
    ("accounts: {binance: [{id: sub1, tag: [x]}]}\n",
     "accounts.binance.0.tag: unknown field"),
    ("accounts: {binance: []}\n",
     "accounts.binance: an exchange in accounts needs at least one account"),
    ("accounts: {binance: [{id: sub1}]}\npositions: [binance.sub2:Perp:BTCUSDT]\n",
     "positions.0: position binance.sub2:Perp:BTCUSDT is on venue 'binance.sub2', not in venues"),
])
def test_a_bad_account_is_one_line_naming_the_field(tmp_path, body, line):
    path = _mode(tmp_path, "mode: bad\n" + body)
    with pytest.raises(ConfigError) as info:
        load_mode(path)
    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith(f"{path}: {line}")


def test_config_check_reports_a_bad_account_and_exits_2(tmp_path, capsys):
    path = _mode(tmp_path, "mode: bad\naccounts: {binance: [{id: a}, {id: a}]}\n")
    assert main(["config", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{path}: accounts.binance.1.id: account 'a' is listed twice"]


def test_config_check_accepts_a_desk_of_accounts(tmp_path, capsys):
    path = _mode(tmp_path, DESK)
    assert main(["config", "check", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: ok"


def test_monitor_refuses_a_missing_account_credential_before_it_starts(tmp_path, capsys,
                                                                        monkeypatch):
    for name, value in {"BASIS_BINANCE_API_KEY": "k", "BASIS_BINANCE_API_SECRET": "s",
                        "BASIS_OKX_API_KEY": "k", "BASIS_OKX_API_SECRET": "s",
                        "BASIS_OKX_API_PASSPHRASE": "p", "BASIS_BINANCE_SUB1_API_KEY": "k1",
                        "BASIS_BINANCE_SUB_2_API_KEY": "k2",
                        "BASIS_BINANCE_SUB_2_API_SECRET": "s2"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("BASIS_BINANCE_SUB1_API_SECRET", raising=False)
    path = _mode(tmp_path, DESK.replace("venues: [aave_v3]\n", ""))
    assert main(["monitor", str(path), "--once", "--db", str(tmp_path / "h.sqlite")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [("error: binance.sub1: missing credential, set the environment variable "
                    "BASIS_BINANCE_SUB1_API_SECRET")]


def test_monitor_exits_2_on_a_bad_account(tmp_path, capsys):
    path = _mode(tmp_path, "mode: bad\naccounts: {binance: [{id: main}, {id: main}]}\n")
    assert main(["monitor", str(path), "--once"]) == 2
    assert "accounts.binance.1.id: account 'main' is listed twice" in capsys.readouterr().err


def test_settings_of_an_account_are_its_exchange_settings(tmp_path):
    path = _mode(tmp_path, DESK + "venue_settings: {binance.sub1: {timeout_s: 3}}\n")
    with pytest.raises(ConfigError) as info:
        load_mode(path)
    assert info.value.problems == [
        (f"{path}: venue_settings.binance.sub1: an account shares its exchange's settings; "
         "set venue_settings.binance")]
    shared = load_mode(_mode(tmp_path, DESK + "venue_settings: {binance: {timeout_s: 3}}\n"))
    assert shared.venue_config("binance.sub1").timeout_s == 3
