"""One live snapshot in this process: the monitor's and the venue actors' plain classes, no Ray.

``basis monitor --once`` on this machine needs one answer, not a supervised service: starting
a local Ray and eight actor processes costs several seconds before the first request leaves.
Here the same pieces run in one asyncio loop instead: one `VenueWorker` per venue (the class the
venue actor holds: limiter, retries, deadline, health), the `PositionMonitor` over them (the
class the monitor actor holds: fan-out under the mode's deadline, aggregation, unknowns,
reconciliation, alerts), the wallet's transfers in transit read from the exchanges' workers,
the instances of one exchange and egress group spending one in-process `SharedBudget`,
the last good snapshots restored from history and the result appended to it. With
``--address`` (a cluster) the command uses the actors instead.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from actors.budget import SharedBudget, shared_groups
from actors.lease import LocalBudgetLink
from actors.metrics import Metrics
from actors.monitor import PositionMonitor
from actors.store import SnapshotStore
from actors.venue import ActorTransitSource, VenueWorker
from factory.config import ModeConfig
from factory.execution_interface_factory import ExecutionInterfaceFactory
from factory.positions import PortfolioSnapshot, VenueSnapshot

__all__ = ["PREPARE_TIMEOUT_S", "WorkerClient", "in_process_budgets", "snapshot_once"]

log = logging.getLogger("basis.once")

#: Bound of the venues' one-time setup (clients, markets, chain checks) before the snapshot.
PREPARE_TIMEOUT_S = 30.0


class WorkerClient:
    """The monitor's client for a venue worker in this process (`actors.monitor.VenueClient`)."""

    def __init__(self, worker: VenueWorker, deadline_s: float):
        self.venue = worker.venue
        self.worker = worker
        self.deadline_s = deadline_s

    async def snapshot(self, timestamp: Any) -> VenueSnapshot:
        return await self.worker.snapshot(timestamp, self.deadline_s)


class FailedClient:
    """A venue whose interface could not be built: every snapshot raises that error."""

    def __init__(self, venue: str, error: Exception):
        self.venue = venue
        self.error = error

    async def snapshot(self, timestamp: Any) -> VenueSnapshot:
        raise self.error


def in_process_budgets(mode: ModeConfig) -> dict[str, LocalBudgetLink]:
    """venue -> the in-process budget of its exchange and egress group (shared ones only)."""
    configs = {}
    for venue in mode.venues:
        try:
            configs[venue] = mode.venue_config(venue)
        except KeyError:
            continue  # reported as that venue's failure below
    budgets: dict[tuple[str, str], SharedBudget] = {}
    links = {}
    for venue, (exchange, group) in shared_groups(configs).items():
        if (exchange, group) not in budgets:
            budgets[(exchange, group)] = SharedBudget(
                exchange, group, configs[venue].rate_limits.pools)
        links[venue] = LocalBudgetLink(budgets[(exchange, group)])
    return links


async def snapshot_once(mode: ModeConfig, store_path: str,
                        prepare_timeout_s: float = PREPARE_TIMEOUT_S) -> PortfolioSnapshot:
    """Take one live snapshot of every venue of ``mode`` in this process and record it.

    The venues first run their one-time setup concurrently (bounded by ``prepare_timeout_s``)
    so the snapshot's deadline is spent on positions; an incomplete first snapshot gets one more
    try after one deadline, as a venue may just have finished its setup.
    """
    factory = ExecutionInterfaceFactory()
    workers: dict[str, VenueWorker] = {}
    failed: dict[str, Exception] = {}
    metrics = Metrics()  # in memory: no Ray here to export them
    budgets = in_process_budgets(mode)
    for venue in mode.venues:
        try:
            iface = factory.create_position_interface(venue, "live", mode)
            workers[venue] = VenueWorker(iface, metrics=metrics, budget=budgets.get(venue))
        except Exception as exc:  # noqa: BLE001 - reported as this venue's failure
            failed[venue] = exc
    for worker in workers.values():
        iface = worker.interface
        if hasattr(iface, "set_transit_sources"):
            names = iface.venue_config.options.get("transfer_venues") or []
            iface.set_transit_sources(
                {v: ActorTransitSource(v, workers[v]) for v in names if v in workers})
    deadline = mode.monitor.deadline_s
    clients: dict[str, Any] = {v: WorkerClient(w, deadline) for v, w in workers.items()}
    clients.update({v: FailedClient(v, e) for v, e in failed.items()})
    store = SnapshotStore(store_path)
    try:
        monitor = PositionMonitor(factory, mode, "live", clients=clients)
        try:
            monitor.restore_last_good(store.last_good(list(mode.venues)))
        except Exception as exc:  # noqa: BLE001 - a snapshot without history is still one
            log.warning("could not restore last good snapshots: %s", exc)
        await asyncio.gather(*(w.prepare(prepare_timeout_s) for w in workers.values()))
        snap = await monitor.get_real_positions(None)
        if not snap.complete:
            await asyncio.sleep(deadline)
            snap = await monitor.get_real_positions(None)
        await asyncio.to_thread(store.append, snap)
        return snap
    finally:
        store.close()
        for worker in workers.values():
            await worker.close()
