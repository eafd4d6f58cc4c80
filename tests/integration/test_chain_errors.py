"""Failures of the chain read become typed errors; nothing is ever read as zero."""

from __future__ import annotations

import pytest

from factory.config import ModeConfig, VenueConfig
from factory.errors import (
    CallRevertedError,
    ContractMissingError,
    MissingCredentialError,
    RateLimitedError,
    RpcUnreachableError,
    VenueTimeoutError,
    VenueUnavailableError,
    WrongChainError,
    is_retryable,
)
from factory.execution_interface_factory import ExecutionInterfaceFactory
from factory.interfaces.evm.onchain_live import OnChainLiveBackend
from factory.interfaces.evm.transfer_live import TransferLiveBackend
from factory.positions import utc
from factory.sandbox.chain import RpcProxy, SandboxChain, SandboxOps, free_port, sandbox_environ

NO_CODE = "0x000000000000000000000000000000000000dEaD"


def env_for(url: str, desk: str) -> dict[str, str]:
    return {"BASIS_ETHEREUM_RPC_URL": url, "BASIS_WALLET_ADDRESSES": desk}


def with_changes(cfg: VenueConfig, **changes) -> VenueConfig:
    return cfg.model_copy(update=changes)


@pytest.mark.parametrize("venue", ["aave_v3", "etherfi", "lido", "wallet"])
async def test_a_node_that_is_down_raises_rpc_unreachable(
    chain_mode: ModeConfig, desk: str, venue: str
):
    env = env_for(f"http://127.0.0.1:{free_port()}", desk)
    cfg = chain_mode.venue_config(venue)
    b = (TransferLiveBackend(cfg, chain_mode, environ=env, sources={}) if venue == "wallet"
         else OnChainLiveBackend(cfg, environ=env))

    with pytest.raises(RpcUnreachableError) as info:
        await b.fetch_snapshot(utc())

    assert is_retryable(info.value)
    assert "127.0.0.1" not in str(info.value)  # URLs (they may hold API keys) stay out
    await b.close()


async def test_a_node_that_goes_down_after_a_good_snapshot_raises_and_never_reads_zero(
    chain: SandboxOps, sandbox: SandboxChain, desk: str, chain_mode: ModeConfig,
    rpc_proxy: RpcProxy, monkeypatch,
):
    chain.fund(desk, weETH=3)
    monkeypatch.setenv("BASIS_ETHEREUM_RPC_URL", rpc_proxy.url)
    monkeypatch.setenv("BASIS_WALLET_ADDRESSES", desk)
    iface = ExecutionInterfaceFactory.create_position_interface("etherfi", "live", chain_mode)
    assert await iface.get_balance("weETH") == 3.0

    rpc_proxy.stop()

    with pytest.raises(RpcUnreachableError):
        await iface.get_balance("weETH")
    with pytest.raises(RpcUnreachableError):
        await iface.get_positions()
    await iface.close()


@pytest.mark.parametrize(
    ("fault", "error"),
    [("drop", RpcUnreachableError), ("http_503", VenueUnavailableError),
     ("http_429", RateLimitedError)],
)
async def test_node_faults_are_typed_and_retryable(
    desk: str, chain_mode: ModeConfig, rpc_proxy: RpcProxy, fault: str, error: type
):
    rpc_proxy.fault = fault
    b = OnChainLiveBackend(chain_mode.venue_config("etherfi"), environ=env_for(rpc_proxy.url, desk))

    with pytest.raises(error) as info:
        await b.fetch_snapshot(utc())

    assert is_retryable(info.value)
    await b.close()


async def test_a_slow_node_raises_venue_timeout(
    desk: str, chain_mode: ModeConfig, rpc_proxy: RpcProxy
):
    rpc_proxy.delay_s = 0.5
    cfg = with_changes(chain_mode.venue_config("etherfi"), timeout_s=0.1)
    b = OnChainLiveBackend(cfg, environ=env_for(rpc_proxy.url, desk))

    with pytest.raises(VenueTimeoutError):
        await b.fetch_snapshot(utc())
    await b.close()


async def test_a_node_on_another_chain_raises_wrong_chain(
    sandbox: SandboxChain, desk: str, chain_mode: ModeConfig
):
    cfg = with_changes(chain_mode.venue_config("aave_v3"), chain_id=1)
    b = OnChainLiveBackend(cfg, environ=sandbox_environ(sandbox, [desk]))

    with pytest.raises(WrongChainError, match="31337"):
        await b.fetch_snapshot(utc())
    await b.close()


@pytest.mark.parametrize("where", ["multicall3", "pool", "token"])
async def test_a_configured_contract_without_code_raises_contract_missing(
    sandbox: SandboxChain, desk: str, chain_mode: ModeConfig, where: str
):
    cfg = chain_mode.venue_config("aave_v3")
    if where == "token":
        tokens = dict(cfg.tokens)
        tokens["WETH"] = tokens["WETH"].model_copy(update={"address": NO_CODE})
        cfg = with_changes(cfg, tokens=tokens)
    else:
        cfg = with_changes(cfg, contracts={**cfg.contracts, where: NO_CODE})
    b = OnChainLiveBackend(cfg, environ=sandbox_environ(sandbox, [desk]))

    with pytest.raises(ContractMissingError, match="0x000000000000000000000000000000000000dEaD"):
        await b.fetch_snapshot(utc())
    assert not is_retryable(ContractMissingError("aave_v3", "x"))
    await b.close()


async def test_a_reserve_the_pool_does_not_list_raises_contract_missing(
    sandbox: SandboxChain, desk: str, chain_mode: ModeConfig
):
    cfg = chain_mode.venue_config("aave_v3")
    wsteth = chain_mode.venue_config("lido").tokens["wstETH"]
    cfg = with_changes(cfg, tokens={**cfg.tokens, "wstETH": wsteth},
                       reserves=[*cfg.reserves, "wstETH"])
    b = OnChainLiveBackend(cfg, environ=sandbox_environ(sandbox, [desk]))

    with pytest.raises(ContractMissingError, match="reserve wstETH is not listed"):
        await b.fetch_snapshot(utc())
    await b.close()


async def test_a_reverting_read_raises_call_reverted_naming_the_read(
    sandbox: SandboxChain, desk: str, chain_mode: ModeConfig
):
    cfg = chain_mode.venue_config("etherfi")
    cfg = with_changes(cfg, options={"lst_rates": {"weETH": "stEthPerToken()"}})
    b = OnChainLiveBackend(cfg, environ=sandbox_environ(sandbox, [desk]))

    with pytest.raises(CallRevertedError, match=r"weETH\.stEthPerToken\(\)"):
        await b.fetch_snapshot(utc())
    await b.close()


async def test_missing_credentials_name_the_variable_before_any_network(
    chain_mode: ModeConfig, monkeypatch
):
    monkeypatch.delenv("BASIS_ETHEREUM_RPC_URL", raising=False)
    monkeypatch.setenv("BASIS_WALLET_ADDRESSES", NO_CODE)
    iface = ExecutionInterfaceFactory.create_position_interface("lido", "live", chain_mode)

    with pytest.raises(MissingCredentialError, match="BASIS_ETHEREUM_RPC_URL"):
        await iface.get_positions()
