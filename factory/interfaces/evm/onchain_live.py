"""The live backend of `OnChainPositionInterface`: AAVE v3, LST balances and rates.

What is read comes from the venue config (see `factory.interfaces.evm.plans`):

- ``reserves`` + ``contracts.pool`` -> ``<venue>:aToken:a<SYM>`` and ``<venue>:debtToken:debt<SYM>``
  (aToken / variable debt token balances summed over the desk's addresses, native units) and one
  `AccountInfo` from ``Pool.getUserAccountData``. The reserves' token addresses come from
  ``Pool.getReserveData(asset)`` once (first snapshot) and are cached.
- ``options.lst_rates`` -> ``<venue>:LST:<SYM>`` with ``rate`` = the rate function / 1e18, and the
  snapshot's ``rates[<SYM>]`` even when the desk holds none of the token here (the rate values
  the token wherever else it is held).

Each snapshot after the first is one batch of ``eth_chainId`` + ``eth_blockNumber`` (the chain is
checked on every snapshot) and one aggregate3 ``eth_call`` at that block;
``timestamp`` is the block's timestamp and ``block_number`` the pinned block.
"""

from __future__ import annotations

import time
from datetime import datetime

from factory.errors import ConfigError
from factory.interfaces.evm.backend import EvmVenueBackend
from factory.interfaces.evm.plans import (
    Plan,
    ReserveTokens,
    aave_plan,
    lst_plan,
    reserve_data_reads,
    reserve_tokens_from,
)
from factory.positions import VenueSnapshot

__all__ = ["OnChainLiveBackend"]


class OnChainLiveBackend(EvmVenueBackend):
    """Reads one on-chain venue (``aave_v3``, ``etherfi``, ``lido``) through Multicall3."""

    reserve_tokens: dict[str, ReserveTokens]

    def _lst_rates(self) -> dict[str, str]:
        rates = self.config.options.get("lst_rates") or {}
        if not isinstance(rates, dict):
            raise ConfigError(f"{self.venue}: options.lst_rates must map symbol -> rate function")
        return rates

    def _pool(self) -> str:
        try:
            return self.config.contracts["pool"]
        except KeyError:
            raise ConfigError(f"{self.venue}: reserves need contracts.pool") from None

    def contracts_to_check(self) -> dict[str, str]:
        out = super().contracts_to_check()
        tokens = self.config.tokens
        if self.config.reserves:
            out["pool"] = self._pool()
            for sym in self.config.reserves:
                if sym not in tokens:
                    raise ConfigError(f"{self.venue}: reserve {sym!r} is not in tokens")
                out[sym] = tokens[sym].address
        for sym in self._lst_rates():
            if sym in tokens:
                out[sym] = tokens[sym].address
        return out

    async def build_plan(self) -> Plan:
        plan: Plan = []
        cfg = self.config
        if cfg.reserves:
            pool = self._pool()
            data = await self.rpc.multicall(
                self.multicall3, reserve_data_reads(pool, cfg.tokens, cfg.reserves)
            )
            self.reserve_tokens = reserve_tokens_from(self.venue, pool, cfg.reserves, data)
            decimals = {sym: cfg.tokens[sym].decimals for sym in cfg.reserves}
            plan += aave_plan(self.venue, pool, self.reserve_tokens, decimals, self.addresses)
        plan += lst_plan(self.venue, cfg.tokens, self._lst_rates(), self.addresses)
        if not plan:
            raise ConfigError(
                f"{self.venue}: nothing to read (no reserves and no options.lst_rates)"
            )
        return plan

    async def fetch_snapshot(self, timestamp: datetime) -> VenueSnapshot:
        """Read every position of the venue at the latest block (one aggregate3)."""
        start = time.monotonic()
        reads, folded = await self.read_plan()
        return self.snapshot(reads, start, positions=folded.positions, account=folded.account,
                             rates=folded.rates)
