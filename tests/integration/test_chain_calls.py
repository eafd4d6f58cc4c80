"""What one snapshot costs at the node, counted by a JSON-RPC proxy in front of anvil."""

from __future__ import annotations

from factory.config import ModeConfig
from factory.interfaces.evm.onchain_live import OnChainLiveBackend
from factory.interfaces.evm.transfer_live import TransferLiveBackend
from factory.positions import utc
from factory.sandbox.chain import RpcProxy, SandboxChain, SandboxOps

# the chain id rides in the same JSON-RPC batch as the block number: two HTTP requests
STEADY = {"eth_chainId": 1, "eth_blockNumber": 1, "eth_call": 1}
STEADY_REQUESTS = [("eth_chainId", "eth_blockNumber"), ("eth_call",)]


def proxied_env(proxy: RpcProxy, addresses: list[str]) -> dict[str, str]:
    return {"BASIS_ETHEREUM_RPC_URL": proxy.url, "BASIS_WALLET_ADDRESSES": ",".join(addresses)}


async def test_an_aave_snapshot_is_one_eth_call_at_the_pinned_block(
    chain: SandboxOps, sandbox: SandboxChain, desk: str, chain_mode: ModeConfig,
    rpc_proxy: RpcProxy,
):
    chain.fund(desk, weETH=10, USDT=100)
    chain.aave_supply(desk, "weETH", 10)
    chain.aave_supply(desk, "USDT", 100)
    chain.aave_set_emode(desk, 1)
    chain.aave_borrow(desk, "WETH", 6)
    env = proxied_env(rpc_proxy, [desk, sandbox.users[1], sandbox.users[2]])
    aave = OnChainLiveBackend(chain_mode.venue_config("aave_v3"), environ=env)
    await aave.fetch_snapshot(utc())  # one-time setup: chain id, code checks, reserve tokens

    for _ in range(3):
        rpc_proxy.reset()
        chain.mine()
        snap = await aave.fetch_snapshot(utc())
        assert dict(rpc_proxy.counts) == STEADY
        assert rpc_proxy.requests == STEADY_REQUESTS
        (_call, tag), = rpc_proxy.calls("eth_call")
        assert int(tag, 16) == snap.block_number
    # 3 reserves x 2 tokens x 3 addresses + 3 account reads, all in that one call
    assert len(aave._plan) == 21
    await aave.close()


async def test_the_one_time_setup_is_small_and_done_once(
    sandbox: SandboxChain, desk: str, chain_mode: ModeConfig, rpc_proxy: RpcProxy
):
    env = proxied_env(rpc_proxy, [desk])
    aave = OnChainLiveBackend(chain_mode.venue_config("aave_v3"), environ=env)

    await aave.fetch_snapshot(utc())

    # chain id; code of Multicall3, Pool and the 3 reserves; one aggregate3 for
    # Pool.getReserveData of every reserve; then the snapshot itself (chain id + block batched)
    assert dict(rpc_proxy.counts) == {
        "eth_chainId": 2, "eth_getCode": 5, "eth_call": 2, "eth_blockNumber": 1,
    }
    await aave.close()


async def test_lst_and_wallet_snapshots_are_one_eth_call_each(
    chain: SandboxOps, sandbox: SandboxChain, desk: str, chain_mode: ModeConfig,
    rpc_proxy: RpcProxy,
):
    chain.fund(desk, weETH=1, wstETH=1, USDT=10)
    env = proxied_env(rpc_proxy, [desk])
    backends = [
        OnChainLiveBackend(chain_mode.venue_config("etherfi"), environ=env),
        OnChainLiveBackend(chain_mode.venue_config("lido"), environ=env),
        TransferLiveBackend(chain_mode.venue_config("wallet"), chain_mode, environ=env, sources={}),
    ]
    for b in backends:
        await b.fetch_snapshot(utc())
        rpc_proxy.reset()
        snap = await b.fetch_snapshot(utc())
        counts = dict(rpc_proxy.counts)
        counts.pop("txpool_content", None)  # the wallet also reads the pending pool
        assert counts == STEADY, b.venue
        assert snap.block_number is not None
        await b.close()
