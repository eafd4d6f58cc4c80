"""Abuse of the CEX backend: whatever a venue answers, we get positions or a typed error.

The canned venue answers (tests/data/cex/*.json) are mutated one field at a time (truncated,
wrong types, huge numbers, NaN and infinity, missing fields, extra nesting) and served to the
real ccxt client through `CannedTransport`; the pure mapping functions of
`factory.interfaces.cex_mapping` get random ccxt-shaped structures. The answer is a snapshot
whose every number is finite, or a `BasisError` (``BadResponseError`` for an unreadable answer):
never a KeyError/TypeError/ValueError/OverflowError out of the adapter, and never a NaN position.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factory.config import venue_defaults
from factory.errors import BadResponseError, BasisError
from factory.interfaces.cex_live import CEXLiveBackend
from factory.interfaces.cex_mapping import (
    account_info,
    balance_positions,
    funding_payments,
    perp_positions,
    transfers_in_transit,
    wallet_amounts,
)
from factory.interfaces.cex_options import AccountSpec, RawAmounts, WalletSpec
from factory.interfaces.cex_replay import CannedTransport, load_canned
from factory.positions import AccountInfo, Position, VenueSnapshot

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DATA = Path(__file__).resolve().parent.parent / "data" / "cex"
NOW = 1_732_000_000.0
ENV = {
    "BASIS_BINANCE_API_KEY": "k", "BASIS_BINANCE_API_SECRET": "s",
    "BASIS_BYBIT_API_KEY": "k", "BASIS_BYBIT_API_SECRET": "s",
    "BASIS_OKX_API_KEY": "k", "BASIS_OKX_API_SECRET": "s", "BASIS_OKX_API_PASSPHRASE": "p",
}
CANNED = {v: load_canned(DATA / f"{v}.json") for v in ("binance", "bybit", "okx")}

BAD_VALUES = [math.nan, math.inf, -math.inf, "nan", "NaN", "inf", "1e400", 10**400, -1e308, 1e308,
              None, "", "abc", [], {}, {"x": [1, {"y": None}]}, [[[]]], True, 0, -0.0, "0x1f"]
bad_value = st.one_of(
    st.sampled_from(BAD_VALUES),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)


def leaf_paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += leaf_paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += leaf_paths(v, (*prefix, i))
    return out


def mutate(answer: Any, path: tuple, how: str, value: Any) -> Any:
    """Mutate one node of a venue answer: replace it, drop it, nest it, truncate it."""
    answer = copy.deepcopy(answer)
    if not path:
        return value if how == "replace" else {"wrapped": answer}
    parent = answer
    for step in path[:-1]:
        parent = parent[step]
    last, node = path[-1], parent[path[-1]]
    if how == "replace":
        parent[last] = value
    elif how == "delete":
        del parent[last]
    elif how == "nest":
        parent[last] = {"data": node} if isinstance(node, (dict, list)) else [node]
    elif how == "truncate":
        if isinstance(node, list):
            parent[last] = node[: len(node) // 2]
        elif isinstance(node, str):
            parent[last] = node[: len(node) // 2]
        else:
            parent[last] = {}
    return answer


def assert_finite(model: Any) -> None:
    """Every float in a returned model (and the models inside it) is finite."""
    if isinstance(model, (Position, AccountInfo)):
        for name, value in model:
            assert not isinstance(value, float) or math.isfinite(value), (name, value)
    elif isinstance(model, VenueSnapshot):
        for pos in model.positions.values():
            assert_finite(pos)
        if model.account is not None:
            assert_finite(model.account)
    else:
        for name, value in model:
            assert not isinstance(value, float) or math.isfinite(value), (name, value)


async def call(venue: str, answers: dict, op: str) -> Any:
    transport = CannedTransport(answers, venue=venue)
    backend = CEXLiveBackend(venue_defaults()[venue], environ=ENV, clock=lambda: NOW,
                             transport=transport)
    try:
        if op == "snapshot":
            return await backend.fetch_snapshot(None)
        if op == "funding":
            return await backend.fetch_funding_history()
        return await backend.fetch_transfers_in_transit()
    finally:
        await backend.close()


@pytest.mark.parametrize("venue", sorted(CANNED))
async def test_the_unmutated_answers_read_cleanly(venue):
    snap = await call(venue, CANNED[venue], "snapshot")
    assert snap.positions and snap.status == "ok"


@FUZZ
@given(
    venue=st.sampled_from(sorted(CANNED)),
    op=st.sampled_from(["snapshot", "snapshot", "funding", "transfers"]),
    how=st.sampled_from(["replace", "replace", "delete", "nest", "truncate"]),
    value=bad_value,
    data=st.data(),
)
async def test_a_mutated_venue_answer_is_positions_or_a_typed_error(venue, op, how, value, data):
    answers = CANNED[venue]
    endpoint = data.draw(st.sampled_from(sorted(answers)), label="endpoint")
    path = data.draw(st.sampled_from(leaf_paths(answers[endpoint])), label="path")
    if how == "delete" and not path:
        how = "replace"
    mutated = {**answers, endpoint: mutate(answers[endpoint], path, how, value)}
    try:
        result = await call(venue, mutated, op)
    except BasisError as exc:
        assert str(exc).startswith(f"{venue}:") or not hasattr(exc, "venue")
        return
    for item in result.positions.values() if op == "snapshot" else result:
        assert_finite(item)
    if op == "snapshot":
        assert_finite(result)


# -- the pure mapping functions on random ccxt-shaped structures ------------------------------

MARKETS = {
    "BTC/USDT:USDT": {"swap": True, "linear": True, "base": "BTC", "quote": "USDT",
                      "contractSize": 0.01},
    "ETH/USDT:USDT": {"swap": True, "linear": True, "base": "ETH", "quote": "USDT"},
}
number_like = st.one_of(bad_value, st.floats(-1e6, 1e6), st.decimals(-10**6, 10**6).map(str))
symbol = st.one_of(st.sampled_from([*MARKETS, "BTC/USD:BTC", "", None]), st.text(max_size=6))
position_row = st.fixed_dictionaries({}, optional={
    "symbol": symbol, "contracts": number_like, "contractSize": number_like,
    "side": st.sampled_from(["long", "short", None, 3]), "markPrice": number_like,
    "entryPrice": number_like, "unrealizedPnl": number_like, "liquidationPrice": number_like,
    "initialMargin": number_like, "leverage": number_like, "notional": number_like,
})
anything = st.one_of(bad_value, st.lists(bad_value, max_size=3),
                     st.dictionaries(st.text(max_size=4), bad_value, max_size=3))


def typed_or_finite(fn, *args, **kwargs) -> Any:
    try:
        return fn(*args, **kwargs)
    except BadResponseError as exc:
        assert exc.venue == "okx" and "unreadable answer" in str(exc)
        return None


@FUZZ
@given(rows=st.one_of(st.lists(st.one_of(position_row, anything), max_size=4), anything))
def test_perp_rows_map_to_finite_positions_or_bad_response(rows):
    out = typed_or_finite(perp_positions, "okx", rows, MARKETS.get)
    for pos in (out or {}).values():
        assert_finite(pos)
        assert pos.key.startswith("okx:Perp:")


@FUZZ
@given(
    balance=st.one_of(
        st.fixed_dictionaries({"total": st.dictionaries(st.sampled_from(["BTC", "USDT", "LD-X"]),
                                                        number_like, max_size=3)}),
        st.fixed_dictionaries({"info": st.fixed_dictionaries({"assets": st.lists(
            st.fixed_dictionaries({}, optional={"asset": st.one_of(st.just("USDT"), bad_value),
                                                "walletBalance": number_like}), max_size=3)})}),
        st.dictionaries(st.text(max_size=5), anything, max_size=3),
    ),
    raw=st.booleans(),
)
def test_wallet_balances_map_to_finite_positions_or_bad_response(balance, raw):
    spec = WalletSpec(name="futures", amounts=RawAmounts(items=["assets"], asset="asset",
                                                         amount="walletBalance") if raw else None)
    amounts = typed_or_finite(wallet_amounts, spec, balance, venue="okx")
    if amounts is None:
        return
    positions = typed_or_finite(balance_positions, "okx", [amounts])
    for pos in (positions or {}).values():
        assert_finite(pos)


@FUZZ
@given(raw=st.one_of(anything, st.dictionaries(
    st.sampled_from(["totalMarginBalance", "totalMaintMargin", "totalInitialMargin", "x"]),
    number_like, max_size=4)))
def test_account_figures_are_finite_or_bad_response(raw):
    spec = AccountSpec(wallet="futures", quote="USDT", margin_balance="totalMarginBalance",
                       maintenance_margin="totalMaintMargin", initial_margin="totalInitialMargin")
    info = typed_or_finite(account_info, spec, raw, venue="okx")
    if info is not None:
        assert_finite(info)


money_row = st.fixed_dictionaries({}, optional={
    "symbol": symbol, "amount": number_like, "timestamp": number_like, "code": anything,
    "id": anything, "status": st.sampled_from(["pending", "ok", None]), "currency": anything,
    "txid": anything, "addressFrom": anything, "addressTo": anything,
})


@FUZZ
@given(rows=st.lists(st.one_of(money_row, anything), max_size=4),
       other=st.lists(money_row, max_size=2))
def test_funding_and_transfers_are_finite_or_bad_response(rows, other):
    for payment in typed_or_finite(funding_payments, "okx", rows, MARKETS.get) or []:
        assert math.isfinite(payment.amount)
    for transfer in typed_or_finite(transfers_in_transit, "okx", rows, other, NOW) or []:
        assert math.isfinite(transfer.amount) and math.isfinite(transfer.age_s)


@pytest.mark.parametrize("value", [math.nan, math.inf, "nan", "1e400", 10**400])
def test_a_nan_or_infinite_quantity_is_a_bad_response_never_a_flat_position(value):
    row = {"symbol": "BTC/USDT:USDT", "side": "short", "contracts": value, "contractSize": 0.01}
    with pytest.raises(BadResponseError, match="okx: perp_positions"):
        perp_positions("okx", [row], MARKETS.get)
