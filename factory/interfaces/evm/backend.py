"""What every live chain backend shares: connect lazily, check once, read a plan at one block.

First snapshot (one-time setup): ``eth_chainId`` (WrongChainError), ``eth_getCode`` per
configured contract (ContractMissingError), then the subclass's own setup (e.g. AAVE reserve
token addresses, one aggregate3). Every snapshot: one JSON-RPC batch of ``eth_chainId`` and
``eth_blockNumber`` (a node that now serves another chain fails the snapshot with
WrongChainError; no extra round trip), then one ``eth_call`` to Multicall3 ``aggregate3`` at that
block holding every contract read plus the block timestamp. Failures raise typed errors;
nothing is ever read as zero.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime

from factory.config import VenueConfig
from factory.errors import ConfigError
from factory.interfaces.evm.plans import Folded, Plan, desk_addresses, fold
from factory.interfaces.evm.rpc import BlockReads, EvmRpc
from factory.positions import VenueSnapshot, utc

__all__ = ["EvmVenueBackend"]


class EvmVenueBackend:
    """Base of the on-chain and wallet live backends.

    Args:
        venue_config: the venue's settings (chain_id, contracts, tokens, credentials...).
        environ: where credentials are read (default: ``os.environ``), for tests.
        clock: wall clock returning an aware datetime (``fetched_at``, latency, ages).
        rpc: an existing `EvmRpc` (tests); default: built from the venue's RPC URL.
    """

    def __init__(
        self,
        venue_config: VenueConfig,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] | None = None,
        rpc: EvmRpc | None = None,
    ):
        self.config = venue_config
        self.venue = venue_config.venue
        self._environ = environ
        self._clock = clock or (lambda: utc())
        self._rpc = rpc
        self._plan: Plan | None = None
        self.addresses: list[str] = []

    @property
    def rpc(self) -> EvmRpc:
        """The node connection, built on first use (reads the RPC URL credential then)."""
        if self._rpc is None:
            url = self.config.rpc_url(None if self._environ is None else dict(self._environ))
            self._rpc = EvmRpc(
                self.venue, url, timeout_s=self.config.timeout_s,
                expected_chain_id=self.config.chain_id,
                max_response_bytes=self.config.max_response_bytes,
            )
        return self._rpc

    @property
    def multicall3(self) -> str:
        try:
            return self.config.contracts["multicall3"]
        except KeyError:
            raise ConfigError(f"{self.venue}: contracts.multicall3 is required") from None

    def contracts_to_check(self) -> dict[str, str]:
        """Contracts that must have code: Multicall3 plus the subclass's."""
        return {"multicall3": self.multicall3}

    async def build_plan(self) -> Plan:
        """Return this venue's reads (subclasses; may run one-time reads)."""
        raise NotImplementedError

    async def ensure_ready(self) -> Plan:
        """Run the one-time checks and build the plan (again after a failed attempt)."""
        if self._plan is None:
            self.addresses = desk_addresses(self.config, self._environ)
            await self.rpc.ensure_chain()
            await self.rpc.ensure_code(self.contracts_to_check())
            self._plan = await self.build_plan()
        return self._plan

    async def prepare(self) -> None:
        """The one-time checks (chain id, contract code) and the plan, before the first read."""
        await self.ensure_ready()

    async def read_plan(self) -> tuple[BlockReads, Folded]:
        """Read the whole plan at the latest block in one aggregate3; fold it."""
        plan = await self.ensure_ready()
        reads = await self.rpc.read_at_latest(self.multicall3, [r for r, _ in plan])
        return reads, fold(plan, reads.values, self.venue)

    def now(self) -> datetime:
        return self._clock()

    @staticmethod
    def elapsed(start: float) -> float:
        return max(0.0, time.monotonic() - start)

    def snapshot(self, reads: BlockReads, start: float, **fields) -> VenueSnapshot:
        """A live snapshot dated by the block the reads come from."""
        return VenueSnapshot(
            venue=self.venue,
            execution_mode="live",
            timestamp=utc(reads.block_timestamp),
            fetched_at=self.now(),
            block_number=reads.block_number,
            latency_s=self.elapsed(start),
            **fields,
        )

    async def close(self) -> None:
        if self._rpc is not None:
            await self._rpc.close()
