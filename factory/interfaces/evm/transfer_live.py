"""The live backend of `TransferPositionInterface`: the desk's wallets and money in transit.

Balances: ``wallet:BaseToken:<native>`` (Multicall3 ``getEthBalance``) and
``wallet:BaseToken:<SYM>`` for each token in ``options.balance_tokens`` (default: every configured
token), summed over the desk's addresses, in the same single aggregate3 at one block as any
on-chain venue. LSTs that the etherfi/lido venues report are left out of ``balance_tokens`` so a
balance is never counted twice; the wallet still lists them in ``tokens`` to recognise their
transfers in transit.

Transfers in transit (``VenueSnapshot.transfers``):

- chain: transactions from the desk's addresses still in the node's pool (``txpool_content``, or
  the ``pending`` block), decoded as ERC-20 ``transfer(to, amount)`` and native value. The pool is
  read before the block is pinned and transactions already mined at that block are dropped, so a
  landed transfer leaves the list in the same snapshot in which its balance moves.
- CEX: ``get_transfers_in_transit()`` of each interface named in ``options.transfer_venues`` that
  the mode enables (all of them when the mode lists no venues).

Failure rule: a failing balance read raises (typed; nothing is read as zero). A transfer source
that cannot be read (a failing CEX source, a node that exposes no pending pool, a malformed
pending pool, a desk transaction that creates a contract) does not sink the balances: the other
sources are still reported, ``status`` stays ``ok`` (the balances are authoritative), and
``transfers_unknown`` (and ``error``) name each source whose transfers are unknown, e.g.
``"transfers in transit unknown: binance: VenueTimeoutError: ..."``. The portfolio then lists
the venue under ``unknown`` and is not complete: an unknown transfer is never silently absent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from eth_utils import to_checksum_address

from factory.config import ModeConfig, TokenConfig, VenueConfig
from factory.errors import BadResponseError, ConfigError
from factory.interfaces.evm.backend import EvmVenueBackend
from factory.interfaces.evm.pending import PendingTracker, drop_mined
from factory.interfaces.evm.plans import Plan, wallet_plan
from factory.interfaces.evm.rpc import EvmRpc
from factory.interfaces.registry import create_position_interface
from factory.positions import Transfer, VenueSnapshot

__all__ = ["TransferLiveBackend", "TransitSource"]



@runtime_checkable
class TransitSource(Protocol):
    """Where CEX transfers in transit come from (a `CEXPositionInterface`, or a test fake)."""

    async def get_transfers_in_transit(self) -> list[Transfer]: ...


class TransferLiveBackend(EvmVenueBackend):
    """Reads the wallet venue: balances at one block plus transfers in transit.

    Args:
        venue_config: the wallet venue's settings.
        mode_config: the mode (which CEX venues are enabled; settings to build their interfaces).
        sources: CEX transit sources by venue (tests); default: built through the factory.
        environ, clock, rpc: see `EvmVenueBackend`.
    """

    def __init__(
        self,
        venue_config: VenueConfig,
        mode_config: ModeConfig | None = None,
        *,
        sources: Mapping[str, TransitSource] | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] | None = None,
        rpc: EvmRpc | None = None,
    ):
        super().__init__(venue_config, environ=environ, clock=clock, rpc=rpc)
        self.mode_config = mode_config or ModeConfig()
        self._sources: dict[str, TransitSource] | None = (
            dict(sources) if sources is not None else None
        )
        self._owned_sources = sources is None
        self.source_errors: dict[str, str] = {}
        self.native_symbol = str(venue_config.options.get("native_symbol", "ETH"))
        self.tracker = PendingTracker(self.venue, self.now)

    # -- configuration as data -----------------------------------------------------------------

    def _balance_tokens(self) -> dict[str, TokenConfig]:
        names = self.config.options.get("balance_tokens")
        tokens = self.config.tokens
        if names is None:
            return dict(tokens)
        unknown = [s for s in names if s not in tokens]
        if unknown:
            raise ConfigError(
                f"{self.venue}: options.balance_tokens names {unknown}, not in tokens"
            )
        return {s: tokens[s] for s in names}

    def _tokens_by_address(self) -> dict[str, tuple[str, int]]:
        return {
            to_checksum_address(t.address): (sym, t.decimals)
            for sym, t in self.config.tokens.items()
        }

    def transfer_venues(self) -> list[str]:
        """CEX venues whose transfers in transit are read."""
        names = list(self.config.options.get("transfer_venues") or [])
        enabled = set(self.mode_config.venues)
        return [v for v in names if not enabled or v in enabled]

    def contracts_to_check(self) -> dict[str, str]:
        out = super().contracts_to_check()
        out.update({sym: t.address for sym, t in self._balance_tokens().items()})
        return out

    async def build_plan(self) -> Plan:
        return wallet_plan(
            self.venue, self.multicall3, self._balance_tokens(), self.addresses, self.native_symbol
        )

    # -- sources ----------------------------------------------------------------------------------

    def sources(self) -> dict[str, TransitSource]:
        """The CEX transit sources, built on first use through the factory (live mode).

        A venue whose interface cannot be built is remembered in `source_errors` and reported
        in every snapshot's ``error``.
        """
        if self._sources is None:
            self._sources = {}
            for venue in self.transfer_venues():
                try:
                    iface = create_position_interface(venue, "live", self.mode_config)
                    if not isinstance(iface, TransitSource):
                        raise ConfigError(f"{venue} has no transfers in transit to read")
                    self._sources[venue] = iface
                except Exception as exc:  # noqa: BLE001 - reported per snapshot
                    self.source_errors[venue] = f"{type(exc).__name__}: {exc}"
        return self._sources

    async def _cex_transfers(self) -> tuple[list[Transfer], list[str]]:
        sources = self.sources()
        errors = [f"{venue}: {text}" for venue, text in self.source_errors.items()]
        if not sources:
            return [], errors
        timeout = self.config.timeout_s

        async def one(iface: TransitSource) -> list[Transfer]:
            got = await asyncio.wait_for(iface.get_transfers_in_transit(), timeout)
            return [t if isinstance(t, Transfer) else Transfer.model_validate(t) for t in got]

        results = await asyncio.gather(*(one(s) for s in sources.values()), return_exceptions=True)
        transfers: list[Transfer] = []
        for venue, result in zip(sources, results, strict=True):
            if isinstance(result, asyncio.CancelledError):
                raise result
            if isinstance(result, BaseException):
                errors.append(f"{venue}: {type(result).__name__}: {result}")
            else:
                transfers.extend(result)
        return transfers, errors

    async def _chain_transfers(self, block: int, pending) -> list[Transfer]:
        desk = set(self.addresses)
        mine = [tx for tx in pending if tx["from"] in desk]
        senders = sorted({tx["from"] for tx in mine})
        nonces = {a: await self.rpc.nonce(a, block) for a in senders}
        return self.tracker.transfers(
            drop_mined(mine, nonces), self.addresses, self._tokens_by_address(), self.native_symbol
        )

    # -- snapshot ---------------------------------------------------------------------------------

    async def fetch_snapshot(self, timestamp: datetime) -> VenueSnapshot:
        """Balances at the latest block plus every transfer in transit (see the module rule)."""
        start = time.monotonic()
        await self.ensure_ready()
        cex_task = asyncio.ensure_future(self._cex_transfers())
        try:
            errors: list[str] = []
            try:
                pending = await self.rpc.pending_transactions(self.addresses)
            except BadResponseError as exc:
                pending = None
                errors.append(f"chain: {exc}")
            else:
                if pending is None:
                    errors.append("chain: the RPC node exposes no pending transactions")
            reads, folded = await self.read_plan()
            chain: list[Transfer] = []
            if pending is not None:
                try:
                    chain = await self._chain_transfers(reads.block_number, pending)
                except BadResponseError as exc:
                    errors.append(f"chain: {exc}")
            cex, cex_errors = await cex_task
        except BaseException:
            cex_task.cancel()
            raise
        errors += cex_errors
        unknown = "; ".join(errors) if errors else None
        return self.snapshot(
            reads, start,
            positions=folded.positions,
            rates=folded.rates,
            transfers=chain + cex,
            transfers_unknown=unknown,
            error=f"transfers in transit unknown: {unknown}" if unknown else None,
        )

    async def close(self) -> None:
        if self._owned_sources and self._sources:
            for iface in self._sources.values():
                close = getattr(iface, "close", None)
                if close is not None:
                    try:
                        await close()
                    except Exception:  # noqa: BLE001, S110 - closing is best effort
                        pass
        await super().close()
