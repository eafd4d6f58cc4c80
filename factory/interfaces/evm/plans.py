"""Read plans: which contract reads a venue's snapshot needs, and how their values fold into it.

Venue knowledge is data (configs/venues/*.yaml), not branches on the venue name:

- ``reserves`` (with ``contracts.pool``): AAVE v3 aToken and variable debt token balances per
  reserve and ``Pool.getUserAccountData`` per desk address.
- ``options.lst_rates`` ``{symbol: "getRate()"}``: an LST balance per token plus its rate
  (1e18), e.g. weETH ``getRate()``, wstETH ``stEthPerToken()``.
- wallet: native balance (Multicall3 ``getEthBalance``) and ERC-20 ``balanceOf`` per token.

A plan is a list of ``(Read, Slot)``; `fold` turns the values of one multicall into positions
(amounts summed over the desk's addresses in integer base units, then converted; zero balances
omitted), for AAVE one `AccountInfo`, and the LST rates read (kept even when the desk holds
none of the token: the rate values that token wherever else it is held, e.g. aweETH on AAVE).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from eth_utils import is_address, is_checksum_address, to_checksum_address

from factory.config import TokenConfig, VenueConfig
from factory.errors import BadResponseError, ConfigError, ContractMissingError
from factory.interfaces.evm.abi import (
    AAVE_BASE_DECIMALS,
    RESERVE_DATA_TYPES,
    Read,
    bps,
    health_factor,
    to_native,
    wad,
)
from factory.positions import AccountInfo, Position, PositionKey, PositionType

__all__ = [
    "ACCOUNT_DATA_TYPES",
    "Folded",
    "Plan",
    "ReserveTokens",
    "Slot",
    "aave_plan",
    "combine_account_data",
    "desk_addresses",
    "fold",
    "lst_plan",
    "reserve_data_reads",
    "reserve_tokens_from",
    "wallet_plan",
]

ACCOUNT_DATA_TYPES = ("uint256",) * 6
RESERVE_DATA_FIELDS = 15
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class Slot:
    """Where a read's value goes: an amount of a key, a key's rate, or AAVE account data."""

    kind: Literal["amount", "rate", "account"]
    key: PositionKey | None = None
    decimals: int = 18


Plan = list[tuple[Read, Slot]]


@dataclass(frozen=True)
class ReserveTokens:
    """The aToken and variable debt token AAVE created for one reserve."""

    a_token: str
    variable_debt_token: str


def desk_addresses(config: VenueConfig, environ: Mapping[str, str] | None = None) -> list[str]:
    """Return the desk's addresses from the comma-separated ``addresses_env`` variable.

    Raises:
        MissingCredentialError: the variable is not set.
        ConfigError: an entry is not an address, or is mixed-case with a wrong EIP-55 checksum
            (named by its position in the list, never by its text).
    """
    env = dict(os.environ if environ is None else environ)
    raw = config.credentials.read(config.venue, "addresses_env", env).get_secret_value()
    out: list[str] = []
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    for n, part in enumerate(parts, start=1):
        # the entry is named by its position, never echoed: it may be a pasted key
        digits = part[2:]
        why = None
        if not (part[:2] == "0x" and len(digits) == 40 and is_address(part)):
            why = "not a 0x-prefixed 20-byte address"
        elif digits not in (digits.lower(), digits.upper()) and not is_checksum_address(part):
            why = "its mixed-case checksum is wrong"
        if why:
            raise ConfigError(
                f"{config.credentials.addresses_env}: entry {n} of {len(parts)}: {why}"
            )
        addr = to_checksum_address(part)
        if addr not in out:
            out.append(addr)
    if not out:
        raise ConfigError(f"{config.credentials.addresses_env}: no address given")
    return out


def _balance(label: str, token: str, owner: str) -> Read:
    return Read(f"{label}.balanceOf({owner})", token, "balanceOf(address)", (owner,))


# -- AAVE v3 ---------------------------------------------------------------------------------


def reserve_data_reads(
    pool: str, tokens: Mapping[str, TokenConfig], reserves: Sequence[str]
) -> list[Read]:
    """Return one ``Pool.getReserveData(asset)`` read per reserve (run once, then cached)."""
    return [
        Read(f"Pool.getReserveData({sym})", pool, "getReserveData(address)",
             (to_checksum_address(tokens[sym].address),), RESERVE_DATA_TYPES)
        for sym in reserves
    ]


def reserve_tokens_from(
    venue: str, pool: str, reserves: Sequence[str], values: Sequence[Any]
) -> dict[str, ReserveTokens]:
    """Pick aToken (field 8) and variable debt token (field 10) out of each ReserveData.

    Raises:
        ContractMissingError: a configured reserve is not listed on the Pool (zero addresses).
        BadResponseError: a ReserveData is not the 15-field tuple or a token is not an address.
    """
    if not isinstance(values, (list, tuple)) or len(values) != len(reserves):
        raise BadResponseError(venue, f"Pool.getReserveData: expected {len(reserves)} answers")
    out: dict[str, ReserveTokens] = {}
    for sym, data in zip(reserves, values, strict=True):
        if not isinstance(data, (list, tuple)) or len(data) != RESERVE_DATA_FIELDS:
            raise BadResponseError(
                venue, f"Pool.getReserveData({sym}): expected {RESERVE_DATA_FIELDS} fields"
            )
        if not all(isinstance(data[i], str) and is_address(data[i]) for i in (8, 10)):
            raise BadResponseError(venue, f"Pool.getReserveData({sym}): token is not an address")
        a_token, v_debt = to_checksum_address(data[8]), to_checksum_address(data[10])
        if ZERO_ADDRESS in (a_token, v_debt):
            raise ContractMissingError(venue, f"reserve {sym} is not listed on the Pool {pool}")
        out[sym] = ReserveTokens(a_token, v_debt)
    return out


def aave_plan(
    venue: str,
    pool: str,
    reserves: Mapping[str, ReserveTokens],
    decimals: Mapping[str, int],
    addresses: Sequence[str],
) -> Plan:
    """Reads for ``venue:aToken:a<SYM>``, ``venue:debtToken:debt<SYM>`` and account data."""
    plan: Plan = []
    for sym, rt in reserves.items():
        a_key = PositionKey.of(venue, PositionType.aToken, f"a{sym}")
        d_key = PositionKey.of(venue, PositionType.debtToken, f"debt{sym}")
        for owner in addresses:
            plan.append(
                (_balance(f"a{sym}", rt.a_token, owner), Slot("amount", a_key, decimals[sym]))
            )
            plan.append(
                (_balance(f"debt{sym}", rt.variable_debt_token, owner),
                 Slot("amount", d_key, decimals[sym]))
            )
    for owner in addresses:
        read = Read(f"Pool.getUserAccountData({owner})", pool, "getUserAccountData(address)",
                    (owner,), ACCOUNT_DATA_TYPES)
        plan.append((read, Slot("account")))
    return plan


def combine_account_data(raws: Sequence[Sequence[int]]) -> AccountInfo:
    """Fold ``getUserAccountData`` of one or more addresses into one `AccountInfo`.

    Collateral, debt and available borrows are summed (base currency /1e8, USD). The health
    factor is the lowest among addresses with debt (None when none has debt); ltv and
    liquidation threshold are collateral-weighted (bps/1e4). For one address every figure is
    exactly the Pool's own.
    """
    collateral = sum(int(r[0]) for r in raws)
    debt = sum(int(r[1]) for r in raws)
    available = sum(int(r[2]) for r in raws)
    factors = [hf for hf in (health_factor(int(r[5])) for r in raws) if hf is not None]
    if collateral:
        lt = sum(int(r[0]) * int(r[3]) for r in raws) / collateral
        ltv = sum(int(r[0]) * int(r[4]) for r in raws) / collateral
    else:
        lt = ltv = 0.0
    return AccountInfo(
        quote="USD",
        total_collateral=to_native(collateral, AAVE_BASE_DECIMALS),
        total_debt=to_native(debt, AAVE_BASE_DECIMALS),
        available_borrows=to_native(available, AAVE_BASE_DECIMALS),
        health_factor=min(factors) if factors else None,
        ltv=bps(ltv),
        liquidation_threshold=bps(lt),
    )


# -- LSTs and the wallet -----------------------------------------------------------------------


def lst_plan(
    venue: str,
    tokens: Mapping[str, TokenConfig],
    rate_functions: Mapping[str, str],
    addresses: Sequence[str],
) -> Plan:
    """Reads for ``venue:LST:<SYM>``: balance per address and the rate function (1e18)."""
    plan: Plan = []
    for sym, signature in rate_functions.items():
        if sym not in tokens:
            raise ConfigError(f"{venue}: options.lst_rates names {sym!r}, which is not in tokens")
        token = tokens[sym]
        key = PositionKey.of(venue, PositionType.LST, sym)
        for owner in addresses:
            plan.append((_balance(sym, token.address, owner), Slot("amount", key, token.decimals)))
        plan.append((Read(f"{sym}.{signature}", token.address, signature), Slot("rate", key)))
    return plan


def wallet_plan(
    venue: str,
    multicall3: str,
    tokens: Mapping[str, TokenConfig],
    addresses: Sequence[str],
    native_symbol: str = "ETH",
) -> Plan:
    """Reads for ``venue:BaseToken:<native>`` (Multicall3.getEthBalance) and each token."""
    plan: Plan = []
    native = PositionKey.of(venue, PositionType.BaseToken, native_symbol)
    for owner in addresses:
        read = Read(f"getEthBalance({owner})", multicall3, "getEthBalance(address)", (owner,))
        plan.append((read, Slot("amount", native, 18)))
    for sym, token in tokens.items():
        key = PositionKey.of(venue, PositionType.BaseToken, sym)
        for owner in addresses:
            plan.append((_balance(sym, token.address, owner), Slot("amount", key, token.decimals)))
    return plan


class Folded(NamedTuple):
    """What one multicall's values say: positions (non-zero), AAVE account info and the LST
    rates read, per token symbol (kept whether or not the desk holds the token)."""

    positions: dict[PositionKey, Position]
    account: AccountInfo | None
    rates: dict[str, float]


def _uint(venue: str, label: str, value: Any) -> int:
    if type(value) is not int or value < 0:
        shown = "null" if value is None else type(value).__name__
        if type(value) is int:
            shown = "a negative number"
        raise BadResponseError(venue, f"{label}: expected an unsigned integer, got {shown}")
    return value


def fold(plan: Plan, values: Sequence[Any], venue: str | None = None) -> Folded:
    """Turn one multicall's values into positions (non-zero only), AAVE account info and rates.

    Every value must be what its read returns (an unsigned integer; six for account data);
    anything else is a typed error, never a zero. A rate of zero is an error too.

    Raises:
        BadResponseError: a value is missing, of the wrong type, negative, or a rate is zero.
    """
    venue = venue or next((s.key.venue for _, s in plan if s.key is not None), "chain")
    if not isinstance(values, (list, tuple)) or len(values) != len(plan):
        got = len(values) if isinstance(values, (list, tuple)) else type(values).__name__
        raise BadResponseError(venue, f"{got} values for {len(plan)} reads")
    raw_amounts: dict[PositionKey, int] = {}
    decimals: dict[PositionKey, int] = {}
    rates: dict[str, float] = {}
    accounts: list[list[int]] = []
    for (read, slot), value in zip(plan, values, strict=True):
        key = slot.key
        if slot.kind == "amount" and key is not None:
            raw_amounts[key] = raw_amounts.get(key, 0) + _uint(venue, read.label, value)
            decimals[key] = slot.decimals
        elif slot.kind == "rate" and key is not None:
            if _uint(venue, read.label, value) == 0:
                raise BadResponseError(venue, f"{read.label}: the rate reads zero")
            rates[key.symbol] = wad(value)
        else:
            if not isinstance(value, (list, tuple)) or len(value) != len(ACCOUNT_DATA_TYPES):
                raise BadResponseError(
                    venue, f"{read.label}: expected {len(ACCOUNT_DATA_TYPES)} account figures"
                )
            accounts.append([_uint(venue, read.label, v) for v in value])
    positions = {
        key: Position(key=key, amount=to_native(raw, decimals[key]), rate=rates.get(key.symbol))
        for key, raw in raw_amounts.items()
        if raw != 0
    }
    return Folded(positions, combine_account_data(accounts) if accounts else None, rates)
