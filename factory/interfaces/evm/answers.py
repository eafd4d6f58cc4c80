"""Strict decoding of an EVM node's JSON-RPC answers (no I/O).

Every field the chain backends read is checked here: a missing field, ``null``, ``""``, a wrong
type or a malformed hex quantity is a typed error naming the venue, the method and the field,
never a default (a pending transaction without ``value`` is not a transaction of value 0).

- `quantity`: a JSON-RPC quantity as the node sends it (``"0x1a"``); `unsigned`: an integer
  web3 or the ABI already decoded.
- `rpc_result`: the ``result`` of one raw answer (an ``error`` raises web3's `Web3RPCError`).
- `batch_results`: the ``result`` of each answer of a JSON-RPC batch, in request order; an answer
  carrying an ``error`` raises web3's `Web3RPCError` for the caller's error translation.
- `plain_tx`: one pending transaction as ``{hash, from, to, value, input, nonce}``.
- `pool_transactions`: every transaction of a pending-pool answer (``txpool_contentFrom``,
  ``txpool_content`` or the ``pending`` block), each through `plain_tx`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

from eth_utils import is_address, to_checksum_address
from web3.exceptions import Web3RPCError
from web3.types import RPCResponse

from factory.errors import BadResponseError
from factory.interfaces.evm.abi import ReadFailure

__all__ = [
    "batch_results", "plain_tx", "pool_transactions", "quantity", "rpc_result", "unsigned",
]


_HEX = re.compile(r"0x[0-9a-fA-F]+")


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def quantity(venue: str, where: str, value: Any) -> int:
    """Return the integer of a JSON-RPC quantity (``"0x1a"``, as the node sent it).

    Raises:
        BadResponseError: ``value`` is not ``"0x"`` followed by hex digits.
    """
    if isinstance(value, str) and _HEX.fullmatch(value):
        return int(value[2:], 16)  # noqa: FURB166 - the prefix is checked, not guessed
    shown = repr(value)[:20] if isinstance(value, str) else _kind(value)
    raise BadResponseError(venue, f"{where}: expected a hex quantity, got {shown}")


def unsigned(venue: str, where: str, value: Any) -> int:
    """Return ``value`` when it is a non-negative ``int`` (a value web3 or the ABI decoded).

    Raises:
        BadResponseError: anything else (None, bool, str, negative...).
    """
    if type(value) is int and value >= 0:
        return value
    raise BadResponseError(venue, f"{where}: expected an unsigned integer, got {_kind(value)}")


def rpc_result(method: str, answer: Any) -> Any:
    """Return the ``result`` of one raw JSON-RPC answer.

    Raises:
        Web3RPCError: the answer carries an ``error`` (translated by the caller).
        ReadFailure: not an answer object, or no ``result``.
    """
    if not isinstance(answer, Mapping):
        raise ReadFailure(f"{method}: answer is {_kind(answer)}, not an object")
    if answer.get("error") is not None:
        raise Web3RPCError(f"{method}: {answer['error']!r}"[:200], rpc_response=cast(RPCResponse, dict(answer)))
    if "result" not in answer:
        raise ReadFailure(f"{method}: answer without result")
    return answer["result"]


def batch_results(venue: str, methods: Sequence[str], answer: Any) -> list[Any]:
    """Return the ``result`` of each answer of a batch, in the order of ``methods``.

    Raises:
        Web3RPCError: an answer carries a JSON-RPC ``error`` (translated by the caller).
        BadResponseError: not one answer object per request, or an answer without ``result``.
    """
    label = "+".join(methods)
    if isinstance(answer, Mapping) and answer.get("error") is not None:
        raise Web3RPCError(f"batch {label}: {answer['error']!r}"[:200], rpc_response=cast(RPCResponse, answer))
    if not isinstance(answer, list) or len(answer) != len(methods):
        raise BadResponseError(
            venue, f"batch {label}: expected {len(methods)} answers, got {_kind(answer)}"
        )
    out = []
    for method, item in zip(methods, answer, strict=True):
        if not isinstance(item, Mapping):
            raise BadResponseError(venue, f"{method}: answer is {_kind(item)}, not an object")
        if item.get("error") is not None:
            raise Web3RPCError(f"{method}: {item['error']!r}"[:200], rpc_response=cast(RPCResponse, dict(item)))
        if "result" not in item:
            raise BadResponseError(venue, f"{method}: answer without result")
        out.append(item["result"])
    return out


def _field(tx: Mapping[str, Any], name: str) -> Any:
    if name not in tx:
        raise ReadFailure(f"pending transaction without {name!r}")
    return tx[name]


def _hex_bytes(name: str, value: Any) -> bytes:
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise ReadFailure(f"pending transaction {name!r} is {_kind(value)}, not hex data")


def _address(name: str, value: Any) -> str:
    if isinstance(value, str) and is_address(value):
        return to_checksum_address(value)
    raise ReadFailure(f"pending transaction {name!r} is {_kind(value)}, not an address")


def _uint(name: str, value: Any) -> int:
    try:
        return quantity("chain", name, value)
    except BadResponseError:
        raise ReadFailure(f"pending transaction {name!r} is not a hex quantity") from None


def plain_tx(tx: Any) -> dict[str, Any]:
    """Normalise one raw node transaction (JSON-RPC hex strings) to plain Python values.

    ``to`` is None for a contract creation (the key must still be there); every other field is
    required.

    Raises:
        ReadFailure: a field is missing or malformed (the caller translates it to
            `BadResponseError`, naming the method).
    """
    if not isinstance(tx, Mapping):
        raise ReadFailure(f"pending transaction is {_kind(tx)}, not an object")
    tx_hash = _hex_bytes("hash", _field(tx, "hash"))
    if len(tx_hash) != 32:
        raise ReadFailure("pending transaction 'hash' is not 32 bytes")
    to = _field(tx, "to")
    return {
        "hash": "0x" + tx_hash.hex(),
        "from": _address("from", _field(tx, "from")),
        "to": None if to is None else _address("to", to),
        "value": _uint("value", _field(tx, "value")),
        "input": _hex_bytes("input", _field(tx, "input")),
        "nonce": _uint("nonce", _field(tx, "nonce")),
    }


def _section(method: str, content: Any, name: str, required: bool) -> Mapping[str, Any]:
    if not isinstance(content, Mapping):
        raise ReadFailure(f"{method}: answer is {_kind(content)}, not an object")
    if name not in content and not required:
        return {}
    section = content.get(name)
    if not isinstance(section, Mapping):
        raise ReadFailure(f"{method}: {name!r} is {_kind(section)}, not an object")
    return section


def _by_nonce(method: str, group: Any) -> list[Any]:
    if not isinstance(group, Mapping):
        raise ReadFailure(f"{method}: transactions of a sender are {_kind(group)}, not an object")
    return list(group.values())


def pool_transactions(method: str, answer: Any) -> list[dict[str, Any]]:
    """Return the plain transactions of one pending-pool answer.

    ``txpool_contentFrom``: ``{pending: {nonce: tx}, queued: {...}}``; ``txpool_content``:
    ``{pending: {sender: {nonce: tx}}, queued: {...}}`` (``pending`` required, ``queued``
    optional); ``eth_getBlockByNumber``: a block whose ``transactions`` are full objects.

    Raises:
        ReadFailure: the answer or a transaction is malformed (named by method and field).
    """
    try:
        if method == "txpool_contentFrom":
            txs = [tx for name, required in (("pending", True), ("queued", False))
                   for tx in _section(method, answer, name, required).values()]
        elif method == "txpool_content":
            txs = [tx for name, required in (("pending", True), ("queued", False))
                   for group in _section(method, answer, name, required).values()
                   for tx in _by_nonce(method, group)]
        else:
            if not isinstance(answer, Mapping) or not isinstance(answer.get("transactions"), list):
                raise ReadFailure(f"{method}: the pending block has no transaction list")
            txs = answer["transactions"]
        return [plain_tx(tx) for tx in txs]
    except ReadFailure as exc:
        raise ReadFailure(f"{method}: {exc}" if method not in str(exc) else str(exc)) from None
