"""Pending transactions into transfers in transit, and chain errors into the typed tree."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from eth_abi import encode
from web3.exceptions import ContractLogicError, MethodUnavailable, RequestTimedOut, Web3RPCError

from factory.errors import (
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    CallRevertedError,
    RateLimitedError,
    RpcUnreachableError,
    VenueTimeoutError,
    VenueUnavailableError,
    is_retryable,
)
from factory.interfaces.evm.abi import ReadFailure
from factory.interfaces.evm.answers import plain_tx
from factory.interfaces.evm.pending import PendingTracker, decode_pending, drop_mined
from factory.interfaces.evm.rpc import translate_error

DESK = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
CEX = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
USDT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
POOL = "0x9bd03768a7DCc129555dE410FF8E85528A4F88b5"
TOKENS = {USDT: ("USDT", 6)}


def tx(hash_="0xaa", *, to=USDT, value=0, data=b"", sender=DESK, nonce=0):
    return {"hash": hash_, "from": sender, "to": to, "value": value, "input": data, "nonce": nonce}


def usdt_transfer(amount_units: int, to: str = CEX) -> bytes:
    return bytes.fromhex("a9059cbb") + encode(["address", "uint256"], [to, amount_units])


def test_an_erc20_transfer_to_a_known_token_is_money_in_transit():
    assert decode_pending(tx(data=usdt_transfer(250_000_000)), TOKENS) == [
        ("0xaa", "USDT", 250.0, CEX)]


def test_native_value_is_money_in_transit_and_both_legs_get_distinct_ids():
    assert decode_pending(tx(to=CEX, value=15 * 10**17), TOKENS) == [("0xaa", "ETH", 1.5, CEX)]
    both = decode_pending(tx(value=10**18, data=usdt_transfer(1)), TOKENS)
    assert [t[0] for t in both] == ["0xaa", "0xaa:ETH"]


@pytest.mark.parametrize(
    "pending",
    [tx(to=POOL, data=usdt_transfer(5)),  # a transfer() call on a contract we do not know
     tx(data=bytes.fromhex("095ea7b3") + b"\x00" * 64)],  # approve moves nothing
)
def test_calls_that_move_no_money_we_can_name_are_skipped(pending):
    assert decode_pending(pending, TOKENS) == []


def test_a_desk_contract_creation_makes_the_transfers_unknown_not_absent():
    with pytest.raises(BadResponseError, match="creates a contract"):
        decode_pending(tx(to=None, data=b"\x60\x80"), TOKENS)
    tracker = PendingTracker("wallet", lambda: datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(BadResponseError, match="^wallet: "):
        tracker.transfers([tx(to=None, value=10**18)], [DESK], TOKENS)


def test_the_tracker_keeps_first_seen_times_and_forgets_landed_transactions():
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    tracker = PendingTracker("wallet", lambda: now[0])
    pending = [tx("0x01", data=usdt_transfer(10**6)), tx("0x02", to=CEX, value=10**18),
               tx("0x03", to=CEX, value=10**18, sender=CEX)]

    first = tracker.transfers(pending, [DESK], TOKENS)
    now[0] += timedelta(seconds=12)
    later = tracker.transfers(pending[:1], [DESK], TOKENS)
    now[0] += timedelta(seconds=5)
    again = tracker.transfers(pending, [DESK], TOKENS)

    assert [(t.id, t.age_s) for t in first] == [("0x01", 0.0), ("0x02", 0.0)]
    assert [(t.id, t.age_s, t.started_at) for t in later] == [
        ("0x01", 12.0, datetime(2026, 1, 1, tzinfo=UTC))]
    assert [(t.id, t.age_s) for t in again] == [("0x01", 17.0), ("0x02", 0.0)]  # 0x02 is new again
    assert all((t.kind, t.venue, t.source) == ("chain", "wallet", DESK) for t in again)


def test_transactions_mined_before_the_pinned_block_are_not_in_transit():
    pending = [tx("0x01", nonce=4), tx("0x02", nonce=5), tx("0x03", nonce=9, sender=CEX)]
    assert [t["hash"] for t in drop_mined(pending, {DESK: 5})] == ["0x02", "0x03"]


def test_node_transactions_normalise_from_hex_strings():
    raw = {"hash": "0x" + "ab" * 32, "from": DESK.lower(), "to": USDT.lower(),
           "value": "0xde0b6b3a7640000", "input": "0x" + usdt_transfer(1).hex(), "nonce": "0x7"}
    assert plain_tx(raw) == {"hash": "0x" + "ab" * 32, "from": DESK, "to": USDT, "value": 10**18,
                             "input": usdt_transfer(1), "nonce": 7}


@pytest.mark.parametrize("field", ["value", "nonce", "input", "hash", "from", "to"])
@pytest.mark.parametrize("bad", ["missing", None, "", "0xzz", -1])
def test_a_missing_or_malformed_transaction_field_is_an_error_never_zero(field, bad):
    raw = {"hash": "0x" + "ab" * 32, "from": DESK, "to": USDT, "value": "0x1", "input": "0x",
           "nonce": "0x7"}
    if bad == "missing":
        del raw[field]
    else:
        raw[field] = bad
    if field == "to" and bad is None:  # a contract creation: decoded, then unknown downstream
        assert plain_tx(raw)["to"] is None
        return
    with pytest.raises(ReadFailure, match=field):
        plain_tx(raw)


def rpc_error(code: int, cls=Web3RPCError):
    return cls("boom", rpc_response={"jsonrpc": "2.0", "id": 1,
                                     "error": {"code": code, "message": "boom"}})


@pytest.mark.parametrize(
    ("exc", "typed"),
    [
        (aiohttp.ServerDisconnectedError(), RpcUnreachableError),
        (ConnectionRefusedError(111, "refused"), RpcUnreachableError),
        (TimeoutError(), VenueTimeoutError),
        (aiohttp.ServerTimeoutError("slow"), VenueTimeoutError),
        (rpc_error(-32000, RequestTimedOut), VenueTimeoutError),
        (aiohttp.ClientResponseError(None, (), status=503), VenueUnavailableError),
        (aiohttp.ClientResponseError(None, (), status=429), RateLimitedError),
        (aiohttp.ClientResponseError(None, (), status=401), AuthenticationError),
        (aiohttp.ClientResponseError(None, (), status=400), BadRequestError),
        (ContractLogicError("execution reverted"), CallRevertedError),
        (rpc_error(-32601, MethodUnavailable), BadRequestError),
        (rpc_error(-32005), RateLimitedError),
        (rpc_error(-32000), VenueUnavailableError),
        (ReadFailure("bad data"), BadResponseError),
    ],
)
def test_chain_failures_translate_once_into_the_typed_tree(exc, typed):
    err = translate_error("aave_v3", "eth_call", exc)
    assert type(err) is typed
    assert err.venue == "aave_v3" and "eth_call" in str(err)
    assert is_retryable(err) == typed.retryable


def test_foreign_exceptions_are_not_translated():
    assert translate_error("aave_v3", "eth_call", KeyError("bug")) is None


class SlowRefusingPool:
    """A node without ``txpool_contentFrom`` whose refusal takes a moment, so concurrent
    snapshots are all inside the same discovery at once; ``txpool_content`` holds no tx."""

    def __init__(self):
        self.calls: list[str] = []

    async def make_request(self, method: str, params: list):
        self.calls.append(method)
        await asyncio.sleep(0.01)
        if method == "txpool_contentFrom":
            return {"jsonrpc": "2.0", "id": 1,
                    "error": {"code": -32601, "message": "Method not found"}}
        if method == "txpool_content":
            return {"jsonrpc": "2.0", "id": 1, "result": {"pending": {}, "queued": {}}}
        raise AssertionError(f"{method} asked although txpool_content answers")


async def test_concurrent_snapshots_find_the_pool_method_without_skipping_one_another():
    from factory.interfaces.evm.rpc import EvmRpc

    class W3:
        provider = SlowRefusingPool()

    rpc = EvmRpc("wallet", "http://node.invalid", w3=W3())
    answers = await asyncio.gather(*(rpc.pending_transactions([DESK]) for _ in range(3)))
    assert answers == [[], [], []]  # every caller read the pool; none gave up with None
    assert W3.provider.calls.count("txpool_content") == 3
    assert await rpc.pending_transactions([DESK]) == []
    assert W3.provider.calls[-1] == "txpool_content"  # the refusal is remembered
