"""Record the chain payloads of tests/unit/test_mutation_chain.py from a real anvil sandbox.

Run ``PYTHONPATH=. .venv/bin/python tests/unit/chain_payloads/record.py`` to rewrite
``anvil.json``. The book is the leveraged staking hedge with every weETH on AAVE and none in the
wallet (10 aweETH against 6 WETH of debt, weETH rate 1.05), USDT and ETH in the wallet, and two
desk transfers left pending (USDT to an exchange, ETH to an exchange). Each entry holds the
plan (reads and where their values go), the raw JSON-RPC answers and the decoded values `fold`
receives.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

from factory.config import resolve_config
from factory.interfaces.evm.abi import Read, encode_aggregate3
from factory.interfaces.evm.onchain_live import OnChainLiveBackend
from factory.interfaces.evm.plans import reserve_data_reads
from factory.interfaces.evm.rpc import decode_multicall
from factory.interfaces.evm.transfer_live import TransferLiveBackend
from factory.sandbox.chain import (
    AnvilProcess,
    SandboxOps,
    deploy_sandbox,
    sandbox_environ,
    venue_settings_for,
)

OUT = Path(__file__).with_name("anvil.json")


def post(url: str, body: Any) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def call(url: str, method: str, params: list) -> dict[str, Any]:
    return post(url, {"jsonrpc": "2.0", "id": 1, "method": method, "params": params})


def jsonable(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def plan_entry(url: str, multicall3: str, plan: list, block: int) -> dict[str, Any]:
    stamp = Read("block timestamp", multicall3, "getCurrentBlockTimestamp()")
    reads = [r for r, _ in plan] + [stamp]
    data = "0x" + encode_aggregate3(reads).hex()
    answer = call(url, "eth_call", [{"to": multicall3, "data": data}, hex(block)])
    values = decode_multicall("recorder", reads, bytes.fromhex(answer["result"][2:]), block)
    return {
        "plan": [{"label": r.label, "target": r.target, "signature": r.signature,
                  "args": list(r.args), "returns": list(r.returns), "slot": s.kind,
                  "key": None if s.key is None else str(s.key), "decimals": s.decimals}
                 for r, s in plan],
        "block": block,
        "eth_call": answer,
        "values": jsonable(values[:-1]),
    }


async def record() -> dict[str, Any]:
    with AnvilProcess() as node:
        sandbox = deploy_sandbox(node.url)
        ops = SandboxOps(sandbox)
        desk, cex = sandbox.users[0], sandbox.users[3]
        ops.set_lst_rate("weETH", 1.05)
        ops.fund(desk, weETH=10, USDT=100, ETH=2)
        ops.aave_supply(desk, "weETH", 10)
        ops.aave_set_emode(desk, 1)
        ops.aave_borrow(desk, "WETH", 6)
        mode = resolve_config({"venues": ["aave_v3", "etherfi", "wallet"],
                               "venue_settings": venue_settings_for(sandbox)})
        env = sandbox_environ(sandbox, [desk])
        backends = {
            "aave_v3": OnChainLiveBackend(mode.venue_config("aave_v3"), environ=env),
            "etherfi": OnChainLiveBackend(mode.venue_config("etherfi"), environ=env),
            "wallet": TransferLiveBackend(mode.venue_config("wallet"), mode, environ=env,
                                          sources={}),
        }
        plans = {v: await b.ensure_ready() for v, b in backends.items()}
        block = int(call(node.url, "eth_blockNumber", [])["result"], 16)
        out: dict[str, Any] = {"chain_id": sandbox.chain_id, "desk": desk}
        out["batch"] = post(node.url, [
            {"jsonrpc": "2.0", "id": 0, "method": "eth_chainId", "params": []},
            {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
        ])
        multicall3 = sandbox.multicall3
        for venue, plan in plans.items():
            out[venue] = plan_entry(node.url, multicall3, plan, block)
        aave_cfg = mode.venue_config("aave_v3")
        reads = reserve_data_reads(aave_cfg.contracts["pool"], aave_cfg.tokens, aave_cfg.reserves)
        data = "0x" + encode_aggregate3(reads).hex()
        answer = call(node.url, "eth_call", [{"to": multicall3, "data": data}, hex(block)])
        values = decode_multicall("recorder", reads, bytes.fromhex(answer["result"][2:]), block)
        out["reserve_data"] = {"pool": aave_cfg.contracts["pool"],
                               "reserves": list(aave_cfg.reserves), "values": jsonable(values)}
        ops.set_automine(False)
        ops.transfer(desk, "USDT", cex, 25, wait=False)
        ops.send_eth(desk, cex, 0.5, wait=False)
        out["tokens"] = {sym: [t.address, t.decimals]
                         for sym, t in mode.venue_config("wallet").tokens.items()}
        out["txpool_content"] = call(node.url, "txpool_content", [])
        out["pending_block"] = call(node.url, "eth_getBlockByNumber", ["pending", True])
        for b in backends.values():
            await b.close()
        return out


if __name__ == "__main__":
    OUT.write_text(json.dumps(asyncio.run(record()), indent=1) + "\n")
    print(f"wrote {OUT}")
