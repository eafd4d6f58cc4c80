"""Monitor fan-out: snapshot latency over 10 sandbox CEX venues vs fetching them one by one.

Ten venues on the exchange emulator: ``binance``, ``bybit``, ``okx`` and ``cex4``..``cex10``
(copies of the three venue configs under other ids, each reading the emulator's account of its
``ccxt_id`` with its own ``BASIS_CEX<N>_API_*`` credentials), one venue actor each, the live
engine's PositionMonitor over them (deadline 2 s). Each venue answers after L ms: a latency
fault of L ms on its first request of a snapshot (the first wallet read, which the rest of the
snapshot waits for), so one venue snapshot takes L plus its own work.

Per L, in rounds that alternate the settings (so a change of machine load hits all alike):

- ``monitor``: ``get_real_positions`` from the driver, one after another (driver's wall time:
  Ray hops, fan-out, aggregation, alerts and the SQLite write of the history);
- ``sequential``: the same ten venues fetched one after another in this process, each through a
  `VenueWorker` (the actor's plain class: limiter, retries), and each venue's own fetch time;
- ``gathered``: the same ten fetches concurrently in this process (asyncio, no Ray).

``overhead_ms`` = monitor p50 minus the p50 of the slowest single venue fetched alone in this
process at the same L: what the monitor adds on top of the venue it has to wait for anyway.
``overhead_vs_gathered_ms`` = monitor p50 minus the gathered p50: what Ray and the monitor add
over the same ten concurrent fetches without them. ``cpu_ms_per_monitor_snapshot`` is the CPU
time each group of processes used per monitor snapshot (/proc utime+stime): with 2 cores, half
the total is a floor under the snapshot's wall time, however well it is spread.

Rate limits are lifted on both sides (client ``limit_scale`` 100, emulator pools x1000): this
measures latency, not throttling (see bench_ratelimit.py). Prints one JSON object::

    .venv/bin/python tests/bench/bench_fanout.py [--quick] [--rounds 3] [--snapshots 40]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench._stack import (
    cex_clone,
    cpu_s,
    descendants,
    emit,
    environ,
    exchange_emulator,
    local_ray,
    machine,
    stats_ms,
    stop_engine,
    stop_on_sigterm,
)

#: the extra venues and the emulator account each reads
CLONES = {"cex4": "binance", "cex5": "bybit", "cex6": "okx", "cex7": "binance",
          "cex8": "bybit", "cex9": "okx", "cex10": "binance"}
VENUES = ["binance", "bybit", "okx", *CLONES]
#: the first request of a snapshot per emulator venue (the first wallet of its config)
FIRST_REQUEST = {"binance": "/api/v3/account", "bybit": "/v5/account/wallet-balance",
                 "okx": "/api/v5/account/balance"}
DEADLINE_S = 2.0
LIMIT_SCALE = 100.0


def build_mode(emu):
    """The 10-venue live mode and the environment its venue actors need."""
    from factory.config import resolve_config

    env: dict[str, str] = {}
    settings = {}
    for venue in ("binance", "bybit", "okx"):
        env.update(emu.env(venue))
    for venue, ccxt_id in CLONES.items():
        settings[venue], clone_env = cex_clone(emu, venue, ccxt_id)
        env.update(clone_env)
    mode = resolve_config({"mode": "bench_fanout", "venues": VENUES,
                           "monitor": {"deadline_s": DEADLINE_S}, "venue_settings": settings})
    return mode, env


def lift_emulator_limits(emu) -> None:
    from factory.config import venue_defaults
    from factory.sandbox.exchange import scaled_limits

    for venue in FIRST_REQUEST:
        emu.admin.set_limits(venue, scaled_limits(venue_defaults()[venue].rate_limits, 1000.0))


def set_latency(emu, latency_ms: float) -> None:
    from factory.sandbox.exchange import Fault

    for venue, path in FIRST_REQUEST.items():
        emu.admin.clear_faults(venue)
        if latency_ms > 0:
            emu.admin.inject(venue, Fault(kind="latency", delay_s=latency_ms / 1000.0,
                                          path_prefix=path))


class InProcess:
    """The ten venues fetched in this process through `VenueWorker`s (no Ray)."""

    def __init__(self, mode):
        from actors.metrics import Metrics
        from actors.venue import VenueWorker
        from factory.execution_interface_factory import ExecutionInterfaceFactory

        self.workers = {
            v: VenueWorker(ExecutionInterfaceFactory.create_position_interface(v, "live", mode),
                           metrics=Metrics(ray=False), limit_scale=LIMIT_SCALE)
            for v in VENUES
        }

    async def one(self, venue: str) -> float:
        t0 = time.perf_counter()
        snap = await self.workers[venue].snapshot(None, DEADLINE_S)
        if snap.status != "ok":
            raise RuntimeError(f"{venue}: {snap.status} {snap.error}")
        return time.perf_counter() - t0

    async def sequential(self) -> tuple[float, dict[str, float]]:
        t0 = time.perf_counter()
        each = {v: await self.one(v) for v in self.workers}
        return time.perf_counter() - t0, each

    async def gathered(self) -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*(self.one(v) for v in self.workers))
        return time.perf_counter() - t0

    async def close(self) -> None:
        for w in self.workers.values():
            await w.interface.close()


class CpuMeter:
    """CPU seconds used by groups of processes (the emulator, venue actors, the monitor, the
    rest of the Ray session, this driver) between two readings."""

    def __init__(self, groups: dict[str, list[int]]):
        known = {p for pids in groups.values() for p in pids} | {os.getpid()}
        rest = [p for p in descendants(os.getpid()) if p not in known]
        self.groups = {**groups, "ray_system_and_idle_workers": rest, "driver": [os.getpid()]}

    def read(self) -> dict[str, float]:
        return {g: sum(cpu_s(p) for p in pids) for g, pids in self.groups.items()}

    @staticmethod
    def per_item_ms(before: dict[str, float], after: dict[str, float], n: int) -> dict:
        out = {g: round((after[g] - before[g]) * 1000 / n, 2) for g in before}
        out["total"] = round(sum(out.values()), 2)
        return out


def monitor_block(ray, monitor, n: int) -> tuple[list[float], list[float], int]:
    """n snapshots one after another: driver wall times, monitor-side latencies, incomplete."""
    wall, inside, incomplete = [], [], 0
    for _ in range(n):
        t0 = time.perf_counter()
        snap = ray.get(monitor.get_real_positions.remote(None), timeout=30)
        wall.append(time.perf_counter() - t0)
        inside.append(snap.latency_s)
        incomplete += not snap.complete
    return wall, inside, incomplete


def run(args) -> dict:
    import ray as _ray  # noqa: F401 - imported before the stack for a clean error

    from actors.engine import EventDrivenStrategyEngine

    latencies = [float(x) for x in args.latencies.split(",")]
    out: dict = {"benchmark": "fanout", "machine": machine(), "venues": VENUES,
                 "deadline_s": DEADLINE_S, "rounds": args.rounds,
                 "snapshots_per_round": args.snapshots, "sequential_per_round": args.sequential}
    with contextlib.ExitStack() as stack:
        emu = stack.enter_context(exchange_emulator())
        lift_emulator_limits(emu)
        mode, env = build_mode(emu)
        ray = stack.enter_context(local_ray(env))
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        engine = EventDrivenStrategyEngine(mode, "live", store_path=f"{tmp}/history.sqlite",
                                           limit_scale=LIMIT_SCALE)
        stack.callback(stop_engine, engine)
        monitor = engine.position_monitor
        deadline = time.monotonic() + 120
        while not ray.get(monitor.get_real_positions.remote(None), timeout=60).complete:
            if time.monotonic() > deadline:
                raise RuntimeError("no complete snapshot within 120 s")
        monitor_block(ray, monitor, 5)  # warm-up
        loop = asyncio.new_event_loop()
        stack.callback(loop.close)
        stack.enter_context(environ(env))
        local = InProcess(mode)
        stack.callback(lambda: loop.run_until_complete(local.close()))
        loop.run_until_complete(local.sequential())  # load_markets, warm-up
        loop.run_until_complete(local.gathered())

        meter = CpuMeter({
            "emulator": [emu.pid],
            "venue_actors": [ray.get(ray.get_actor(f"venue:{v}").ping.remote()) for v in VENUES],
            "monitor": [ray.get(monitor.pid.remote())],
        })
        raw = {L: {"monitor": [], "inside": [], "incomplete": 0, "sequential": [],
                   "gathered": [], "venue": {v: [] for v in VENUES}, "round_p50": [],
                   "cpu": []} for L in latencies}
        for _ in range(args.rounds):
            for L in latencies:
                r = raw[L]
                set_latency(emu, L)
                monitor_block(ray, monitor, 2)  # the fault is in place for every venue
                before = meter.read()
                wall, inside, incomplete = monitor_block(ray, monitor, args.snapshots)
                r["cpu"].append(CpuMeter.per_item_ms(before, meter.read(), args.snapshots))
                r["monitor"] += wall
                r["inside"] += inside
                r["incomplete"] += incomplete
                r["round_p50"].append(round(statistics.median(wall) * 1000, 2))
                for _ in range(args.sequential):
                    total, each = loop.run_until_complete(local.sequential())
                    r["sequential"].append(total)
                    for v, s in each.items():
                        r["venue"][v].append(s)
                    r["gathered"].append(loop.run_until_complete(local.gathered()))
        set_latency(emu, 0)

        settings = {}
        for L, r in raw.items():
            per_venue = {v: stats_ms(s)["p50"] for v, s in r["venue"].items()}
            slowest = max(per_venue, key=per_venue.get)
            mon = stats_ms(r["monitor"])
            gathered = stats_ms(r["gathered"])
            cpu = {g: round(statistics.median(c[g] for c in r["cpu"]), 2) for g in r["cpu"][0]}
            settings[f"{L:g}ms"] = {
                "latency_ms": L,
                "monitor": mon,
                "monitor_round_p50s": r["round_p50"],
                "monitor_inside_fanout": stats_ms(r["inside"]),
                "incomplete_snapshots": r["incomplete"],
                "sequential": stats_ms(r["sequential"]),
                "gathered_in_process": gathered,
                "venue_p50_ms": per_venue,
                "slowest_venue": slowest,
                "overhead_ms": round(mon["p50"] - per_venue[slowest], 2),
                "overhead_vs_gathered_ms": round(mon["p50"] - gathered["p50"], 2),
                "cpu_ms_per_monitor_snapshot": cpu,
                "speedup_vs_sequential": round(stats_ms(r["sequential"])["p50"] / mon["p50"], 1),
            }
        out["settings"] = settings
        out["emulator_violations"] = emu.admin.violations()
        limiter = [ray.get(ray.get_actor(f"venue:{v}").status.remote())["limiter"]["waited_s"]
                   for v in VENUES]
        out["actor_limiter_waited_s"] = round(sum(limiter), 3)
    out["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 round of 15 snapshots (smoke run)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--snapshots", type=int, default=40, help="monitor snapshots per round and L")
    ap.add_argument("--sequential", type=int, default=8,
                    help="in-process sequential (and gathered) passes per round and L")
    ap.add_argument("--latencies", default="0,100", help="venue latencies in ms")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds, args.snapshots, args.sequential = 1, 15, 3
    stop_on_sigterm()
    result = run(args)
    emit(result)
    return result


if __name__ == "__main__":
    main()
