"""The sandbox chain itself: anvil's lifecycle, the deployment and the venue settings it gives."""

from __future__ import annotations

import socket

import pytest

from factory.config import resolve_config
from factory.sandbox.chain import (
    ANVIL_CHAIN_ID,
    MULTICALL3_ADDRESS,
    AnvilProcess,
    ChainClient,
    SandboxChain,
    SandboxOps,
    compile_sandbox_contracts,
    venue_settings_for,
)
from factory.sandbox.chain.aave import aave_abi


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_anvil_starts_on_a_free_local_port_and_stop_kills_it():
    with AnvilProcess() as node:
        port = node.port
        assert node.url == f"http://127.0.0.1:{port}"
        assert int(ChainClient(node.url).rpc("eth_chainId"), 16) == ANVIL_CHAIN_ID
    assert not node.running
    assert not port_open(port)


def test_anvil_without_automine_keeps_transactions_pending_until_mined():
    with AnvilProcess(automine=False) as node:
        client = ChainClient(node.url)
        a, b = client.accounts()[:2]
        tx = client.transact(a, b, value=10**18, wait=False)
        assert client.rpc("eth_getTransactionReceipt", [tx]) is None
        client.rpc("evm_mine")
        assert int(client.rpc("eth_getTransactionReceipt", [tx])["status"], 16) == 1


def test_anvil_rejects_contradictory_mining_options():
    with pytest.raises(ValueError):
        AnvilProcess(automine=False, block_time_s=1)


def test_the_deployment_takes_seconds_and_wires_the_real_aave_market(sandbox: SandboxChain):
    assert sandbox.deploy_s < 10
    client = ChainClient(sandbox.rpc_url)
    pool = sandbox.aave.pool
    assert len(client.rpc("eth_getCode", [MULTICALL3_ADDRESS, "latest"])) > 2
    listed = client.call(pool, aave_abi("Pool"), "getReservesList")
    assert [a.lower() for a in listed] == [
        sandbox.token(s).address.lower() for s in ("USDT", "WETH", "weETH")
    ]
    ltv, threshold, bonus, _, label = client.call(pool, aave_abi("Pool"), "getEModeCategoryData", 1)
    assert (ltv, threshold, label) == (9300, 9500, "ETH correlated")
    assert threshold * bonus <= 10_000 * 10_000
    assert sandbox.token("USDT").decimals == 6


def test_the_seeded_market_has_utilisation_in_every_reserve(chain: SandboxOps, sandbox):
    for sym, tokens in sandbox.aave.reserves.items():
        debt = chain.client.call(tokens.variable_debt_token, aave_abi("VariableDebtToken"),
                                 "totalSupply")
        assert debt > 0, sym


def test_venue_settings_point_the_shipped_configs_at_the_sandbox(sandbox: SandboxChain):
    mode = resolve_config({"venues": ["aave_v3", "etherfi", "lido", "wallet"],
                           "venue_settings": venue_settings_for(sandbox)})

    aave = mode.venue_config("aave_v3")
    assert aave.chain_id == 31337 and aave.contracts["pool"] == sandbox.aave.pool
    assert aave.tokens["weETH"].address == sandbox.token("weETH").address
    assert mode.venue_config("lido").tokens["wstETH"].address == sandbox.token("wstETH").address
    assert mode.venue_config("etherfi").options["lst_rates"] == {"weETH": "getRate()"}
    wallet = mode.venue_config("wallet")
    assert {t.address for t in wallet.tokens.values()} == {
        t.address for t in sandbox.tokens.values()
    }
    assert wallet.credentials.rpc_url_env == "BASIS_ETHEREUM_RPC_URL"


def test_compiled_contracts_are_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("BASIS_CACHE_DIR", str(tmp_path))
    first = compile_sandbox_contracts()
    cached = list((tmp_path / "solc").glob("*.json"))
    assert len(cached) == 1
    assert compile_sandbox_contracts() == first
    assert {"Multicall3", "SandboxERC20", "SandboxWETH", "SandboxWeETH", "SandboxWstETH",
            "MockAggregator"} <= set(first)
