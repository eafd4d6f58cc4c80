"""BasePositionInterface: the seed's position API, one instance per venue.

Live and backtest share these classes: ``execution_mode`` picks the backend (a live adapter or
the simulated ledger), nothing else differs. Constructing an interface needs no credentials and
no network; the live backend is built on the first call.
"""

from __future__ import annotations

import abc
from collections import deque
from datetime import datetime
from typing import ClassVar, Protocol, runtime_checkable

from factory.config import ModeConfig, VenueConfig
from factory.positions import ExecutionMode, PositionType, VenueSnapshot, utc

__all__ = ["BasePositionInterface", "PositionBackend"]


@runtime_checkable
class PositionBackend(Protocol):
    """What an interface delegates to: a live adapter or the simulated ledger."""

    async def fetch_snapshot(self, timestamp: datetime) -> VenueSnapshot: ...

    async def close(self) -> None: ...


class BasePositionInterface(abc.ABC):
    """Positions of one venue, in canonical keys.

    Args:
        venue: canonical venue id (``binance``, ``aave_v3``...).
        execution_mode: ``live`` or ``backtest``.
        venue_config: the venue's settings.
        mode_config: the mode this interface serves (allocation, tolerances).
        backend: an explicit backend (tests, custom adapters); default per mode.
        history_size: how many recent snapshots `get_position_history` keeps in memory.
    """

    kind: ClassVar[str]

    def __init__(
        self,
        venue: str,
        execution_mode: ExecutionMode,
        venue_config: VenueConfig,
        mode_config: ModeConfig,
        backend: PositionBackend | None = None,
        history_size: int = 1000,
    ):
        if execution_mode not in ("live", "backtest"):
            raise ValueError(f"execution_mode must be 'live' or 'backtest', got {execution_mode!r}")
        self.venue = venue
        self.execution_mode: ExecutionMode = execution_mode
        self.venue_config = venue_config
        self.mode_config = mode_config
        self._backend = backend
        self._history: deque[VenueSnapshot] = deque(maxlen=history_size)

    # -- backend selection ------------------------------------------------------------------

    @property
    def backend(self) -> PositionBackend:
        """The backend, built on first use (live backends read credentials then)."""
        if self._backend is None:
            if self.execution_mode == "backtest":
                from factory.interfaces.simulated import SimulatedBackend

                self._backend = SimulatedBackend.from_mode(self.venue, self.mode_config)
            else:
                self._backend = self._live_backend()
        return self._backend

    @abc.abstractmethod
    def _live_backend(self) -> PositionBackend:
        """Build the live adapter for this kind of venue."""

    @property
    def ledger(self):
        """The simulated ledger (backtest mode only), for the simulator to apply deltas."""
        from factory.interfaces.simulated import SimulatedBackend

        backend = self.backend
        if not isinstance(backend, SimulatedBackend):
            raise TypeError(f"{self.venue}: only the backtest backend has a ledger")
        return backend.ledger

    # -- the seed's API ---------------------------------------------------------------------

    async def get_positions(self, timestamp: datetime | str | float | None = None) -> VenueSnapshot:
        """Return the venue's positions in canonical keys at ``timestamp`` (now if None)."""
        snap = await self.backend.fetch_snapshot(utc(timestamp))
        self._history.append(snap)
        return snap

    async def get_balance(self, asset: str, timestamp: datetime | None = None) -> float:
        """Return the venue's balance of ``asset`` (a token symbol, e.g. ``USDT``).

        A venue that answered is authoritative: an asset it does not list has balance 0. A venue
        that fails raises; the failure is never read as 0.
        """
        snap = await self.get_positions(timestamp)
        total = 0.0
        for key, pos in snap.positions.items():
            if key.symbol == asset and key.type in (PositionType.BaseToken, PositionType.LST):
                total += pos.amount
        return total

    async def get_position_history(
        self, start: datetime | str | float, end: datetime | str | float
    ) -> list[VenueSnapshot]:
        """Return the snapshots this interface took with ``start <= timestamp <= end``."""
        lo, hi = utc(start), utc(end)
        return [s for s in self._history if lo <= s.timestamp <= hi]

    async def prepare(self) -> None:
        """Build the backend and run its one-time setup (client, markets, chain checks), so a
        first snapshot under a deadline is not spent on it. Failures are the backend's typed
        errors; the next snapshot tries the setup again."""
        prepare = getattr(self.backend, "prepare", None)
        if prepare is not None:
            await prepare()

    async def close(self) -> None:
        """Release network clients."""
        if self._backend is not None:
            await self._backend.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(venue={self.venue!r}, mode={self.execution_mode!r})"
