"""Pure EVM encoding, decoding and unit conversion for the on-chain backends (no I/O).

A `Read` is one contract read of a snapshot (target, function signature, arguments, return
types). `encode_aggregate3` packs many reads into one Multicall3 ``aggregate3`` call (every read
with ``allowFailure=true`` so a failure is reported per read, by label) and
`decode_aggregate3` unpacks the ``(success, returnData)`` results. The conversions turn raw
integers into the units of `factory.positions`: token amounts in native units, health factor
``/1e18`` (max uint = no debt), AAVE base currency ``/1e8``, basis points ``/1e4``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from eth_abi import decode, encode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak, to_checksum_address

__all__ = [
    "AAVE_BASE_DECIMALS",
    "ERC20_TRANSFER_SELECTOR",
    "MAX_UINT256",
    "RESERVE_DATA_TYPES",
    "Read",
    "ReadFailure",
    "bps",
    "decode_aggregate3",
    "decode_erc20_transfer",
    "decode_read",
    "encode_aggregate3",
    "encode_read",
    "health_factor",
    "selector",
    "to_native",
    "wad",
]

MAX_UINT256 = 2**256 - 1
AAVE_BASE_DECIMALS = 8
ERC20_TRANSFER_SELECTOR = bytes.fromhex("a9059cbb")  # transfer(address,uint256)
AGGREGATE3 = "aggregate3((address,bool,bytes)[])"
# Pool.getReserveData(asset): the 15-field ReserveData(Legacy) tuple; aToken at 8, variable
# debt token at 10 (unchanged from v3.0 to v3.3).
RESERVE_DATA_TYPES = (
    (
        "((uint256),uint128,uint128,uint128,uint128,uint128,uint40,uint16,"
        "address,address,address,address,uint128,uint128,uint128)"
    ),
)


class ReadFailure(ValueError):
    """A read's return data does not decode to its declared types."""


@dataclass(frozen=True)
class Read:
    """One contract read.

    Attributes:
        label: names the read in errors, e.g. ``"aweETH.balanceOf(0xab..)"``.
        target: contract address.
        signature: canonical function signature with simple argument types,
            e.g. ``"balanceOf(address)"``.
        args: the arguments.
        returns: the ABI return types, e.g. ``("uint256",)``.
    """

    label: str
    target: str
    signature: str
    args: tuple[Any, ...] = ()
    returns: tuple[str, ...] = ("uint256",)


@lru_cache(maxsize=256)
def selector(signature: str) -> bytes:
    """Return the 4-byte function selector of a canonical signature."""
    return keccak(text=signature)[:4]


def _arg_types(signature: str) -> list[str]:
    inner = signature[signature.index("(") + 1 : signature.rindex(")")]
    if "(" in inner:
        raise ValueError(f"{signature}: tuple arguments are not supported in a Read")
    return [t for t in inner.split(",") if t]


def encode_read(read: Read) -> bytes:
    """Return the calldata of one read."""
    return selector(read.signature) + encode(_arg_types(read.signature), list(read.args))


def encode_aggregate3(reads: Sequence[Read]) -> bytes:
    """Return the calldata of ``Multicall3.aggregate3`` over ``reads`` (each may fail alone)."""
    calls = [(to_checksum_address(r.target), True, encode_read(r)) for r in reads]
    return selector(AGGREGATE3) + encode(["(address,bool,bytes)[]"], [calls])


def decode_aggregate3(raw: bytes) -> list[tuple[bool, bytes]]:
    """Return ``[(success, returnData)]`` from the return data of ``aggregate3``.

    Raises:
        ReadFailure: ``raw`` is not an aggregate3 result.
    """
    try:
        (results,) = decode(["(bool,bytes)[]"], bytes(raw))
    except (DecodingError, ValueError, TypeError) as exc:
        raise ReadFailure(f"aggregate3 returned undecodable data ({len(raw)} bytes)") from exc
    return [(bool(ok), bytes(data)) for ok, data in results]


def decode_read(read: Read, data: bytes) -> Any:
    """Decode one read's return data: a single value, or a tuple for several return types.

    Raises:
        ReadFailure: empty or malformed data (e.g. no contract at the target).
    """
    if not data:
        raise ReadFailure(f"{read.label}: empty return data (no contract code at {read.target}?)")
    try:
        values = decode(list(read.returns), data)
    except (DecodingError, ValueError, TypeError) as exc:
        raise ReadFailure(f"{read.label}: return data does not decode as {read.returns}") from exc
    return values[0] if len(values) == 1 else values


def to_native(raw: int, decimals: int) -> float:
    """Convert integer base units to native units (``1500000`` with 6 decimals -> ``1.5``)."""
    return float(Decimal(raw).scaleb(-decimals))


def wad(raw: int) -> float:
    """Convert an 18-decimal fixed-point integer (rates, health factor) to a float."""
    return to_native(raw, 18)


def bps(raw: float) -> float:
    """Convert basis points to a fraction (``8250`` -> ``0.825``)."""
    return raw / 10_000


def health_factor(raw: int) -> float | None:
    """Convert AAVE's health factor (1e18); max uint256 means no debt and reads as None."""
    return None if raw == MAX_UINT256 else wad(raw)


def decode_erc20_transfer(calldata: bytes | str) -> tuple[str, int] | None:
    """Return ``(to, amount)`` when ``calldata`` is an ERC-20 ``transfer(address,uint256)``.

    Returns None for anything else (other functions, truncated data).
    """
    try:
        data = bytes.fromhex(calldata.removeprefix("0x")) \
            if isinstance(calldata, str) else bytes(calldata)
    except (TypeError, ValueError):  # not hex, odd length, not bytes
        return None
    if len(data) < 4 + 64 or data[:4] != ERC20_TRANSFER_SELECTOR:
        return None
    try:
        to, amount = decode(["address", "uint256"], data[4:68])
    except (DecodingError, ValueError):
        return None
    return to_checksum_address(to), int(amount)
