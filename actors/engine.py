"""EventDrivenStrategyEngine: the driver that holds actor handles.

Initialisation order is part of the contract (seed ADR-001): 1. the ExecutionInterfaceFactory,
2. (live) one venue actor per enabled venue, spawned through the factory, 3. the PositionMonitor
actor, given the factory and the venue actors, 4. the rest (readers of PortfolioSnapshots).
The engine never calls ``ray.init``: the CLI (or the caller) starts or joins Ray first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from actors import ray_calls
from actors.budget import shared_groups
from actors.monitor_actor import spawn_monitor
from actors.options import MONITOR_NAME, budget_actor_name, venue_actor_name
from actors.spawn import VenueActorFactory
from factory.config import ModeConfig, resolve_config
from factory.positions import ExecutionMode, PortfolioSnapshot, PositionKey

__all__ = ["EventDrivenStrategyEngine", "MonitorUnavailableError", "RestartWaiter"]

log = logging.getLogger("basis.engine")

T = TypeVar("T")


class MonitorUnavailableError(RuntimeError):
    """The monitor actor did not answer again within the restart wait."""


class RestartWaiter:
    """Calls an actor again while Ray restarts it, for at most ``wait_s`` seconds.

    A call that fails because its actor crashed or is restarting
    (`actors.ray_calls.RESTARTING_ERRORS`) is repeated every ``poll_s`` until it answers; any other
    error is raised at once. The wait counts from the first failure of the call.

    Args:
        wait_s: how long one call may wait for the actor to come back (0: never wait).
        poll_s: seconds between attempts.
        clock: monotonic seconds.
        sleep: how to wait ``poll_s`` (injected for tests).
        retry_on: the exception types that mean "restarting".
    """

    def __init__(self, wait_s: float = 60.0, poll_s: float = 0.25,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 retry_on: tuple[type[BaseException], ...] = ray_calls.RESTARTING_ERRORS):
        self.wait_s = wait_s
        self.poll_s = poll_s
        self.clock = clock
        self.sleep = sleep
        self.retry_on = retry_on
        self.restarts_seen = 0

    def call(self, fn: Callable[[], T], what: str = "the position monitor") -> T:
        """Return ``fn()``, repeating it while its actor restarts.

        Raises:
            MonitorUnavailableError: the actor did not answer within ``wait_s``.
        """
        first_failure: float | None = None
        while True:
            try:
                return fn()
            except self.retry_on as exc:
                now = self.clock()
                if first_failure is None:
                    first_failure = now
                    self.restarts_seen += 1
                    log.info("%s is restarting (%s); waiting up to %g s", what,
                             type(exc).__name__, self.wait_s)
                if now - first_failure >= self.wait_s:
                    raise MonitorUnavailableError(
                        f"{what} did not answer within {self.wait_s:g} s of a restart "
                        f"({type(exc).__name__})") from None
            self.sleep(self.poll_s)


class EventDrivenStrategyEngine:
    """Builds the factory, then the monitor with the factory, and holds their handles.

    Args:
        config: the mode config (or a dict).
        execution_mode: ``live`` or ``backtest``.
        factory: a `VenueActorFactory` (default: a new one); live mode spawns the venue actors
            through it.
        monitor_name: Ray actor name of the monitor (None for an anonymous actor).
        store_path: the history database (default: the mode's ``monitor.history_path``).
        limit_scale: scale of the venues' rate limits.
        restart_wait_s: how long `get_real_positions` waits for a crashed monitor that Ray
            restarts (0: a crash is raised at once).
    """

    def __init__(
        self,
        config: ModeConfig | dict,
        execution_mode: ExecutionMode = "backtest",
        factory: VenueActorFactory | None = None,
        monitor_name: str | None = MONITOR_NAME,
        store_path: str | None = None,
        limit_scale: float = 1.0,
        restart_wait_s: float = 0.0,
    ):
        if not ray_calls.ray_is_up():
            raise RuntimeError("start or join Ray before building the engine (ray.init)")
        self.init_order: list[str] = []
        self.monitor_name = monitor_name
        self.restarts = RestartWaiter(restart_wait_s)
        self.config = resolve_config(config)
        self.execution_mode: ExecutionMode = execution_mode
        self.factory = factory or VenueActorFactory()
        self.init_order.append("factory")
        self.venue_actors: dict[str, Any] = {}
        if execution_mode == "live":
            self.venue_actors = self.factory.spawn_position_actors(
                self.config.venues, execution_mode, self.config, limit_scale=limit_scale
            )
            self.init_order.append("venue_actors")
        self.position_monitor = spawn_monitor(
            self.factory, self.config, execution_mode, name=monitor_name,
            store_path=store_path, limit_scale=limit_scale,
        )
        self.init_order.append("position_monitor")
        self.handles: dict[str, Any] = {"position_monitor": self.position_monitor}
        self.handles.update({venue_actor_name(v): h for v, h in self.venue_actors.items() if h})

    def get_real_positions(self, timestamp: Any = None, timeout_s: float = 30.0) -> PortfolioSnapshot:
        """Ask the monitor for a snapshot and wait for it (through monitor restarts, for at
        most ``restart_wait_s``)."""
        monitor = self.position_monitor

        def ask() -> PortfolioSnapshot:
            snap = ray_calls.call(monitor.get_real_positions, timestamp, timeout_s=timeout_s)
            return cast(PortfolioSnapshot, snap)

        return self.restarts.call(ask)

    def prepare_venues(self, timeout_s: float = 30.0) -> dict[str, str | None]:
        """Wait (bounded) until every venue actor is up and has run its one-time setup.

        Returns each venue's outcome: None when ready, else the reason in one line. Nothing
        here is a snapshot: a venue that is not ready is reported by the next snapshot.
        """
        refs = {ray_calls.submit(h.prepare, timeout_s): v
                for v, h in self.venue_actors.items() if h}
        done = ray_calls.wait(list(refs), timeout_s, num_returns=len(refs))
        outcome: dict[str, str | None] = {
            v: f"VenueTimeoutError: not ready within {timeout_s:.2f} s" for v in refs.values()}
        for ref in done:
            try:
                outcome[refs[ref]] = ray_calls.get(ref)
            except Exception as exc:  # noqa: BLE001 - the actor died: the snapshot reports it
                outcome[refs[ref]] = type(exc).__name__
        return outcome

    def run(self, interval_s: float | None = None, count: int | None = None) -> Any:
        """Start the live loop in the monitor: a snapshot every ``interval_s``; returns its ref."""
        return ray_calls.submit(self.position_monitor.run, interval_s, count)

    def set_expected(self, positions: Mapping[PositionKey, float] | Mapping[str, float],
                     timeout_s: float = 30.0) -> None:
        """Give the monitor the expected positions (``{key: amount}``) it reconciles against."""
        ray_calls.call(self.position_monitor.set_expected, dict(positions), timeout_s=timeout_s)

    def position_history(self, start: Any = None, end: Any = None,
                         timeout_s: float = 30.0) -> list[PortfolioSnapshot]:
        """The snapshots the monitor recorded between ``start`` and ``end`` (None: open)."""
        history = ray_calls.call(self.position_monitor.get_position_history, start, end,
                                 timeout_s=timeout_s)
        return cast(list[PortfolioSnapshot], history)

    def _budget_groups(self) -> dict[str, tuple[str, str]]:
        """venue -> (exchange, egress group) of the shared budgets of this engine's venues."""
        if self.execution_mode != "live":
            return {}
        configs = {}
        for venue in self.venue_actors:
            try:
                configs[venue] = self.config.venue_config(venue)
            except KeyError:
                continue
        return shared_groups(configs)

    def shutdown(self, wait_s: float = 10.0) -> None:
        """Stop the actors this engine started (the monitor, the venue actors and the shared
        rate budgets of their egress groups) and wait (at most ``wait_s``) until their names are
        free, so an engine built right after takes the same names with its own settings."""
        names = [name for name in (self.monitor_name, *map(venue_actor_name, self.venue_actors))
                 if name]
        for handle in self.handles.values():
            ray_calls.kill(handle)
        self.handles.clear()
        for budget in set(self._budget_groups().values()):
            name = budget_actor_name(*budget)
            if ray_calls.kill_named(name):
                names.append(name)
        end = time.monotonic() + wait_s
        while names and time.monotonic() < end:
            names = [name for name in names if ray_calls.actor_exists(name)]
            if names:
                time.sleep(0.05)
