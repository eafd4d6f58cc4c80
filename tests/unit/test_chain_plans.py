"""Read plans built from the shipped venue configs, and how values fold into snapshots."""

from __future__ import annotations

import pytest

from factory.config import venue_defaults
from factory.errors import ConfigError, ContractMissingError, MissingCredentialError
from factory.execution_interface_factory import ExecutionInterfaceFactory
from factory.interfaces.evm.abi import MAX_UINT256
from factory.interfaces.evm.onchain_live import OnChainLiveBackend
from factory.interfaces.evm.plans import (
    ReserveTokens,
    aave_plan,
    combine_account_data,
    desk_addresses,
    fold,
    lst_plan,
    reserve_tokens_from,
    wallet_plan,
)
from factory.interfaces.evm.transfer_live import TransferLiveBackend

A = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
B = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
E18 = 10**18


def test_desk_addresses_are_read_from_the_environment_checksummed_and_deduplicated():
    cfg = venue_defaults()["aave_v3"]
    env = {"BASIS_WALLET_ADDRESSES": f" {A.lower()}, {B} ,{A},"}
    assert desk_addresses(cfg, env) == [A, B]


def test_a_missing_or_bad_address_list_names_the_variable():
    cfg = venue_defaults()["wallet"]
    with pytest.raises(MissingCredentialError, match="BASIS_WALLET_ADDRESSES"):
        desk_addresses(cfg, {})
    with pytest.raises(ConfigError, match="BASIS_WALLET_ADDRESSES.*not a 0x"):
        desk_addresses(cfg, {"BASIS_WALLET_ADDRESSES": "0x1234"})


def test_the_shipped_lst_venues_read_their_rate_functions():
    d = venue_defaults()
    assert d["etherfi"].options["lst_rates"] == {"weETH": "getRate()"}
    assert d["lido"].options["lst_rates"] == {"wstETH": "stEthPerToken()"}
    plan = lst_plan("etherfi", d["etherfi"].tokens, {"weETH": "getRate()"}, [A, B])
    assert [r.signature for r, _ in plan] == ["balanceOf(address)"] * 2 + ["getRate()"]
    assert {s.key for _, s in plan} == {"etherfi:LST:weETH"}


def test_an_lst_rate_for_an_unknown_token_is_a_config_error():
    with pytest.raises(ConfigError, match="options.lst_rates"):
        lst_plan("lido", {}, {"wstETH": "stEthPerToken()"}, [A])


def test_lst_balances_sum_over_addresses_and_carry_the_rate():
    plan = lst_plan("lido", venue_defaults()["lido"].tokens, {"wstETH": "stEthPerToken()"}, [A, B])
    positions, account, rates = fold(plan, [3 * E18, E18 // 2, 1_180_000_000_000_000_000])
    pos = positions["lido:LST:wstETH"]
    assert (pos.amount, pos.rate, account, rates) == (3.5, 1.18, None, {"wstETH": 1.18})


def test_an_lst_rate_is_kept_when_the_desk_holds_none_of_the_token_here():
    # all the weETH sits on AAVE: the etherfi venue still carries the rate it read
    plan = lst_plan("etherfi", venue_defaults()["etherfi"].tokens, {"weETH": "getRate()"}, [A])
    positions, _, rates = fold(plan, [0, 1_050_000_000_000_000_000])
    assert positions == {} and rates == {"weETH": 1.05}


def aave_reserves():
    return {"weETH": ReserveTokens("0x" + "11" * 20, "0x" + "12" * 20),
            "WETH": ReserveTokens("0x" + "21" * 20, "0x" + "22" * 20)}


def test_aave_plan_reads_atoken_and_debt_per_address_and_account_data():
    plan = aave_plan("aave_v3", "0x" + "99" * 20, aave_reserves(), {"weETH": 18, "WETH": 18}, [A])
    assert [s.key for _, s in plan] == [
        "aave_v3:aToken:aweETH", "aave_v3:debtToken:debtweETH",
        "aave_v3:aToken:aWETH", "aave_v3:debtToken:debtWETH", None,
    ]


def test_aave_values_fold_into_positions_without_zeros_and_the_pools_account_figures():
    plan = aave_plan("aave_v3", "0x" + "99" * 20, aave_reserves(), {"weETH": 18, "WETH": 18}, [A])
    account_raw = (3_150_000_000_000, 1_800_000_000_000, 1_129_500_000_000, 9500, 9300,
                   1_662_500_000_000_000_000)
    positions, account, _ = fold(plan, [10 * E18, 0, 0, 6 * E18, account_raw])
    assert {k: p.amount for k, p in positions.items()} == {
        "aave_v3:aToken:aweETH": 10.0, "aave_v3:debtToken:debtWETH": 6.0,
    }
    assert (account.health_factor, account.total_collateral, account.total_debt) == (
        1.6625, 31_500.0, 18_000.0)
    assert (account.ltv, account.liquidation_threshold, account.available_borrows) == (
        0.93, 0.95, 11_295.0)


def test_several_addresses_combine_to_the_weakest_health_factor_and_summed_values():
    safe = (2_000_000_000_000, 0, 1_500_000_000_000, 8000, 7500, MAX_UINT256)
    risky = (1_000_000_000_000, 800_000_000_000, 0, 9000, 8500, 1_125_000_000_000_000_000)
    acct = combine_account_data([safe, risky])
    assert acct.health_factor == 1.125
    assert (acct.total_collateral, acct.total_debt) == (30_000.0, 8_000.0)
    assert acct.liquidation_threshold == pytest.approx((2 * 0.80 + 1 * 0.90) / 3)
    assert combine_account_data([safe]).health_factor is None


def test_a_reserve_missing_from_the_pool_is_contract_missing():
    listed = [0] * 8 + ["0x" + "11" * 20, "0x" + "13" * 20, "0x" + "12" * 20] + [0] * 4
    unlisted = [0] * 8 + ["0x" + "00" * 20] * 4 + [0] * 3
    assert reserve_tokens_from("aave_v3", "pool", ["WETH"], [listed])["WETH"] == ReserveTokens(
        "0x" + "11" * 20, "0x" + "12" * 20)
    with pytest.raises(ContractMissingError, match="wstETH"):
        reserve_tokens_from("aave_v3", "pool", ["wstETH"], [unlisted])


def test_the_wallet_reads_native_eth_through_multicall_and_only_its_balance_tokens():
    cfg = venue_defaults()["wallet"]
    assert cfg.options["balance_tokens"] == ["USDT", "WETH"]
    backend = TransferLiveBackend(cfg, environ={})
    plan = wallet_plan("wallet", cfg.contracts["multicall3"], backend._balance_tokens(), [A])
    assert [(r.signature, str(s.key)) for r, s in plan] == [
        ("getEthBalance(address)", "wallet:BaseToken:ETH"),
        ("balanceOf(address)", "wallet:BaseToken:USDT"),
        ("balanceOf(address)", "wallet:BaseToken:WETH"),
    ]
    positions, _, _ = fold(plan, [2 * E18, 1_500_000, 0])
    assert {k: p.amount for k, p in positions.items()} == {
        "wallet:BaseToken:ETH": 2.0, "wallet:BaseToken:USDT": 1.5}


@pytest.mark.parametrize(("venue", "cls"), [("aave_v3", OnChainLiveBackend),
                                            ("lido", OnChainLiveBackend),
                                            ("wallet", TransferLiveBackend)])
def test_live_interfaces_build_their_backend_without_credentials_or_network(venue, cls):
    iface = ExecutionInterfaceFactory.create_position_interface(venue, "live", {})
    assert isinstance(iface.backend, cls)


async def test_the_first_live_call_without_addresses_names_the_variable(monkeypatch):
    monkeypatch.delenv("BASIS_WALLET_ADDRESSES", raising=False)
    iface = ExecutionInterfaceFactory.create_position_interface("etherfi", "live", {})
    with pytest.raises(MissingCredentialError, match="BASIS_WALLET_ADDRESSES"):
        await iface.get_positions()


def test_the_wallet_reads_transit_only_from_the_cex_venues_the_mode_enables():
    cfg = venue_defaults()["wallet"]
    from factory.config import resolve_config

    mode = resolve_config({"venues": ["wallet", "okx"]})
    assert TransferLiveBackend(cfg, mode, environ={}).transfer_venues() == ["okx"]
    assert TransferLiveBackend(cfg, None, environ={}).transfer_venues() == [
        "binance", "bybit", "okx"]


def test_a_balance_token_missing_from_tokens_is_a_config_error():
    cfg = venue_defaults()["wallet"]
    cfg = cfg.model_copy(update={"options": {**cfg.options, "balance_tokens": ["USDT", "DAI"]}})
    with pytest.raises(ConfigError, match="DAI"):
        TransferLiveBackend(cfg, environ={})._balance_tokens()
