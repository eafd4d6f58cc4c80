"""The backtest backend: a simulated ledger per venue behind the same position interface.

The ledger starts from the mode's ``allocation`` (keys of this venue) and changes only through
`SimulatedLedger.apply` (deltas from the simulator) and `SimulatedLedger.mark` (prices, rates,
account figures). The snapshot it returns has the shape a live venue's has.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from factory.config import ModeConfig
from factory.positions import AccountInfo, Position, PositionKey, VenueSnapshot, utc

__all__ = ["SimulatedBackend", "SimulatedLedger"]

_NO_DETAILS: dict[str, float] = {}


class SimulatedLedger:
    """Positions of one venue in a backtest.

    Args:
        venue: canonical venue id; every key applied must belong to it.
        amounts: initial amount per key.
    """

    def __init__(self, venue: str, amounts: dict[str, float] | None = None):
        self.venue = venue
        self._amounts: dict[PositionKey, float] = {}
        self._details: dict[PositionKey, dict[str, float]] = {}
        self._built: dict[PositionKey, Position] = {}  # positions unchanged since last built
        self.account: AccountInfo | None = None
        for key, amount in (amounts or {}).items():
            self.set(key, amount)

    def _key(self, key: str) -> PositionKey:
        k = PositionKey(key)
        if k.venue != self.venue:
            raise ValueError(f"{k} does not belong to the {self.venue} ledger")
        return k

    def set(self, key: str, amount: float) -> None:
        """Set a position's amount (0 removes it)."""
        k = self._key(key)
        amount = float(amount)
        if not math.isfinite(amount):
            raise ValueError(f"{key}: amount must be a finite number, got {amount}")
        self._built.pop(k, None)
        if amount == 0:
            self._amounts.pop(k, None)
        else:
            self._amounts[k] = amount

    def apply(self, deltas: dict[str, float]) -> None:
        """Add signed deltas to positions, all or nothing."""
        checked = {self._key(k): float(d) for k, d in deltas.items()}
        for k, d in checked.items():
            self.set(k, self._amounts.get(k, 0.0) + d)

    def mark(
        self,
        details: dict[str, dict[str, float]] | None = None,
        account: AccountInfo | None = None,
    ) -> None:
        """Record venue-side figures per key (mark_price, entry_price, rate...) and account."""
        for key, fields in (details or {}).items():
            for name, value in fields.items():
                if value is not None and not math.isfinite(value):
                    raise ValueError(f"{key}: {name} must be a finite number, got {value}")
            k = self._key(key)
            current = self._details.setdefault(k, {})
            if any(current.get(name) != value for name, value in fields.items()):
                current.update(fields)
                self._built.pop(k, None)
        if account is not None:
            self.account = account

    def amounts(self) -> dict[PositionKey, float]:
        return dict(self._amounts)

    def snapshot(self, timestamp: datetime) -> VenueSnapshot:
        """The ledger as a venue snapshot.

        Built without re-validation (the hot path of every backtest step): keys, venue and
        amounts were checked when they entered the ledger (`set`, `apply`, `mark`), and a
        position that did not change since the last snapshot is the same (frozen) object.
        """
        details, built = self._details, self._built
        positions = {}
        for k, a in self._amounts.items():
            pos = built.get(k)
            if pos is None:  # changed since the last snapshot (positions are immutable)
                pos = built[k] = Position.trusted(key=k, amount=a, **details.get(k, _NO_DETAILS))
            positions[k] = pos
        return VenueSnapshot.trusted(
            venue=self.venue, execution_mode="backtest", timestamp=timestamp,
            fetched_at=timestamp, positions=positions, account=self.account,
        )


class SimulatedBackend:
    """Serves snapshots from a `SimulatedLedger`; no network, no credentials."""

    def __init__(self, ledger: SimulatedLedger):
        self.ledger = ledger

    @classmethod
    def from_mode(cls, venue: str, mode: ModeConfig) -> SimulatedBackend:
        """Start the ledger from the mode's allocation for this venue."""
        amounts: dict[str, Any] = {k: v for k, v in mode.allocation.items() if k.venue == venue}
        return cls(SimulatedLedger(venue, amounts))

    async def fetch_snapshot(self, timestamp: datetime) -> VenueSnapshot:
        return self.ledger.snapshot(utc(timestamp))

    async def close(self) -> None:
        return None
