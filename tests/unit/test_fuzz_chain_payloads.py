"""Abuse of the chain decoding: whatever a node answers, we get positions or a typed error.

`EvmRpc` runs over a hand-written fake AsyncWeb3 that answers ``eth_call`` with random bytes,
random ``aggregate3`` results (wrong lengths, failed reads, short or oversized words) or valid
but extreme values (max uint256), and answers the pending-pool methods with malformed
transactions. Decoding and folding give finite positions or a `BasisError`
(``BadResponseError`` / ``CallRevertedError``); never a bare decoding error, never a NaN.
"""

from __future__ import annotations

import math
from typing import Any

from eth_abi import encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factory.errors import BadResponseError, BasisError
from factory.interfaces.evm.abi import MAX_UINT256, Read, decode_erc20_transfer
from factory.interfaces.evm.plans import (
    ACCOUNT_DATA_TYPES,
    Slot,
    fold,
    lst_plan,
    reserve_tokens_from,
)
from factory.interfaces.evm.rpc import EvmRpc
from factory.positions import PositionKey

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

MULTICALL = "0xcA11bde05977b3631167028862bE2a173976CA11"
TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DESK = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
A_KEY = PositionKey("aave_v3:aToken:aWETH")
PLAN = [
    (Read("aWETH.balanceOf", TOKEN, "balanceOf(address)", (DESK,)), Slot("amount", A_KEY, 18)),
    (Read("acct", TOKEN, "getUserAccountData(address)", (DESK,), ACCOUNT_DATA_TYPES),
     Slot("account")),
]


class FakeEth:
    def __init__(self, raw: bytes):
        self.raw = raw

    async def call(self, tx: dict, block_identifier: Any = None) -> bytes:
        return self.raw


class FakeProvider:
    def __init__(self, pool: Any):
        self.pool = pool

    async def make_request(self, method: str, params: list) -> Any:
        return {"jsonrpc": "2.0", "id": 1, "result": self.pool}


class FakeWeb3:
    """What EvmRpc uses of AsyncWeb3: ``eth.call`` and ``provider.make_request``."""

    def __init__(self, raw: bytes = b"", pool: Any = None):
        self.eth = FakeEth(raw)
        self.provider = FakeProvider(pool)


uint = st.one_of(st.sampled_from([0, 1, MAX_UINT256, MAX_UINT256 - 1, 10**18]),
                 st.integers(0, MAX_UINT256))
word = st.one_of(uint.map(lambda v: encode(["uint256"], [v])), st.binary(max_size=70))
results = st.lists(st.tuples(st.booleans(), word), max_size=3).map(
    lambda items: encode(["(bool,bytes)[]"], [items]))
well_formed = st.tuples(uint, st.lists(uint, min_size=6, max_size=6)).map(
    lambda v: encode(["(bool,bytes)[]"], [[(True, encode(["uint256"], [v[0]])),
                                          (True, encode(["uint256"] * 6, v[1]))]]))
raw_answer = st.one_of(st.binary(max_size=300), results, well_formed)


@FUZZ
@given(raw=raw_answer, decimals=st.sampled_from([0, 6, 18, 36]))
async def test_a_random_aggregate3_answer_is_finite_positions_or_a_typed_error(raw, decimals):
    rpc = EvmRpc("aave_v3", "http://node.invalid", w3=FakeWeb3(raw))
    plan = [(PLAN[0][0], Slot("amount", A_KEY, decimals)), PLAN[1]]
    try:
        values = await rpc.multicall(MULTICALL, [r for r, _ in plan])
    except BasisError as exc:
        assert exc.venue == "aave_v3"
        return
    positions, account, _ = fold(plan, values)
    for pos in positions.values():
        assert math.isfinite(pos.amount) and pos.amount > 0
    assert account is not None
    for name, value in account:
        assert not isinstance(value, float) or math.isfinite(value), name


@FUZZ
@given(values=st.lists(uint, min_size=4, max_size=4))
def test_extreme_lst_balances_and_rates_fold_to_finite_numbers(values):
    tokens = {"weETH": type("T", (), {"address": TOKEN, "decimals": 18})()}
    plan = lst_plan("etherfi", tokens, {"weETH": "getRate()"}, [DESK, TOKEN, MULTICALL])
    try:
        positions, _, _ = fold(plan, values)
    except BadResponseError as exc:  # a rate of zero
        assert "rate reads zero" in str(exc)
        return
    for pos in positions.values():
        assert math.isfinite(pos.amount) and math.isfinite(pos.rate)


tx_field = st.one_of(st.none(), st.integers(-5, 2**70), st.text(max_size=10),
                     st.sampled_from(["0x", "0xzz", "0xabc", DESK, DESK.lower(), "0x1"]),
                     st.binary(max_size=8), st.lists(st.integers(), max_size=2))
tx = st.fixed_dictionaries({}, optional={
    "hash": tx_field, "from": st.one_of(st.just(DESK), tx_field), "to": tx_field,
    "value": tx_field, "input": tx_field, "nonce": tx_field,
})
pool = st.one_of(
    st.fixed_dictionaries({"pending": st.dictionaries(st.just(DESK), st.dictionaries(
        st.text(max_size=3), st.one_of(tx, tx_field), max_size=2), max_size=1)}),
    st.fixed_dictionaries({"pending": tx_field, "queued": st.lists(tx, max_size=2)}),
    tx_field,
)


@FUZZ
@given(answer=pool)
async def test_a_malformed_pending_pool_is_transactions_or_a_bad_response(answer):
    rpc = EvmRpc("wallet", "http://node.invalid", w3=FakeWeb3(pool=answer))
    rpc._pool_method = 1  # txpool_content, the method anvil and geth answer
    try:
        txs = await rpc.pending_transactions([DESK])
    except BadResponseError as exc:
        assert exc.venue == "wallet" and "txpool_content" in str(exc)
        return
    for t in txs or []:
        assert isinstance(t["value"], int) and isinstance(t["input"], bytes)


@FUZZ
@given(calldata=st.one_of(st.binary(max_size=80), st.text(max_size=80),
                          st.binary(max_size=80).map(lambda b: "0x" + b.hex()[:-1])))
def test_any_calldata_is_an_erc20_transfer_or_none(calldata):
    decoded = decode_erc20_transfer(calldata)
    assert decoded is None or (decoded[0].startswith("0x") and decoded[1] >= 0)


@FUZZ
@given(addresses=st.lists(st.sampled_from([TOKEN, DESK, "0x" + "00" * 20]), min_size=15,
                          max_size=15))
def test_reserve_data_with_any_addresses_is_tokens_or_contract_missing(addresses):
    try:
        tokens = reserve_tokens_from("aave_v3", TOKEN, ["WETH"], [addresses])
    except BasisError as exc:
        assert "not listed" in str(exc)
    else:
        assert "0x" + "00" * 20 not in (tokens["WETH"].a_token, tokens["WETH"].variable_debt_token)
