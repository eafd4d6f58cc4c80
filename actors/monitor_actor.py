"""The PositionMonitor's Ray actor shell: venue actors, supervision, history, metrics, alerts.

Live, the monitor talks to one `VenuePositionActor` per venue through `ActorVenueClient` (the
one wrapper for Ray calls towards a child). A supervise loop (the ``control`` concurrency group)
pings every venue actor and replaces one that died for good through the factory, recording the
event. Every snapshot is persisted to the `SnapshotStore` before it is returned.

The actor is restartable: its constructor arguments are small values carried in the actor's
creation spec (the stateless factory, the mode config, the history path), never actor handles
or object references that could be gone when Ray restarts it. Everything else is rebuilt in the
constructor: venue actors are re-attached by name (``venue:<id>``), and each venue's last good
snapshot is read back from the history with its original ``fetched_at``, so a venue that fails
right after a restart is ``stale`` with its true age instead of ``missing``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import (
    ActorDiedError,
    ActorUnavailableError,
    GetTimeoutError,
    RayActorError,
    RayTaskError,
)

from actors.metrics import Metrics
from actors.monitor import PositionMonitor
from actors.options import MONITOR_CONCURRENCY_GROUPS, monitor_options
from actors.store import SnapshotStore
from factory.config import resolve_config
from factory.errors import VenueUnavailableError
from factory.positions import ExecutionMode, PortfolioSnapshot, VenueSnapshot

__all__ = ["ActorVenueClient", "PositionMonitorActor", "spawn_monitor"]

log = logging.getLogger("basis.monitor")

#: Seconds the venue actor's own deadline ends before the monitor's, so its last retry gives up
#: in time for the answer to travel back.
DEADLINE_MARGIN_S = 0.05


class ActorVenueClient:
    """Calls one venue actor; an actor that died for good is handed to the supervisor."""

    def __init__(self, venue: str, supervisor: PositionMonitorActor, deadline_s: float | None):
        self.venue = venue
        self.supervisor = supervisor
        self.deadline_s = deadline_s

    async def snapshot(self, timestamp) -> VenueSnapshot:
        handle = self.supervisor.handles.get(self.venue)
        if handle is None:
            self.supervisor.replace(self.venue, "no actor")
            raise VenueUnavailableError(self.venue, "venue actor not running; restarting it")
        budget = None if self.deadline_s is None else max(0.01, self.deadline_s - DEADLINE_MARGIN_S)
        try:
            return await handle.snapshot.remote(timestamp, budget)
        except RayTaskError as exc:  # the venue's own typed error, without Ray's wrapping
            raise exc.cause if isinstance(exc.cause, Exception) else exc from None
        except ActorDiedError as exc:
            self.supervisor.replace(self.venue, type(exc).__name__)
            raise VenueUnavailableError(self.venue, "venue actor died; replaced") from None
        except (ActorUnavailableError, RayActorError):
            raise VenueUnavailableError(self.venue, "venue actor restarting") from None


class PositionMonitorActor:
    """Thin shell over `PositionMonitor` plus supervision and history.

    Args:
        factory: the interface factory; ``spawn_position_actors`` starts venue actors
            (`actors.spawn.VenueActorFactory`).
        config: the mode config.
        execution_mode: ``live`` or ``backtest``.
        venue_handles: venue actors to use (live, in-process callers); the others are started
            or re-attached by name through the factory.
        store_path: history database file (default: the mode's ``monitor.history_path``).
        limit_scale: passed to venue actors this monitor spawns.
        supervise_interval_s: seconds between supervision rounds.
    """

    def __init__(
        self,
        factory: Any,
        config: Any,
        execution_mode: ExecutionMode = "backtest",
        venue_handles: dict[str, Any] | None = None,
        store_path: str | None = None,
        limit_scale: float = 1.0,
        supervise_interval_s: float = 1.0,
    ):
        self.factory = factory
        self.config = resolve_config(config)
        self.execution_mode = execution_mode
        self.limit_scale = limit_scale
        self.supervise_interval_s = supervise_interval_s
        self.metrics = Metrics.auto()
        self.store = SnapshotStore(store_path or self.config.monitor.history_path)
        self.handles: dict[str, Any] = {}
        self._supervisor: asyncio.Task | None = None
        clients = None
        if execution_mode == "live":
            self.handles = {v: h for v, h in (venue_handles or {}).items() if h is not None}
            for venue in self.config.venues:
                if venue not in self.handles:
                    self.replace(venue, "initial start")
            deadline = self.config.monitor.deadline_s
            clients = {v: ActorVenueClient(v, self, deadline) for v in self.config.venues}
        self._monitor = PositionMonitor(factory, self.config, execution_mode, clients=clients)
        restored: list[str] = []
        if execution_mode == "live":
            restored = self._restore_last_good()
        self.store.record_event("monitor_started",
                                detail={"mode": self.config.mode, "restored": restored})

    def _restore_last_good(self) -> list[str]:
        """Give the monitor each venue's last good snapshot from history; never fatal."""
        try:
            return self._monitor.restore_last_good(self.store.last_good(self.config.venues))
        except Exception as exc:  # noqa: BLE001 - a start without history is still a start
            log.warning("could not restore last good snapshots: %s", exc)
            return []

    # -- supervision ----------------------------------------------------------------------

    def replace(self, venue: str, reason: str) -> None:
        """Start (or re-attach to) the venue's actor through the factory; record the event."""
        try:
            handles = self.factory.spawn_position_actors(
                [venue], self.execution_mode, self.config, limit_scale=self.limit_scale
            )
            self.handles[venue] = handles.get(venue)
            self.store.record_event("venue_actor_started", venue, {"reason": reason})
        except Exception as exc:  # noqa: BLE001 - the loop survives every error
            log.warning("could not start venue actor %s: %s", venue, exc)

    async def supervise_once(self) -> dict[str, str]:
        """Ping every venue actor; replace those that died for good. Return venue -> state."""
        states: dict[str, str] = {}
        for venue in list(self.config.venues):
            handle = self.handles.get(venue)
            if handle is None:
                self.replace(venue, "no actor")
                states[venue] = "replaced"
                continue
            try:
                await asyncio.wait_for(handle.ping.remote(), timeout=2.0)
                states[venue] = "alive"
            except ActorDiedError:
                self.store.record_event("venue_actor_died", venue)
                self.replace(venue, "died")
                states[venue] = "replaced"
            except (TimeoutError, ActorUnavailableError, RayActorError, GetTimeoutError):
                states[venue] = "unavailable"
            except Exception as exc:  # noqa: BLE001
                log.warning("supervising %s failed: %s", venue, exc)
                states[venue] = "error"
        return states

    async def _supervise_forever(self) -> None:
        while True:
            try:
                await self.supervise_once()
            except Exception as exc:  # noqa: BLE001 - the loop survives every error
                log.warning("supervision round failed: %s", exc)
            await asyncio.sleep(self.supervise_interval_s)

    def _ensure_supervision(self) -> None:
        if self.execution_mode == "live" and (self._supervisor is None or self._supervisor.done()):
            self._supervisor = asyncio.get_running_loop().create_task(self._supervise_forever())

    @ray.method(concurrency_group="control")
    async def start_supervision(self) -> bool:
        """Start the supervise loop (idempotent; a restarted monitor starts it on first use)."""
        self._ensure_supervision()
        return True

    # -- snapshots --------------------------------------------------------------------------

    @ray.method(concurrency_group="snapshots")
    async def get_real_positions(self, timestamp: Any = None) -> PortfolioSnapshot:
        """Return (and persist) one portfolio snapshot."""
        self._ensure_supervision()
        snap = await self._monitor.get_real_positions(timestamp)
        await asyncio.to_thread(self.store.append, snap)
        for venue, v in snap.venues.items():
            self.metrics.staleness(venue, v.age_s)
        if snap.reconciliation is not None:
            self.metrics.mismatches(self.config.mode, len(snap.reconciliation.mismatches))
        for alert in snap.alerts:
            self.metrics.alert(alert.kind)
            log.warning(json.dumps({"event": "alert", **alert.model_dump(mode="json")}))
        return snap

    @ray.method(concurrency_group="snapshots")
    async def run(self, interval_s: float | None = None, count: int | None = None) -> int:
        """Take a snapshot every ``interval_s`` (default: the mode's) ``count`` times (None:
        forever); return the number taken. Errors are logged, never fatal."""
        interval = interval_s or self.config.monitor.interval_s
        taken = 0
        while count is None or taken < count:
            started = time.monotonic()
            try:
                await self.get_real_positions(None)
            except Exception as exc:  # noqa: BLE001
                log.warning("snapshot failed: %s", exc)
            taken += 1
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
        return taken

    @ray.method(concurrency_group="control")
    def get_position_history(self, start: Any = None, end: Any = None) -> list[PortfolioSnapshot]:
        """Snapshots recorded between ``start`` and ``end`` (served from the store)."""
        return self.store.query(start, end)

    @ray.method(concurrency_group="control")
    def events(self, kind: str | None = None) -> list[dict]:
        return self.store.events(kind)

    @ray.method(concurrency_group="control")
    def set_expected(self, positions: dict[str, float]) -> None:
        self._monitor.set_expected(positions)

    @ray.method(concurrency_group="control")
    def venues(self) -> list[str]:
        return sorted(self._monitor.clients)

    @ray.method(concurrency_group="control")
    def ping(self) -> str:
        return "ok"

    @ray.method(concurrency_group="control")
    def pid(self) -> int:
        import os

        return os.getpid()


def spawn_monitor(
    factory: Any,
    config: Any,
    execution_mode: ExecutionMode = "backtest",
    name: str | None = "position-monitor",
    namespace: str | None = None,
    store_path: str | None = None,
    limit_scale: float = 1.0,
    supervise: bool = True,
) -> ray.actor.ActorHandle:
    """Start the PositionMonitor actor with its options; Ray must be initialised.

    The actor gets only small, self-contained arguments (no actor handles), so Ray can restart
    it from its creation spec; it re-attaches to the venue actors by name. The history path is
    made absolute here, in the caller, so the actor's working directory does not matter.
    """
    cfg = resolve_config(config)
    path = store_path or cfg.monitor.history_path
    if path != ":memory:":
        path = str(Path(path).expanduser().resolve())
    cls = ray.remote(  # type: ignore[call-overload]  # ray's overloads omit concurrency_groups
        concurrency_groups=MONITOR_CONCURRENCY_GROUPS
    )(PositionMonitorActor)
    handle = cls.options(**monitor_options(name, namespace)).remote(
        factory, cfg, execution_mode, None, path, limit_scale
    )
    if supervise and execution_mode == "live":
        handle.start_supervision.remote()
    return handle


