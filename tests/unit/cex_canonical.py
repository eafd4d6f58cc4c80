"""A CEX snapshot in comparable form, and a runner serving venue answers to the real backend.

The mutation harness (test_mutation_cex.py) and the held-out stub check
(test_heldout_cex_stub.py) both serve raw venue JSON to the real ccxt client through
`CannedTransport`, run the project's backend and mapping, and compare the canonical snapshot:
every position with all its figures, the account figures and the server time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from factory.config import VenueConfig, venue_defaults
from factory.errors import VenueError
from factory.interfaces.cex.live import CEXLiveBackend
from factory.interfaces.cex.options import cex_options
from factory.interfaces.cex.replay import CannedTransport
from factory.positions import VenueSnapshot

__all__ = ["ENV", "NOW", "TYPED", "SnapshotRunner", "canonical", "same_or_declared_unknown"]

NOW = 1_732_000_000.0
ENV = {
    "BASIS_BINANCE_API_KEY": "k", "BASIS_BINANCE_API_SECRET": "s",
    "BASIS_BYBIT_API_KEY": "k", "BASIS_BYBIT_API_SECRET": "s",
    "BASIS_OKX_API_KEY": "k", "BASIS_OKX_API_SECRET": "s", "BASIS_OKX_API_PASSPHRASE": "p",
}
#: The product's typed errors: a venue answer it cannot stand behind fails the venue this way.
TYPED = (VenueError,)

_POSITION_FIELDS = ("entry_price", "mark_price", "unrealized_pnl", "liquidation_price", "margin",
                    "leverage")
_ACCOUNT_FIELDS = ("margin_balance", "maintenance_margin", "initial_margin")


def canonical(snap: VenueSnapshot) -> dict[str, Any]:
    """Positions with every figure, account figures and the venue's time."""
    return {
        "status": snap.status,
        "timestamp": snap.timestamp,
        "positions": {str(k): p.model_dump() for k, p in sorted(snap.positions.items())},
        "account": None if snap.account is None else snap.account.model_dump(),
    }


def declared_unknowns(config: VenueConfig) -> tuple[set[str], set[str]]:
    """Output figures that may turn unknown because the venue documents their field as ``""``.

    Returns position figures and account figures read from a field the venue config lists as
    ``optional`` (bybit ``liqPrice``, okx ``liqPx``/``imr``, okx account ``adjEq``/``mmr``/``imr``).
    """
    options = cex_options(config)
    spec = options.positions
    positions = {out for out in _POSITION_FIELDS
                 if getattr(spec, out, None) in spec.optional}
    if "margin" in positions and spec.leverage is None:
        positions.add("leverage")  # derived from the margin
    account: set[str] = set()
    if options.account is not None:
        account = {out for out in _ACCOUNT_FIELDS
                   if getattr(options.account, out) in options.account.optional}
    return positions, account


def same_or_declared_unknown(
    config: VenueConfig,
) -> Callable[[dict[str, Any], dict[str, Any]], bool]:
    """Equality of canonical snapshots, except a declared-optional figure may become None.

    A figure turning unknown is shown as unknown (null), not as a wrong number; only figures of
    fields the venue config lists as optional may do so, every other difference is a change.
    """
    positions_ok, account_ok = declared_unknowns(config)

    def fields_same(got: Mapping | None, base: Mapping | None, may_vanish: set[str]) -> bool:
        if got is None or base is None:
            return got is base
        if set(got) != set(base):
            return False
        return all(got[f] == base[f] or (f in may_vanish and got[f] is None) for f in base)

    def same(result: dict[str, Any], baseline: dict[str, Any]) -> bool:
        """``run_mutations`` calls ``same(result, baseline)``."""
        if (baseline["status"], baseline["timestamp"]) != (result["status"], result["timestamp"]):
            return False
        if set(baseline["positions"]) != set(result["positions"]):
            return False
        if not all(fields_same(result["positions"][k], baseline["positions"][k], positions_ok)
                   for k in baseline["positions"]):
            return False
        return fields_same(result["account"], baseline["account"], account_ok)

    return same


class SnapshotRunner:
    """The real backend over canned answers on its own event loop (for synchronous harnesses).

    Args:
        venue: venue id.
        answers: ``{"METHOD /path[?query]": JSON}`` served by `CannedTransport`.
        config: the venue config (default: the shipped one).
    """

    def __init__(self, venue: str, answers: Mapping[str, Any], config: VenueConfig | None = None):
        self.venue = venue
        self.config = config or venue_defaults()[venue]
        self.answers = dict(answers)
        self.loop = asyncio.new_event_loop()
        self.transport = CannedTransport(self.answers, venue=venue)
        self.backend = CEXLiveBackend(self.config, environ=ENV, clock=lambda: NOW,
                                      transport=self.transport)

    def snapshot(self) -> dict[str, Any]:
        """One canonical snapshot of what is served now."""
        return canonical(self.loop.run_until_complete(self.backend.fetch_snapshot(None)))

    def serving(self, key: str) -> Callable[[Any], dict[str, Any]]:
        """``evaluate`` for the harness: serve an answer at ``key`` and take a snapshot."""

        def evaluate(answer: Any) -> dict[str, Any]:
            self.transport.set(key, answer)
            try:
                return self.snapshot()
            finally:
                self.transport.set(key, self.answers[key])

        return evaluate

    def close(self) -> None:
        self.loop.run_until_complete(self.backend.close())
        self.loop.close()
