"""Ten accounts of one exchange behind one IP, through real venue actors, the real ccxt client
and the exchange emulator's per-IP weight accounting.

The ten instances (``binance``, ``binance2``..``binance10``: the binance venue config under
other venue ids, all reaching the emulator's binance) share one budget actor,
``budget:binance:default``. Hammered with two snapshots in flight each, they stay within the
emulator's per-IP limits (no violation) while using most of them; the same load from ten
instances that do not share (each in its own egress group) overruns the limit at once, shown in
this process as ``basis monitor --once`` runs the workers (where one in-process budget holds
the limit too). A 429 to one instance stops the whole group within one lease.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
import ray

from actors.metrics import Metrics
from actors.once import in_process_budgets
from actors.options import budget_actor_name
from actors.ray_calls import actor_exists, kill, kill_named
from actors.spawn import VenueActorFactory
from actors.venue import VenueWorker
from factory.config import RateLimits, resolve_config, venue_defaults
from factory.execution_interface_factory import ExecutionInterfaceFactory
from factory.sandbox.env import scoped_environ
from factory.sandbox.exchange import Fault
from tests.integration.live_helpers import eventually
from tests.integration.test_monitor_limits_secrets import (
    POOL_LIMITS,
    WINDOW_S,
    fixed_windows,
    scaled_binance,
)

INSTANCES = 10
HAMMER_S = 4 * WINDOW_S
RETRY_AFTER_S = 4.0
#: the lease's span (SharedBudget.lease_s) plus the report's trip and a loaded machine's lag
#: between a request's acquire and its arrival
PROPAGATION_S = 1.0 + 1.0


def instances_mode(exchange, limits: RateLimits, egress: Callable[[int], str | None],
                   prefix: str = "binance") -> tuple[Any, list[str]]:
    """A mode of ``INSTANCES`` binance instances reaching the emulator's binance."""
    base = venue_defaults()["binance"].model_dump(mode="json")
    names = [prefix if i == 1 and prefix == "binance" else f"{prefix}{i}"
             for i in range(1, INSTANCES + 1)]
    settings = {
        name: {**base, "venue": name, "api_base_url": exchange.base_url("binance"),
               "rate_limits": limits.model_dump(mode="json"), "egress": egress(i)}
        for i, name in enumerate(names)
    }
    return resolve_config({"mode": "accounts", "venues": names,
                           "venue_settings": settings}), names


def spawn(mode, names) -> dict[str, Any]:
    handles = VenueActorFactory.spawn_position_actors(names, "live", mode)
    assert all(handles.values())
    return handles


def hammer(handles: dict[str, Any], seconds: float, in_flight: int = 2) -> tuple[float, float]:
    """Keep ``in_flight`` snapshots in flight per instance for ``seconds``; return (t0, t1)."""
    pending = {h.snapshot.remote(None, 30): h for h in handles.values() for _ in range(in_flight)}
    t0 = time.time()
    while time.time() - t0 < seconds:
        done, _ = ray.wait(list(pending), num_returns=1, timeout=10)
        for ref in done:
            handle = pending.pop(ref)
            try:
                ray.get(ref)
            except Exception:  # noqa: BLE001, S110 - a refused snapshot is load too
                pass
            pending[handle.snapshot.remote(None, 30)] = handle
    t1 = time.time()
    ray.wait(list(pending), num_returns=len(pending), timeout=60)
    return t0, t1


def pool_paths(limits: RateLimits) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for e in limits.endpoints:
        for pool in e.pools:
            out.setdefault(pool, set()).add(e.path)
    return out


def stop(handles: dict[str, Any]) -> None:
    """Kill the instances and their budget; return once the names are free (a later test's
    engine must create its own budget, with its own limits, not find this one dying)."""
    for handle in handles.values():
        kill(handle)
    name = budget_actor_name("binance", "default")
    kill_named(name)
    eventually(lambda: not actor_exists(name), 30, 0.05, "the budget actor's name free")


@pytest.fixture(scope="module")
def shared(ray_session, exchange):
    limits = scaled_binance()
    mode, names = instances_mode(exchange, limits, lambda i: None)
    exchange.set_limits("binance", limits)
    handles = spawn(mode, names)
    ray.get([h.snapshot.remote(None, 60) for h in handles.values()], timeout=120)  # markets
    yield handles, limits
    stop(handles)


def test_ten_instances_stay_within_the_per_ip_limit_and_use_most_of_it(shared, clean_exchange):
    handles, limits = shared
    clean_exchange.set_limits("binance", limits)
    t0, t1 = hammer(handles, HAMMER_S)
    records = [r for r in clean_exchange.requests("binance") if r.time <= t1]
    assert clean_exchange.violations("binance") == 0
    assert {r.status for r in records} == {200}
    paths = pool_paths(limits)
    spot = fixed_windows(records, paths["spot_weight"], t0, t1)
    fapi = fixed_windows(records, paths["fapi_weight"], t0, t1)
    assert len(spot) >= 3
    assert max(spot) <= POOL_LIMITS["spot_weight"] and max(fapi) <= POOL_LIMITS["fapi_weight"]
    used = sum(spot) / (POOL_LIMITS["spot_weight"] * len(spot))
    budget = ray.get(ray.get_actor(budget_actor_name("binance", "default")).status.remote())
    print(f"\nshared: spot windows {spot} fapi windows {fapi} use {used:.1%}; "
          f"budget {budget['stats']}")
    assert budget["stats"]["leases"] > INSTANCES
    assert used >= 0.6


def test_a_429_to_one_instance_stops_the_group_within_one_lease(shared, clean_exchange):
    handles, limits = shared
    clean_exchange.set_limits("binance", limits)
    clean_exchange.inject("binance", Fault(kind="rate_limit", retry_after_s=RETRY_AFTER_S,
                                           count=1))
    _, t1 = hammer(handles, RETRY_AFTER_S + WINDOW_S)
    records = [r for r in clean_exchange.requests("binance") if r.time <= t1]
    refused = [r for r in records if r.status == 429]
    assert len(refused) == 1
    t429 = refused[0].time
    late = [r for r in records if t429 + PROPAGATION_S < r.time < t429 + RETRY_AFTER_S]
    assert late == []  # nobody in the group sent once the block had reached it
    assert any(r.time >= t429 + RETRY_AFTER_S and r.status == 200 for r in records)
    assert 418 not in {r.status for r in records}


async def hammer_in_process(workers: list[VenueWorker], seconds: float,
                            in_flight: int = 2) -> None:
    """The same load as `hammer`, from workers in this process (no Ray)."""
    end = time.time() + seconds

    async def keep_asking(worker: VenueWorker) -> None:
        while time.time() < end:
            try:
                await worker.snapshot(None, 30)
            except Exception:  # noqa: BLE001, S110 - a refused snapshot is load too
                pass

    try:
        await asyncio.gather(*(keep_asking(w) for w in workers for _ in range(in_flight)))
    finally:
        await asyncio.gather(*(w.interface.close() for w in workers))


@pytest.mark.parametrize("shared_budget", [True, False], ids=["in_one_budget", "each_alone"])
def test_in_one_process_the_same_load_overruns_the_limit_only_without_sharing(
        ray_session, live_environ, clean_exchange, shared_budget):
    """As ``basis monitor --once`` runs them: ten workers with one in-process budget stay
    within the per-IP limit; each in its own egress group, they overrun it."""
    limits = scaled_binance()
    egress = (lambda i: None) if shared_budget else (lambda i: f"own{i}")
    mode, names = instances_mode(clean_exchange, limits, egress)
    links = in_process_budgets(mode)
    assert bool(links) is shared_budget
    factory = ExecutionInterfaceFactory()
    with scoped_environ(live_environ):
        workers = [VenueWorker(factory.create_position_interface(n, "live", mode),
                               metrics=Metrics(), budget=links.get(n)) for n in names]
        clean_exchange.set_limits("binance", limits)
        asyncio.run(hammer_in_process(workers, 2 * WINDOW_S))
    violations = clean_exchange.violations("binance")
    print(f"\nin one process, shared={shared_budget}: {violations} violations, "
          f"statuses {clean_exchange.statuses('binance')}")
    assert (violations == 0) is shared_budget
