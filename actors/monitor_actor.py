"""The PositionMonitor's Ray actor shell: venue actors, supervision, history, metrics, alerts.

Live, the monitor talks to one `VenuePositionActor` per venue through
`actors.ray_calls.ActorVenueClient` (every Ray call towards a child goes through
`actors.ray_calls`). Supervision is `actors.supervisor.Supervisor`, a plain reconcile loop run in
the ``control`` concurrency group: it pings every venue actor and replaces one that died for
good through the factory, recording the event; a venue whose actor's node is lost is left to
Ray's restart and its stale snapshot says so. Every snapshot is persisted to the
`SnapshotStore` before it is returned.

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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ray

from actors import ray_calls
from actors.metrics import Metrics
from actors.monitor import PositionMonitor
from actors.options import MONITOR_CONCURRENCY_GROUPS, MONITOR_NAME, monitor_options
from actors.ray_calls import ActorVenueClient, RayVenueActors
from actors.store import SnapshotStore
from actors.supervisor import Supervisor
from factory.config import resolve_config
from factory.positions import ExecutionMode, PortfolioSnapshot

__all__ = ["PositionMonitorActor", "spawn_monitor"]

log = logging.getLogger("basis.monitor")


async def _alive_nodes() -> set[str]:
    """The cluster's alive nodes, asked off the event loop (a call to Ray's control store)."""
    return await asyncio.to_thread(ray_calls.alive_nodes)


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
        self.actors = RayVenueActors(venue_handles if execution_mode == "live" else None)
        self.supervisor = Supervisor(self.config.venues, self.actors, self._spawn,
                                     record_event=self.store.record_event,
                                     alive_nodes=_alive_nodes if execution_mode == "live" else None)
        self._supervision: asyncio.Task | None = None
        clients = None
        if execution_mode == "live":
            for venue in self.config.venues:
                if self.actors.current(venue) is None:
                    self.supervisor.replace(venue, "initial start")
            deadline = self.config.monitor.deadline_s
            clients = {v: ActorVenueClient(v, self.actors, self.supervisor, deadline)
                       for v in self.config.venues}
        self._monitor = PositionMonitor(factory, self.config, execution_mode, clients=clients,
                                        why=self.supervisor.reason)
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

    def _spawn(self, venues: list[str]) -> Mapping[str, Any]:
        """The factory's spawn entry point, with this monitor's mode and limit scale."""
        handles: Mapping[str, Any] = self.factory.spawn_position_actors(
            venues, self.execution_mode, self.config, limit_scale=self.limit_scale)
        return handles

    async def supervise_once(self) -> dict[str, str]:
        """One supervision round (see `actors.supervisor`); return venue -> state."""
        return await self.supervisor.reconcile()

    def _ensure_supervision(self) -> None:
        if self.execution_mode == "live" and (self._supervision is None
                                              or self._supervision.done()):
            self._supervision = asyncio.get_running_loop().create_task(
                self.supervisor.run(self.supervise_interval_s))

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

    @ray.method(concurrency_group="control")
    def node_id(self) -> str:
        """Return the id of the Ray node the monitor runs on."""
        return ray_calls.node_id()


def spawn_monitor(
    factory: Any,
    config: Any,
    execution_mode: ExecutionMode = "backtest",
    name: str | None = MONITOR_NAME,
    namespace: str | None = None,
    store_path: str | None = None,
    limit_scale: float = 1.0,
    supervise: bool = True,
) -> Any:
    """Start the PositionMonitor actor with its options; Ray must be initialised.

    The actor gets only small, self-contained arguments (no actor handles), so Ray can restart
    it from its creation spec; it re-attaches to the venue actors by name. The history path is
    made absolute here, in the caller, so the actor's working directory does not matter, and
    the actor is placed on the caller's node (soft), where that path was resolved.
    """
    cfg = resolve_config(config)
    path = store_path or cfg.monitor.history_path
    if path != ":memory:":
        path = str(Path(path).expanduser().resolve())
    handle = ray_calls.start_actor(
        PositionMonitorActor, monitor_options(name, namespace, ray_calls.node_id()),
        factory, cfg, execution_mode, None, path, limit_scale,
        concurrency_groups=MONITOR_CONCURRENCY_GROUPS,
    )
    if supervise and execution_mode == "live":
        ray_calls.submit(handle.start_supervision)
    return handle


