"""Mutation harness over every chain payload: each mutated leaf gives the unmutated result or a
typed error (factory/errors.py), never a different result presented as good.

The payloads are real anvil answers (tests/unit/chain_payloads/anvil.json, made by record.py
there): the ``eth_chainId`` + ``eth_blockNumber`` batch, the aggregate3 ``eth_call`` of the
aave_v3, etherfi and wallet plans, ``Pool.getReserveData``, the pending pool
(``txpool_content``) and the ``pending`` block. JSON-RPC answers go through the real `EvmRpc`
and web3's response processing over a provider that replays the (mutated) answer; the decoded
values go through `fold` and `reserve_tokens_from`.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from web3 import AsyncWeb3
from web3.providers.async_base import AsyncBaseProvider

from factory.errors import VenueError, WrongChainError
from factory.interfaces.evm.abi import Read
from factory.interfaces.evm.pending import PendingTracker, drop_mined
from factory.interfaces.evm.plans import Plan, Slot, fold, reserve_tokens_from
from factory.interfaces.evm.rpc import EvmRpc
from factory.positions import PositionKey
from tests.mutation import run_mutations

DATA = json.loads((Path(__file__).parent / "chain_payloads" / "anvil.json").read_text())
TYPED = (VenueError,)
# what the mapping reads of a transaction (deeper than the block's own hash and nonce)
TX_FIELDS = {"hash", "from", "to", "value", "input", "nonce"}
NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Replay(AsyncBaseProvider):
    """Answers every request with one canned JSON-RPC answer (a batch answer for batches)."""

    def __init__(self, answer: Any):
        super().__init__()
        self.answer = answer

    async def make_request(self, method, params):
        return self.answer

    async def make_batch_request(self, requests):
        return self.answer


def rpc_over(venue: str, answer: Any) -> EvmRpc:
    w3 = AsyncWeb3(Replay(answer), middleware=[])
    return EvmRpc(venue, "http://node.invalid", expected_chain_id=DATA["chain_id"], w3=w3)


def plan_of(entry: dict) -> Plan:
    return [
        (Read(p["label"], p["target"], p["signature"], tuple(p["args"]), tuple(p["returns"])),
         Slot(p["slot"], None if p["key"] is None else PositionKey(p["key"]), p["decimals"]))
        for p in entry["plan"]
    ]


def check(outcome) -> None:
    assert outcome.mutations > 0
    assert not outcome.silent, "\n".join(outcome.silent)


def test_the_chain_id_and_block_batch():
    def evaluate(answer):
        return asyncio.run(rpc_over("aave_v3", answer).chain_and_block())

    assert evaluate(DATA["batch"]) == int(DATA["batch"][1]["result"], 16)
    check(run_mutations("chain eth_chainId+eth_blockNumber batch", DATA["batch"], evaluate,
                        TYPED, include=lambda path: path[-1] == "result"))


@pytest.mark.parametrize("venue", ["aave_v3", "etherfi", "wallet"])
def test_the_aggregate3_eth_call_of_each_plan(venue):
    entry = DATA[venue]
    plan = plan_of(entry)
    reads = [r for r, _ in plan] + [Read("block timestamp", _multicall3(),
                                         "getCurrentBlockTimestamp()")]

    def evaluate(answer):
        values = asyncio.run(rpc_over(venue, answer).multicall(_multicall3(), reads, entry["block"]))
        return fold(plan, values[:-1], venue)

    assert evaluate(entry["eth_call"]) == fold(plan, _tuples(entry["values"]), venue)
    check(run_mutations(f"chain {venue} aggregate3 eth_call", entry["eth_call"], evaluate, TYPED,
                        include=lambda path: path[-1] == "result"))


def _multicall3() -> str:
    return DATA["wallet"]["plan"][0]["target"]  # getEthBalance is a Multicall3 read


def _tuples(values: list) -> list:
    return [tuple(v) if isinstance(v, list) else v for v in values]


@pytest.mark.parametrize("venue", ["aave_v3", "etherfi", "wallet"])
def test_the_decoded_values_fold_receives(venue):
    entry = DATA[venue]
    plan = plan_of(entry)
    check(run_mutations(f"chain {venue} values to fold", entry["values"],
                        lambda values: fold(plan, values, venue), TYPED))


def test_the_etherfi_rate_survives_a_wallet_without_weeth():
    folded = fold(plan_of(DATA["etherfi"]), DATA["etherfi"]["values"], "etherfi")
    assert folded.positions == {} and folded.rates == {"weETH": 1.05}


def test_the_reserve_data_of_the_pool():
    data = DATA["reserve_data"]

    def evaluate(values):
        return reserve_tokens_from("aave_v3", data["pool"], data["reserves"], values)

    check(run_mutations("chain Pool.getReserveData", data["values"], evaluate, TYPED))


def _transfers(method_index: int, answer: Any) -> list:
    desk = DATA["desk"]
    tokens = {address: (sym, decimals) for sym, (address, decimals) in DATA["tokens"].items()}

    async def go():
        rpc = rpc_over("wallet", answer)
        rpc._pool_method = method_index
        txs = await rpc.pending_transactions([desk])
        tracker = PendingTracker("wallet", lambda: NOW)
        return tracker.transfers(drop_mined(txs, {desk: 4}), [desk], tokens)

    return asyncio.run(go())


@pytest.mark.parametrize(("name", "method_index"), [("txpool_content", 1), ("pending_block", 2)])
def test_the_pending_pool(name, method_index):
    answer = DATA[name]
    baseline = _transfers(method_index, answer)
    assert sorted((t.asset, t.amount) for t in baseline) == [("ETH", 0.5), ("USDT", 25.0)]
    check(run_mutations(f"chain {name} pending transactions", answer,
                        lambda a: _transfers(method_index, a), TYPED,
                        include=lambda path: path[-1] in TX_FIELDS and len(path) > 3))


class ByMethod(AsyncBaseProvider):
    """Answers single requests per method; refuses batches as some hosted nodes do."""

    def __init__(self, results: dict[str, str]):
        super().__init__()
        self.results = results
        self.seen: list[str] = []

    async def make_request(self, method, params):
        self.seen.append(method)
        return {"jsonrpc": "2.0", "id": 1, "result": self.results[method]}

    async def make_batch_request(self, requests):
        self.seen.append("batch")
        return {"jsonrpc": "2.0", "id": None,
                "error": {"code": -32600, "message": "batch requests are not supported"}}


def test_a_node_that_refuses_batches_still_has_its_chain_checked_on_every_snapshot():
    provider = ByMethod({"eth_chainId": hex(DATA["chain_id"]), "eth_blockNumber": "0x10"})
    rpc = EvmRpc("etherfi", "http://node.invalid", expected_chain_id=DATA["chain_id"],
                 w3=AsyncWeb3(provider, middleware=[]))

    assert asyncio.run(rpc.chain_and_block()) == 16
    provider.results["eth_chainId"] = "0x1"
    with pytest.raises(WrongChainError, match="chain id 1"):
        asyncio.run(rpc.chain_and_block())
    # the batch was tried once, then the two methods one by one on each snapshot
    assert provider.seen == ["batch", "eth_chainId", "eth_blockNumber", "eth_chainId"]


def test_a_batch_answer_for_another_chain_is_wrong_chain():
    answer = [{"jsonrpc": "2.0", "id": 0, "result": "0x1"}, DATA["batch"][1]]
    with pytest.raises(WrongChainError):
        asyncio.run(rpc_over("aave_v3", answer).chain_and_block())
