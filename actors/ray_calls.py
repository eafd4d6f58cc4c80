"""The one Ray boundary: every call towards an actor, every wait, kill and lookup by name.

The plain classes (`actors.monitor.PositionMonitor`, `actors.supervisor.Supervisor`,
`actors.venue.VenueWorker`) never import Ray; the actor shells and the engine reach Ray through
this module. Ray's failures are translated here, once, by `unwrap`:

| Ray raises | the plain code sees |
|---|---|
| ``RayTaskError`` (the remote method raised) | the venue's own typed error (its ``cause``) |
| ``ActorDiedError`` (gone for good) | `actors.supervisor.ActorGoneError` |
| ``ActorUnavailableError`` / other ``RayActorError`` (restarting) | `ActorRestartingError` |
| anything else | itself |

Remote classes are built here (`start_actor`) with the options of `actors.options`; the venue
actors are started by the factory's spawn entry point (`actors.spawn`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import ray
from ray.exceptions import (
    ActorDiedError,
    NodeDiedError,
    ObjectLostError,
    OwnerDiedError,
    RayActorError,
    RayTaskError,
    WorkerCrashedError,
)

from actors.budget import LeaseGrant, LeaseRequest
from actors.budget_actor import SharedBudgetActor
from actors.options import budget_actor_options, venue_actor_name
from actors.supervisor import ActorGoneError, ActorRestartingError, Supervisor
from factory.config import RateLimitPool
from factory.errors import VenueUnavailableError
from factory.positions import VenueSnapshot

__all__ = [
    "DEADLINE_MARGIN_S",
    "RESTARTING_ERRORS",
    "ActorBudgetLink",
    "ActorVenueClient",
    "NamedVenueActor",
    "RayPool",
    "RayVenueActors",
    "actor_exists",
    "alive_nodes",
    "call",
    "cluster_cpus",
    "get",
    "kill",
    "kill_named",
    "node_id",
    "put",
    "ray_is_up",
    "shared_budget_actor",
    "start_actor",
    "submit",
    "unwrap",
    "wait",
]

#: Seconds the venue actor's own deadline ends before the monitor's, so its last retry gives up
#: in time for the answer to travel back.
DEADLINE_MARGIN_S = 0.05

#: What a call raises while its actor is being restarted by Ray (the engine waits these out).
RESTARTING_ERRORS: tuple[type[BaseException], ...] = (RayActorError,)

_LOST_ERRORS = (RayActorError, WorkerCrashedError, NodeDiedError, ObjectLostError, OwnerDiedError)

_REMOTE_CLASSES: dict[tuple[type, tuple], Any] = {}


def unwrap(exc: BaseException, venue: str) -> BaseException:
    """Translate a Ray failure of a call to ``venue``'s actor into what the plain code knows.

    Returns:
        The remote method's own exception for a ``RayTaskError``, `ActorGoneError` for an actor
        that died for good, `ActorRestartingError` for one that is restarting, else ``exc``.
    """
    if isinstance(exc, RayTaskError):
        return exc.cause if isinstance(exc.cause, Exception) else exc
    if isinstance(exc, ActorDiedError):
        return ActorGoneError(venue, "venue actor died")
    if isinstance(exc, RayActorError):
        return ActorRestartingError(venue, "venue actor restarting")
    return exc


# -- starting, calling, waiting ------------------------------------------------------------------


def ray_is_up() -> bool:
    """True when this process has started or joined Ray."""
    return bool(ray.is_initialized())


def start_actor(cls: type, options: Mapping[str, Any], *args: Any,
                concurrency_groups: Mapping[str, int] | None = None) -> Any:
    """Start an actor of ``cls`` with ``options`` (from `actors.options`); return its handle.

    The remote class is built once per class and concurrency groups.
    """
    key = (cls, tuple(sorted((concurrency_groups or {}).items())))
    if key not in _REMOTE_CLASSES:
        if concurrency_groups:
            groups = dict(concurrency_groups)
            remote = ray.remote(concurrency_groups=groups)  # type: ignore[call-overload]
            _REMOTE_CLASSES[key] = remote(cls)  # (ray's overloads omit concurrency_groups)
        else:
            _REMOTE_CLASSES[key] = ray.remote(cls)
    return _REMOTE_CLASSES[key].options(**options).remote(*args)


def submit(method: Any, *args: Any) -> Any:
    """Call an actor method without waiting; return the object reference of its answer."""
    return method.remote(*args)


def get(ref: Any, timeout_s: float | None = None) -> Any:
    """Wait for one answer (raises what the remote method raised, wrapped by Ray)."""
    return ray.get(ref, timeout=timeout_s)


def call(method: Any, *args: Any, timeout_s: float | None = None) -> Any:
    """Call an actor method and wait for its answer at most ``timeout_s``."""
    return get(submit(method, *args), timeout_s)


def wait(refs: list[Any], timeout_s: float | None, num_returns: int = 1) -> list[Any]:
    """The references among ``refs`` that are ready within ``timeout_s`` (at least
    ``num_returns`` of them unless the time runs out)."""
    done, _ = ray.wait(refs, num_returns=num_returns, timeout=timeout_s)
    return list(done)


def kill(handle: Any) -> None:
    """Kill an actor for good (Ray does not restart it); an actor already gone is fine."""
    try:
        ray.kill(handle, no_restart=True)
    except Exception:  # noqa: BLE001, S110 - already gone
        pass


def kill_named(name: str) -> bool:
    """Kill the actor of this name for good, if there is one; return True when there was."""
    try:
        handle = ray.get_actor(name)
    except ValueError:
        return False
    kill(handle)
    return True


def actor_exists(name: str) -> bool:
    """True while an actor of this name exists in the current namespace."""
    try:
        ray.get_actor(name)
    except ValueError:
        return False
    return True


def put(value: Any) -> Any:
    """Put a value in the object store once; return its reference."""
    return ray.put(value)


def cluster_cpus() -> int:
    """CPUs of the Ray cluster this process is connected to (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def node_id() -> str:
    """The id of the Ray node this code runs on."""
    return str(ray.get_runtime_context().get_node_id())


def alive_nodes() -> set[str]:
    """The ids of the cluster's nodes that are alive now (asked of Ray's control store)."""
    return {str(n["NodeID"]) for n in ray.nodes() if n.get("Alive")}


# -- venue actors ---------------------------------------------------------------------------------


class RayVenueActors:
    """The monitor's venue actor handles (the `actors.supervisor.VenueActors` of Ray).

    Args:
        handles: venue -> handle to start from (None values are dropped).
    """

    def __init__(self, handles: Mapping[str, Any] | None = None):
        self._handles: dict[str, Any] = {v: h for v, h in (handles or {}).items() if h is not None}

    def current(self, venue: str) -> Any | None:
        return self._handles.get(venue)

    def attach(self, venue: str, handle: Any | None) -> None:
        if handle is None:
            self._handles.pop(venue, None)
        else:
            self._handles[venue] = handle

    async def ping(self, venue: str, handle: Any, timeout_s: float) -> str:
        """Return the id of the node the venue's actor answered from (see `VenueActors`)."""
        try:
            return str(await asyncio.wait_for(handle.node_id.remote(), timeout=timeout_s))
        except TimeoutError:
            raise ActorRestartingError(venue, f"no answer to a ping in {timeout_s:g} s") from None
        except Exception as exc:  # noqa: BLE001 - translated, then raised
            raise unwrap(exc, venue) from None


class ActorVenueClient:
    """The monitor's `actors.monitor.VenueClient` for one venue actor.

    An actor that died for good, or a venue without one, is handed to the supervisor, and the
    venue fails this round with `VenueUnavailableError`.

    Args:
        venue: the venue.
        actors: the venue actor handles.
        supervisor: replaces actors that are gone.
        deadline_s: the monitor's deadline; the actor gets it less `DEADLINE_MARGIN_S`.
    """

    def __init__(self, venue: str, actors: RayVenueActors, supervisor: Supervisor,
                 deadline_s: float | None):
        self.venue = venue
        self.actors = actors
        self.supervisor = supervisor
        self.deadline_s = deadline_s

    async def snapshot(self, timestamp: Any) -> VenueSnapshot:
        handle = self.actors.current(self.venue)
        if handle is None:
            self.supervisor.replace(self.venue, "no actor")
            raise VenueUnavailableError(self.venue, "venue actor not running; restarting it")
        budget = None if self.deadline_s is None else max(0.01, self.deadline_s - DEADLINE_MARGIN_S)
        try:
            snap: VenueSnapshot = await handle.snapshot.remote(timestamp, budget)
            return snap
        except Exception as exc:  # noqa: BLE001 - translated, then raised
            error = unwrap(exc, self.venue)
        if isinstance(error, ActorGoneError):
            self.supervisor.replace(self.venue, "ActorDiedError", gone=handle)
            raise VenueUnavailableError(self.venue, "venue actor died; replaced")
        if isinstance(error, ActorRestartingError):
            raise VenueUnavailableError(self.venue, "venue actor restarting")
        raise error


class NamedVenueActor:
    """Another venue's actor, found by its name (``venue:<id>``) on first use.

    After a failed call the name is looked up again next time (the actor may be replaced).
    """

    def __init__(self, venue: str):
        self.venue = venue
        self._handle: Any = None

    async def transfers_in_transit(self, budget_s: float | None) -> list:
        """The venue's CEX transfers in transit, read by its actor within ``budget_s``."""
        try:
            if self._handle is None:
                self._handle = ray.get_actor(venue_actor_name(self.venue))
            answer: list = await self._handle.transfers_in_transit.remote(budget_s)
            return answer
        except Exception as exc:  # noqa: BLE001 - translated, then raised
            self._handle = None
            error = unwrap(exc, self.venue)
        raise error


# -- shared rate budgets -------------------------------------------------------------------------


def shared_budget_actor(exchange: str, group: str, pools: list[RateLimitPool],
                        scale: float = 1.0, namespace: str | None = None) -> Any:
    """Get or create the budget actor of (``exchange``, ``group``); return its handle."""
    return start_actor(SharedBudgetActor, budget_actor_options(exchange, group, namespace),
                       exchange, group, pools, scale)


class ActorBudgetLink:
    """A venue instance's way to its group's budget actor (`actors.lease.BudgetLink`).

    A failed call raises the budget actor's failure as Ray gives it; the limiter then refuses
    the request that waited for the lease (the group's use is unknown).
    """

    def __init__(self, handle: Any):
        self.handle = handle

    async def lease(self, request: LeaseRequest) -> LeaseGrant:
        grant: LeaseGrant = await self.handle.lease.remote(request)
        return grant


# -- backtest sweeps ------------------------------------------------------------------------------


class RayPool:
    """Every Ray call of the sweep's dispatch loop (stubbed in its unit tests).

    Args:
        spawn: starts one SimulatorActor and returns its handle.
        reconcile_every_h: passed to each scenario run.
    """

    def __init__(self, spawn: Callable[[], Any], reconcile_every_h: float = 24.0):
        self._spawn = spawn
        self.reconcile_every_h = reconcile_every_h

    def spawn(self) -> Any:
        return self._spawn()

    def ready(self, actor: Any) -> Any:
        return submit(actor.ready)

    def submit(self, actor: Any, scenario: Any) -> Any:
        return submit(actor.run, scenario.config, scenario.start, scenario.end, scenario.labels(),
                      self.reconcile_every_h)

    def wait(self, futures: list[Any], timeout_s: float | None) -> list[Any]:
        return wait(futures, timeout_s)

    def get(self, future: Any) -> Any:
        return get(future)

    def kill(self, actor: Any) -> None:
        kill(actor)

    def is_lost(self, exc: BaseException) -> bool:
        """True when the failure is the actor or its node, not the scenario."""
        return isinstance(exc, _LOST_ERRORS)
