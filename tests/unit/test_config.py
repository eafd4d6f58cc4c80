"""Config loading: frozen models, unknown fields rejected, errors naming file and field."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from factory.config import (
    ModeConfig,
    load_mode,
    resolve_config,
    venue_defaults,
    with_overrides,
)
from factory.errors import ConfigError, MissingCredentialError

REPO = Path(__file__).resolve().parents[2]
MODES = sorted((REPO / "configs" / "modes").glob("*.yaml"))


def test_the_six_modes_of_the_domain_ship_and_load():
    names = {load_mode(p).mode for p in MODES}
    assert names == {
        "pure_lending_usdt",
        "btc_basis",
        "eth_basis",
        "eth_staking_only",
        "usdt_eth_staking_hedged_simple",
        "usdt_eth_staking_hedged_leveraged",
    }


def test_every_shipped_venue_has_fixed_credential_names():
    venues = venue_defaults()
    assert set(venues) == {"binance", "bybit", "okx", "aave_v3", "lido", "etherfi", "wallet"}
    for cex in ("binance", "bybit", "okx"):
        creds = venues[cex].credentials
        assert creds.api_key_env == f"BASIS_{cex.upper()}_API_KEY"
        assert creds.api_secret_env == f"BASIS_{cex.upper()}_API_SECRET"
    assert venues["okx"].credentials.passphrase_env == "BASIS_OKX_API_PASSPHRASE"
    for chain in ("aave_v3", "lido", "etherfi", "wallet"):
        assert venues[chain].credentials.rpc_url_env == "BASIS_ETHEREUM_RPC_URL"
        assert venues[chain].credentials.addresses_env == "BASIS_WALLET_ADDRESSES"


def _write(tmp_path, text):
    p = tmp_path / "mode.yaml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    "body, field, fragment",
    [
        ("mode: x\nvenus: [binance]\n", "venus", "unknown field"),
        ("mode: x\npositions: [okx:Perp:BTC-USDT-SWAP]\n", "positions.0", "venue-neutral"),
        ("mode: x\nreconciliation: {abs_tol: -0.1}\n", "reconciliation.abs_tol", ">= 0"),
        ("mode: x\nhedge: {splits: {okx: 0.5}}\n", "hedge.splits", "sum to 1"),
    ],
)
def test_a_bad_mode_file_names_file_field_and_expectation(tmp_path, body, field, fragment):
    path = _write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_mode(path)
    assert len(info.value.problems) == 1
    line = info.value.problems[0]
    assert line.startswith(f"{path}: {field}:")
    assert fragment in line.replace("greater than or equal to", ">=")


def test_invalid_yaml_reports_the_line(tmp_path):
    path = _write(tmp_path, "mode: x\nvenues: [binance\n")
    with pytest.raises(ConfigError, match=r"mode.yaml: line \d+: invalid YAML"):
        load_mode(path)


def test_models_are_frozen():
    cfg = load_mode(MODES[0])
    with pytest.raises(ValidationError):
        cfg.mode = "other"  # type: ignore[misc]


def test_a_plain_dict_without_venue_settings_uses_the_shipped_defaults():
    cfg = resolve_config({"venues": ["binance"]})
    assert cfg.venue_config("binance").urls["futures"] == "https://fapi.binance.com"


def test_partial_venue_settings_are_merged_over_the_defaults():
    cfg = resolve_config({"venue_settings": {"binance": {"api_base_url": "http://127.0.0.1:9"}}})
    binance = cfg.venue_config("binance")
    assert binance.api_base_url == "http://127.0.0.1:9"
    assert binance.credentials.api_key_env == "BASIS_BINANCE_API_KEY"


def test_base_url_comes_from_the_environment_first():
    binance = venue_defaults()["binance"]
    env = {"BASIS_BINANCE_API_BASE_URL": "http://127.0.0.1:8080"}
    assert binance.base_url(env) == "http://127.0.0.1:8080"
    assert binance.base_url({}) is None


def test_a_missing_credential_names_the_variable():
    okx = venue_defaults()["okx"]
    with pytest.raises(MissingCredentialError, match="BASIS_OKX_API_PASSPHRASE"):
        okx.credentials.read("okx", "passphrase_env", environ={})
    secret = okx.credentials.read("okx", "api_secret_env", environ={"BASIS_OKX_API_SECRET": "s3"})
    assert "s3" not in repr(secret) and secret.get_secret_value() == "s3"


def test_dotted_overrides_replace_one_field_and_revalidate():
    cfg = load_mode(REPO / "configs" / "modes" / "btc_basis.yaml")
    out = with_overrides(cfg, ["strategy.rebalance=false", "hedge.splits={binance: 1.0}"])
    assert out.strategy.rebalance is False and out.hedge.splits == {"binance": 1.0}
    with pytest.raises(ConfigError, match="unknown field"):
        with_overrides(cfg, ["strategy.nope=1"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        with_overrides(cfg, ["strategy.rebalance"])


def test_allocation_on_a_venue_that_is_not_enabled_is_rejected():
    with pytest.raises(ConfigError, match="not in venues"):
        resolve_config({"venues": ["okx"], "allocation": {"bybit:Perp:BTCUSDT": -1}})


def test_empty_dict_is_a_valid_adhoc_config():
    assert resolve_config({}) == ModeConfig()
