"""Chain identity on every snapshot: a node that starts answering for another chain fails the
venue instead of being read as ours.

A second anvil serves another chain id with the same sandbox deployed at the same addresses (so
every read would succeed there); the proxy in front of the session's anvil is switched to it
between two snapshots.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from actors.monitor import LocalVenueClient, PositionMonitor
from factory.config import ModeConfig
from factory.errors import WrongChainError, is_retryable
from factory.execution_interface_factory import ExecutionInterfaceFactory
from factory.interfaces.evm.onchain_live import OnChainLiveBackend
from factory.interfaces.evm.transfer_live import TransferLiveBackend
from factory.positions import utc
from factory.sandbox.chain import AnvilProcess, RpcProxy, SandboxChain, SandboxOps, deploy_sandbox

OTHER_CHAIN_ID = 4242


@pytest.fixture(scope="module")
def other_chain() -> Iterator[SandboxChain]:
    """The same sandbox on another chain id (the desk holds nothing there)."""
    with AnvilProcess(chain_id=OTHER_CHAIN_ID) as node:
        yield deploy_sandbox(node.url)


def proxied(proxy: RpcProxy, desk: str) -> dict[str, str]:
    return {"BASIS_ETHEREUM_RPC_URL": proxy.url, "BASIS_WALLET_ADDRESSES": desk}


@pytest.mark.parametrize("venue", ["aave_v3", "etherfi", "wallet"])
async def test_a_node_that_switches_chain_fails_the_next_snapshot_with_wrong_chain(
    chain: SandboxOps, sandbox: SandboxChain, other_chain: SandboxChain, desk: str,
    chain_mode: ModeConfig, rpc_proxy: RpcProxy, venue: str,
):
    assert other_chain.multicall3 == sandbox.multicall3  # every read would work over there
    chain.fund(desk, weETH=3, USDT=50)
    cfg = chain_mode.venue_config(venue)
    env = proxied(rpc_proxy, desk)
    b = (TransferLiveBackend(cfg, chain_mode, environ=env, sources={}) if venue == "wallet"
         else OnChainLiveBackend(cfg, environ=env))
    good = await b.fetch_snapshot(utc())
    assert good.status == "ok"

    rpc_proxy.upstream = other_chain.rpc_url
    rpc_proxy.reset()
    with pytest.raises(WrongChainError) as info:
        await b.fetch_snapshot(utc())
    assert f"chain id {OTHER_CHAIN_ID}" in str(info.value) and str(sandbox.chain_id) in str(
        info.value)
    assert not is_retryable(info.value)
    assert rpc_proxy.counts["eth_call"] == 0  # nothing was read from the other chain
    assert ("eth_chainId", "eth_blockNumber") in rpc_proxy.requests  # one round trip

    rpc_proxy.upstream = sandbox.rpc_url
    again = await b.fetch_snapshot(utc())
    assert again.positions == good.positions or venue == "wallet"
    await b.close()


async def test_the_monitor_keeps_the_last_good_positions_stale_when_the_node_changes_chain(
    chain: SandboxOps, sandbox: SandboxChain, other_chain: SandboxChain, desk: str,
    chain_mode: ModeConfig, rpc_proxy: RpcProxy, monkeypatch,
):
    chain.fund(desk, weETH=3)
    for name, value in proxied(rpc_proxy, desk).items():
        monkeypatch.setenv(name, value)
    iface = ExecutionInterfaceFactory.create_position_interface("etherfi", "live", chain_mode)
    ticks = iter([0.0, 0.0, 10.0, 10.0])
    monitor = PositionMonitor(None, chain_mode, "live",
                              clients={"etherfi": LocalVenueClient(iface)},
                              clock=lambda: next(ticks))
    first = await monitor.get_real_positions()
    assert first.positions == {"etherfi:LST:weETH": 3.0}

    rpc_proxy.upstream = other_chain.rpc_url
    second = await monitor.get_real_positions()
    etherfi = second.venues["etherfi"]
    assert etherfi.status == "stale" and etherfi.error.startswith("WrongChainError")
    # the desk holds no weETH on the other chain: it is never read as 0
    assert second.positions == {"etherfi:LST:weETH": 3.0} and not second.complete
    assert second.exposure_age_s == {"ETH": 10.0}
    await monitor.close()
