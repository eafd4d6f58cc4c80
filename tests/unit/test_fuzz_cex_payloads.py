"""Abuse of the CEX backend: whatever a venue answers, we get positions or a typed error.

The canned venue answers (tests/data/cex/*.json) are mutated one field at a time (truncated,
wrong types, huge numbers, NaN and infinity, missing fields, extra nesting) and served to the
real ccxt client through `CannedTransport`; the pure mapping functions of
`factory.interfaces.cex.mapping` get random raw venue rows. The answer is a `BasisError`
(``BadResponseError`` for an unreadable answer), or a snapshot whose every number is finite and
which, when the mutation cannot be a different valid answer (a field deleted, nulled, emptied,
given a non-number, nested), is the unmutated snapshot: a silent change fails. Random position
rows that map must map to the quantity their own explicit fields say (an independent oracle).
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
from factory.interfaces.cex.live import CEXLiveBackend
from factory.interfaces.cex.mapping import (
    account_info,
    balance_positions,
    funding_payments,
    perp_positions,
    transfers_in_transit,
    wallet_amounts,
)
from factory.interfaces.cex.options import AccountSpec, WalletSpec, cex_options
from factory.interfaces.cex.replay import CannedTransport, load_canned
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
        if isinstance(node, (list, str)):
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


BASELINE: dict[str, Any] = {}


def view(snap: VenueSnapshot) -> tuple:
    """What a user reads off a snapshot: every position figure, the account, the venue's time."""
    return (snap.timestamp, {k: p.model_dump() for k, p in snap.positions.items()},
            None if snap.account is None else snap.account.model_dump())


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError, OverflowError):
        return False


# Fields naming an asset: another non-empty code there ("NAN", "abc") is another asset the
# venue could hold, not a corrupted number.
ASSET_CODE_FIELDS = frozenset({"asset", "coin", "ccy", "marginAsset"})


def could_be_another_valid_answer(how: str, path: tuple, value: Any) -> bool:
    """A finite number in place of a number, a shortened string or list, a dropped list item,
    another code in an asset-name field: the venue could have sent that, so the snapshot may
    differ. Anything else may not."""
    renamed_asset = (how == "replace" and bool(path) and path[-1] in ASSET_CODE_FIELDS
                     and isinstance(value, str) and value.strip() == value != "")
    return (how == "truncate" or renamed_asset or (how == "replace" and _is_number(value))
            or (how == "delete" and path and isinstance(path[-1], int)))


@pytest.mark.parametrize("venue", sorted(CANNED))
async def test_the_unmutated_answers_read_cleanly(venue):
    snap = await call(venue, CANNED[venue], "snapshot")
    assert snap.positions and snap.status == "ok"


async def baseline(venue: str) -> tuple:
    if venue not in BASELINE:
        BASELINE[venue] = view(await call(venue, CANNED[venue], "snapshot"))
    return BASELINE[venue]


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
        if not could_be_another_valid_answer(how, path, value):
            assert view(result) == await baseline(venue), (endpoint, path, how, value)


# -- the pure mapping functions on random raw venue rows ----------------------------------------

OKX = cex_options(venue_defaults()["okx"])
MARKETS = {
    "BTC-USDT-SWAP": {"type": "swap", "swap": True, "linear": True, "base": "BTC",
                          "info": {"instType": "SWAP", "ctType": "linear"},
                      "quote": "USDT", "contractSize": 0.01},
    "BTC-USD-SWAP": {"type": "swap", "swap": True, "linear": False, "inverse": True,
                         "info": {"instType": "SWAP", "ctType": "inverse"},
                     "base": "BTC", "quote": "USD", "contractSize": 100.0},
}
number_like = st.one_of(bad_value, st.floats(-1e6, 1e6), st.decimals(-10**6, 10**6).map(str))
instrument = st.one_of(st.sampled_from([*MARKETS, "", None, "NOPE-USDT-SWAP"]), st.text(max_size=6))
position_row = st.fixed_dictionaries({}, optional={
    "instId": instrument, "pos": number_like, "posSide": st.sampled_from(
        ["net", "long", "short", "", None, 3]),
    "avgPx": number_like, "markPx": number_like, "upl": number_like, "liqPx": number_like,
    "imr": number_like, "lever": number_like,
})
anything = st.one_of(bad_value, st.lists(bad_value, max_size=3),
                     st.dictionaries(st.text(max_size=4), bad_value, max_size=3))


def typed_or_value(fn, *args, **kwargs) -> Any:
    try:
        return fn(*args, **kwargs)
    except BadResponseError as exc:
        assert exc.venue == "okx"
        return None


def oracle_quantity(row: dict) -> float:
    """The base quantity the row's own explicit fields say (okx: pos x ctVal, sign by posSide)."""
    pos = float(row["pos"]) * MARKETS[row["instId"]]["contractSize"]
    return {"net": pos, "long": abs(pos), "short": -abs(pos)}[row["posSide"]]


@FUZZ
@given(rows=st.one_of(st.lists(st.one_of(position_row, anything), max_size=4), anything))
def test_perp_rows_map_to_their_own_quantities_or_bad_response(rows):
    out = typed_or_value(perp_positions, "okx", OKX.positions, {"code": "0", "data": rows},
                         MARKETS.get)
    if out is None:
        return
    expected: dict[str, float] = {}
    for row in rows:  # everything read without an error: each row is a dict with its fields
        if row["instId"] == "BTC-USDT-SWAP" and float(row["pos"]) != 0:
            key = "okx:Perp:BTCUSDT"
            expected[key] = expected.get(key, 0.0) + oracle_quantity(row)
    assert {k: p.amount for k, p in out.items()} == pytest.approx(expected)
    for pos in out.values():
        assert_finite(pos)


@FUZZ
@given(
    raw=st.one_of(
        st.fixed_dictionaries({"assets": st.lists(st.fixed_dictionaries({}, optional={
            "asset": st.one_of(st.just("USDT"), bad_value), "walletBalance": number_like,
            "unrealizedProfit": number_like, "marginBalance": number_like}), max_size=3)}),
        st.dictionaries(st.text(max_size=5), anything, max_size=3),
        anything,
    ),
)
def test_wallet_rows_map_to_their_own_sums_or_bad_response(raw):
    spec = WalletSpec(name="futures", endpoint="GET /fapi/v3/account", rows=["assets"],
                      asset="asset", amounts=["walletBalance"])
    amounts = typed_or_value(wallet_amounts, "okx", spec, raw)
    if amounts is None:
        return
    expected: dict[str, float] = {}
    for row in raw["assets"]:  # read without an error: each row has its asset and amount
        expected[row["asset"]] = expected.get(row["asset"], 0.0) + float(row["walletBalance"])
    assert amounts == pytest.approx(expected)
    for pos in balance_positions("okx", [amounts]).values():
        assert_finite(pos)


@FUZZ
@given(raw=st.one_of(anything, st.dictionaries(
    st.sampled_from(["totalMarginBalance", "totalMaintMargin", "totalInitialMargin", "x"]),
    number_like, max_size=4)))
def test_account_figures_are_the_fields_or_bad_response(raw):
    spec = AccountSpec(wallet="futures", quote="USDT", margin_balance="totalMarginBalance",
                       maintenance_margin="totalMaintMargin", initial_margin="totalInitialMargin")
    info = typed_or_value(account_info, "okx", spec, raw)
    if info is not None:
        assert_finite(info)
        assert info.margin_balance == float(raw["totalMarginBalance"])
        assert info.maintenance_margin == float(raw["totalMaintMargin"])


money_row = st.fixed_dictionaries({}, optional={
    "symbol": st.sampled_from(["BTC/USDT:USDT", "BTC/USD:BTC", "", None]), "amount": number_like,
    "timestamp": number_like, "code": anything, "id": anything,
    "status": st.sampled_from(["pending", "ok", None]), "currency": anything,
    "txid": anything, "addressFrom": anything, "addressTo": anything,
})
CCXT_MARKETS = {"BTC/USDT:USDT": {"swap": True, "linear": True, "base": "BTC", "quote": "USDT"}}


@FUZZ
@given(rows=st.lists(st.one_of(money_row, anything), max_size=4),
       other=st.lists(money_row, max_size=2))
def test_funding_and_transfers_are_finite_or_bad_response(rows, other):
    for payment in typed_or_value(funding_payments, "okx", rows, CCXT_MARKETS.get) or []:
        assert math.isfinite(payment.amount)
    for transfer in typed_or_value(transfers_in_transit, "okx", rows, other, NOW) or []:
        assert math.isfinite(transfer.amount) and math.isfinite(transfer.age_s)


@pytest.mark.parametrize("value", [math.nan, math.inf, "nan", "1e400", 10**400])
def test_a_nan_or_infinite_quantity_is_a_bad_response_never_a_flat_position(value):
    row = {"instId": "BTC-USDT-SWAP", "posSide": "net", "pos": value, "avgPx": "1",
           "markPx": "1", "upl": "0", "liqPx": "", "imr": "1", "lever": "1"}
    with pytest.raises(BadResponseError, match="okx: GET /api/v5/account/positions: data"):
        perp_positions("okx", OKX.positions, {"data": [row]}, MARKETS.get)
