"""PositionMonitor: the supervisor's plain logic (aggregation, staleness, reconciliation).

The monitor asks one `VenueClient` per venue for a snapshot, all at once, and waits at most the
deadline (live). A venue that misses it or fails keeps its last good snapshot marked ``stale``
with its age, or is ``missing`` when it never answered; ``complete`` is True only when every
venue is fresh. Backtests run the same aggregation over the simulated backends, with no deadline.

The Ray actor shell lives in `actors.monitor_actor`; this module has no Ray dependency.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from actors.alerts import evaluate_alerts
from actors.portfolio import exposure, flat_positions, risk_summary
from actors.reconcile import reconcile
from actors.rollups import rollups
from factory.assets import underlying_of
from factory.config import ModeConfig, resolve_config
from factory.errors import VenueTimeoutError
from factory.interfaces.base import BasePositionInterface
from factory.positions import ExecutionMode, PortfolioSnapshot, Unknown, VenueSnapshot, utc

__all__ = ["LocalVenueClient", "PositionMonitor", "VenueClient", "aggregate"]

log = logging.getLogger(__name__)


class VenueClient(Protocol):
    """What the monitor calls for one venue: a local interface or a venue actor handle."""

    venue: str

    async def snapshot(self, timestamp: datetime) -> VenueSnapshot: ...


class LocalVenueClient:
    """Calls a position interface in this process (backtests, unit tests)."""

    def __init__(self, interface: BasePositionInterface):
        self.venue = interface.venue
        self.interface = interface

    async def snapshot(self, timestamp: datetime) -> VenueSnapshot:
        return await self.interface.get_positions(timestamp)


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _legs_by_venue(config: ModeConfig) -> dict[str, set[str]]:
    """Which underlyings each venue is expected to hold a leg of (the mode's positions and
    allocation): what is known of a venue without its answer."""
    legs: dict[str, set[str]] = {}
    for key in (*config.positions, *config.allocation):
        legs.setdefault(key.venue, set()).add(underlying_of(key))
    return legs


def _rate_readers(config: ModeConfig, token: str) -> list[str]:
    """The mode's venues configured to read ``token``'s rate (``options.lst_rates``)."""
    out = []
    for venue in config.venues:
        try:
            rates = config.venue_config(venue).options.get("lst_rates") or {}
        except (KeyError, ValueError):  # an instance or venue without shipped settings
            continue
        if token in rates:
            out.append(venue)
    return out


def _waiting(
    config: ModeConfig, missing: list[str], reasons: Mapping[str, str] | None
) -> dict[str, Unknown]:
    """Per underlying, the missing venues expected to hold a leg of it, and why they are."""
    legs = _legs_by_venue(config)
    venues: dict[str, list[str]] = {}
    texts: dict[str, list[str]] = {}
    for venue in sorted(missing):
        why = (reasons or {}).get(venue) or "no answer yet"
        for u in sorted(legs.get(venue, ())):
            venues.setdefault(u, []).append(venue)
            texts.setdefault(u, []).append(f"{venue} missing ({why})")
    return {u: Unknown(reason="; ".join(texts[u]), waiting_for=venues[u]) for u in venues}


def aggregate(
    timestamp: datetime,
    execution_mode: ExecutionMode,
    venue_snapshots: Mapping[str, VenueSnapshot],
    missing: list[str],
    config: ModeConfig,
    expected: Mapping[str, float] | None = None,
    latency_s: float = 0.0,
    with_alerts: bool = False,
    reasons: Mapping[str, str] | None = None,
) -> PortfolioSnapshot:
    """Build a `PortfolioSnapshot` from per-venue snapshots (fresh or stale).

    ``reasons`` gives, per missing venue, why it has not reported (named in its alert and in
    the reason of every figure it makes unknown). The net exposure of an underlying is null
    while a missing venue is expected (mode positions or allocation) to hold a leg of it.
    The same arithmetic rolls up each exchange, account and tag (`actors.rollups`).
    """
    snaps = list(venue_snapshots.values())
    flat = flat_positions(snaps)
    recon = None
    if expected:
        recon = reconcile(expected, flat, set(venue_snapshots), config.reconciliation)
    exp = exposure(
        snaps, _waiting(config, missing, reasons) if missing else None,
        rate_readers=lambda token: _rate_readers(config, token),
    )
    unknown = exp.unknown
    risk = risk_summary(snaps, unknown)
    for snap in snaps:
        if snap.transfers_unknown is not None:
            unknown[f"transfers_in_transit.{snap.venue}"] = Unknown(
                reason=snap.transfers_unknown, waiting_for=[snap.venue]
            )
    groups = rollups(
        venue_snapshots, missing, config.venue_tags(),
        waiting=lambda group_missing: _waiting(config, group_missing, reasons),
        reasons=reasons, rate_readers=lambda token: _rate_readers(config, token),
    )
    # every input is an already validated model or a dict built from validated keys
    snapshot = PortfolioSnapshot.trusted(
        timestamp=timestamp,
        execution_mode=execution_mode,
        venues=dict(venue_snapshots),
        positions=flat,
        net_exposure=exp.net,
        exposure_age_s=exp.age_s,
        risk=risk,
        unknown=unknown,
        reconciliation=recon,
        missing=sorted(missing),
        complete=not missing and not unknown and all(s.status == "ok" for s in snaps),
        latency_s=latency_s,
        by_exchange=groups.by_exchange,
        by_account=groups.by_account,
        by_tag=groups.by_tag,
    )
    if with_alerts:
        snapshot = snapshot.model_copy(
            update={"alerts": evaluate_alerts(snapshot, config, reasons)}
        )
    return snapshot


class PositionMonitor:
    """Aggregates venue snapshots into portfolio snapshots; keeps last good values per venue.

    Args:
        factory: the ExecutionInterfaceFactory (the monitor receives it, seed ADR-001).
        config: the mode config (or a dict validated into one).
        execution_mode: ``live`` or ``backtest``.
        clients: venue clients to use instead of building local interfaces (live: actor
            handles wrapped by the caller; tests: fakes).
        clock: monotonic clock in seconds (injected for tests).
        wall_clock: the current UTC time (injected for tests); dates restored snapshots.
        why: what else is known of a venue that failed, e.g. its supervisor's finding that the
            venue actor's node was lost (None: nothing); added to the venue's error text.
    """

    def __init__(
        self,
        factory: Any,
        config: ModeConfig | dict | None,
        execution_mode: ExecutionMode = "backtest",
        clients: Mapping[str, VenueClient] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = utc,
        why: Callable[[str], str | None] | None = None,
    ):
        if execution_mode not in ("live", "backtest"):
            raise ValueError(f"execution_mode must be 'live' or 'backtest', got {execution_mode!r}")
        self.factory = factory
        self.config = resolve_config(config)
        self.execution_mode: ExecutionMode = execution_mode
        self.clock = clock
        self.wall_clock = wall_clock
        self.why = why
        self.interfaces: dict[str, BasePositionInterface] = {}
        self.unavailable: list[str] = []
        if clients is None:
            built = factory.get_position_interfaces(self.config.venues, execution_mode, self.config)
            self.interfaces = {i.venue: i for i in built.values() if i is not None}
            self.unavailable = [v for v, i in built.items() if i is None]
            clients = {v: LocalVenueClient(i) for v, i in self.interfaces.items()}
        self.clients: dict[str, VenueClient] = dict(clients)
        self.expected: dict[str, float] = {str(k): v for k, v in self.config.allocation.items()}
        self._last_good: dict[str, tuple[VenueSnapshot, float]] = {}

    def restore_last_good(self, snapshots: Mapping[str, VenueSnapshot]) -> list[str]:
        """Take last good snapshots kept from before a restart (e.g. read from history).

        Each keeps its values; its age counts from its ``fetched_at``, so a venue that fails
        next is ``stale`` with the true age, not an age reset by the restart. A venue that
        already has a fresher answer in this monitor keeps it. Returns the venues restored.
        """
        now_wall, now = self.wall_clock(), self.clock()
        restored = []
        for venue, snap in snapshots.items():
            if venue not in self.clients or venue in self._last_good or snap.status != "ok":
                continue
            age = max(0.0, (now_wall - snap.fetched_at).total_seconds())
            self._last_good[venue] = (snap, now - age)
            restored.append(venue)
        return sorted(restored)

    def set_expected(self, positions: Mapping[str, float]) -> None:
        """Replace the expected positions used for reconciliation."""
        self.expected = dict(positions)

    async def _collect(
        self, timestamp: datetime, deadline_s: float | None
    ) -> dict[str, VenueSnapshot | BaseException]:
        if deadline_s is None:
            results: dict[str, VenueSnapshot | BaseException] = {}
            for venue, client in self.clients.items():
                try:
                    results[venue] = await client.snapshot(timestamp)
                except Exception as exc:  # noqa: BLE001 - reported per venue
                    results[venue] = exc
            return results
        tasks = {v: asyncio.ensure_future(c.snapshot(timestamp)) for v, c in self.clients.items()}
        if tasks:
            await asyncio.wait(tasks.values(), timeout=deadline_s)
        results = {}
        for venue, task in tasks.items():
            if not task.done():
                task.cancel()
                results[venue] = VenueTimeoutError(
                    venue, f"no answer within the {deadline_s:g} s deadline"
                )
            elif (failure := task.exception()) is not None:
                results[venue] = failure
            else:
                results[venue] = task.result()
        return results

    def _failure(self, venue: str, result: VenueSnapshot | BaseException) -> str:
        """The failed venue's error in one line, with what ``why`` knows of it."""
        error = (_error_text(result) if isinstance(result, BaseException)
                 else result.error or result.status)
        try:
            known = self.why(venue) if self.why is not None else None
        except Exception as exc:  # noqa: BLE001 - an explanation never fails a snapshot
            log.warning("could not explain %s: %s", venue, exc)
            known = None
        return f"{error} ({known})" if known and known not in error else error

    def _resolve(
        self, venue: str, result: VenueSnapshot | BaseException, now: float
    ) -> VenueSnapshot | None:
        """Fresh snapshot -> remembered; failure -> last good marked stale, or None (missing)."""
        if isinstance(result, VenueSnapshot) and result.status == "ok":
            self._last_good[venue] = (result, now)
            return result
        error = self._failure(venue, result)
        last = self._last_good.get(venue)
        if last is None:
            log.warning("venue %s missing: %s", venue, error)
            return None
        snap, got_at = last
        return snap.model_copy(
            update={"status": "stale", "error": error, "age_s": max(0.0, now - got_at)}
        )

    async def get_real_positions(
        self, timestamp: datetime | str | float | None = None
    ) -> PortfolioSnapshot:
        """Return one `PortfolioSnapshot` over every enabled venue.

        Live: every venue is asked at once and the answer comes within the mode's deadline.
        Backtest: the simulated backends answer in turn, with no deadline.
        """
        ts = utc(timestamp)
        start = self.clock()
        deadline = self.config.monitor.deadline_s if self.execution_mode == "live" else None
        results = await self._collect(ts, deadline)
        now = self.clock()
        venues: dict[str, VenueSnapshot] = {}
        missing = list(self.unavailable)
        reasons: dict[str, str] = {}
        for venue, result in results.items():
            snap = self._resolve(venue, result, now)
            if snap is None:
                missing.append(venue)
                reasons[venue] = self._failure(venue, result)
            else:
                venues[venue] = snap
        return aggregate(
            ts, self.execution_mode, venues, missing, self.config, self.expected, now - start,
            with_alerts=self.execution_mode == "live", reasons=reasons,
        )

    async def close(self) -> None:
        """Close every interface this monitor built."""
        for iface in self.interfaces.values():
            try:
                await iface.close()
            except Exception as exc:  # noqa: BLE001 - closing is best effort
                log.warning("closing %s failed: %s", iface.venue, exc)
