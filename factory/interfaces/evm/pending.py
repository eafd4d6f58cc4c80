"""Transfers in transit on chain: the desk's transactions that the node has not mined yet.

`decode_pending` turns one pending transaction into transfers: an ERC-20 ``transfer(to, amount)``
to a configured token contract, and/or its native value. Calls to other contracts without value
move no money we can name and are skipped. A desk transaction that creates a contract is a typed
error (what it moves is unknown): the wallet then reports its transfers in transit as unknown. `PendingTracker` remembers when each transaction was first seen,
so a transfer's ``started_at`` and ``age_s`` are stable across snapshots (a node's pool has no
submission time); transactions that left the pool are forgotten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from eth_utils import to_checksum_address

from factory.errors import BadResponseError
from factory.interfaces.evm.abi import decode_erc20_transfer, to_native
from factory.positions import Transfer

__all__ = ["PendingTracker", "decode_pending", "drop_mined"]


def decode_pending(
    tx: Mapping[str, Any],
    tokens_by_address: Mapping[str, tuple[str, int]],
    native_symbol: str = "ETH",
    venue: str = "wallet",
) -> list[tuple[str, str, float, str]]:
    """Return ``[(id, asset, amount, destination)]`` for the money one transaction moves.

    Args:
        tx: ``{hash, from, to, value, input}`` (as `EvmRpc.pending_transactions` gives; every
            key required, ``to`` None for a contract creation).
        tokens_by_address: checksum token address -> ``(symbol, decimals)``.
        native_symbol: the chain's coin.
        venue: names the venue in errors.

    Raises:
        BadResponseError: the transaction creates a contract (what it moves is unknown).
    """
    out: list[tuple[str, str, float, str]] = []
    to = tx["to"]
    if to is None:
        raise BadResponseError(
            venue, f"pending transaction {tx['hash']} creates a contract: what it moves is unknown"
        )
    to = to_checksum_address(to)
    token = tokens_by_address.get(to)
    decoded = decode_erc20_transfer(tx["input"]) if token else None
    if token and decoded:
        recipient, raw = decoded
        out.append((tx["hash"], token[0], to_native(raw, token[1]), recipient))
    value = tx["value"]
    if value:
        tx_id = f"{tx['hash']}:{native_symbol}" if out else tx["hash"]
        out.append((tx_id, native_symbol, to_native(value, 18), to))
    return out


def drop_mined(
    txs: Iterable[Mapping[str, Any]], confirmed_nonces: Mapping[str, int]
) -> list[Mapping[str, Any]]:
    """Drop transactions whose nonce is below their sender's nonce at the pinned block.

    The pool is read before the block is pinned; a transaction mined in between is already in
    the balances and must not also count as in transit.
    """
    out = []
    for tx in txs:
        confirmed = confirmed_nonces.get(tx["from"])
        if confirmed is not None and tx["nonce"] < confirmed:
            continue
        out.append(tx)
    return out


class PendingTracker:
    """Builds `Transfer` records from pending transactions with stable first-seen times.

    Args:
        venue: the venue the transfers are reported under (``wallet``).
        clock: wall clock returning an aware datetime.
    """

    def __init__(self, venue: str, clock: Callable[[], datetime]):
        self.venue = venue
        self.clock = clock
        self._first_seen: dict[str, datetime] = {}

    def transfers(
        self,
        txs: Iterable[Mapping[str, Any]],
        desk_addresses: Iterable[str],
        tokens_by_address: Mapping[str, tuple[str, int]],
        native_symbol: str = "ETH",
    ) -> list[Transfer]:
        """Return the transfers in transit sent from the desk's addresses.

        Raises:
            BadResponseError: a desk transaction cannot be named as transfers; first-seen
                times are kept for the next read.
        """
        now = self.clock()
        desk = {to_checksum_address(a) for a in desk_addresses}
        seen: dict[str, datetime] = {}
        out: list[Transfer] = []
        for tx in txs:
            sender = to_checksum_address(tx["from"])
            if sender not in desk:
                continue
            started = self._first_seen.get(tx["hash"], now)
            seen[tx["hash"]] = started
            try:
                moves = decode_pending(tx, tokens_by_address, native_symbol, self.venue)
            except BadResponseError:
                self._first_seen.update(seen)
                raise
            for tx_id, asset, amount, destination in moves:
                out.append(Transfer(
                    id=tx_id, asset=asset, amount=amount, source=sender,
                    destination=destination, kind="chain", venue=self.venue, started_at=started,
                    age_s=max(0.0, (now - started).total_seconds()), tx_hash=tx["hash"],
                ))
        self._first_seen = seen
        return out
