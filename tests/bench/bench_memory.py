"""Memory and start-up of the live stack: 7 venues on the sandboxes.

Venues ``binance``, ``bybit``, ``okx`` (exchange emulator, its own process) and ``aave_v3``,
``etherfi``, ``lido``, ``wallet`` (anvil with the sandbox deployed). Ray is started first
(``num_cpus=2``, no dashboard); then, ``--repeat`` times:

- ``first_complete_s``: from the start of ``EventDrivenStrategyEngine(config, "live", ...)``
  to the return of the first ``get_real_positions`` that is ``complete`` (snapshots are asked
  back to back from the start; the monitor's deadline is 2 s). The engine's constructor time
  and the first answer of any kind are reported beside it;
  Beside it, per venue: when its process started (negative: a worker Ray had pre-started) and
  the first snapshot in which it was ``ok``, and the CPU seconds each actor process had used
  by the first complete snapshot (all of it since the process started, pre-started or not);
- after 20 more snapshots: RSS (VmRSS, shared pages counted in full) and PSS (shared pages
  split between their users) of each venue actor (pid from ``VenuePositionActor.ping()``), of
  the monitor, and of the whole stack = this driver + every process below it (gcs_server,
  raylet, Ray's helper processes, idle and actor workers), without the emulator and anvil,
  which stand for the venues. The stack's RSS sum counts shared pages once per process; PSS
  sums to the real footprint. ``without_driver`` leaves out this driver (it also deployed the
  sandbox contracts, so it holds web3 and the compiler's output: more than an engine's CLI);
- the engine is shut down before the next repeat (its actors' processes exit).

Prints one JSON object::

    .venv/bin/python tests/bench/bench_memory.py [--quick] [--repeat 3]
"""

from __future__ import annotations

import argparse
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
    cpu_s,
    descendants,
    emit,
    exchange_emulator,
    local_ray,
    machine,
    proc_name,
    pss_kb,
    rss_kb,
    sandbox_chain,
    started_s,
    stop_engine,
    stop_on_sigterm,
    uptime_s,
)

VENUES = ["binance", "bybit", "okx", "aave_v3", "etherfi", "lido", "wallet"]
DEADLINE_S = 2.0


def mb(kb: float) -> float:
    return round(kb / 1024, 1)


def stack_memory(exclude: set[int]) -> dict:
    """RSS and PSS of this driver and every process below it, except ``exclude``."""
    me = os.getpid()
    pids = [me] + [p for p in descendants(me) if p not in exclude]
    groups: dict[str, dict] = {}
    total_rss = total_pss = 0
    for pid in pids:
        name = "driver" if pid == me else proc_name(pid)
        rss, pss = rss_kb(pid), pss_kb(pid)
        g = groups.setdefault(name, {"count": 0, "rss_mb": 0.0, "pss_mb": 0.0})
        g["count"] += 1
        g["rss_mb"] = round(g["rss_mb"] + rss / 1024, 1)
        g["pss_mb"] = round(g["pss_mb"] + pss / 1024, 1)
        total_rss += rss
        total_pss += pss
    driver = groups.get("driver", {"rss_mb": 0.0, "pss_mb": 0.0})
    return {"processes": len(pids), "rss_mb": mb(total_rss), "pss_mb": mb(total_pss),
            "without_driver": {"rss_mb": round(mb(total_rss) - driver["rss_mb"], 1),
                               "pss_mb": round(mb(total_pss) - driver["pss_mb"], 1)},
            "by_process": dict(sorted(groups.items(), key=lambda kv: -kv[1]["rss_mb"]))}


def one_start(ray, mode, tmp: str, i: int, exclude: set[int], settle: int) -> dict:
    from actors.engine import EventDrivenStrategyEngine

    boot_t0 = uptime_s()
    t0 = time.perf_counter()
    engine = EventDrivenStrategyEngine(mode, "live", store_path=f"{tmp}/history-{i}.sqlite")
    try:
        constructed = time.perf_counter() - t0
        first_any = None
        first_ok: dict[str, float] = {}
        while True:
            snap = ray.get(engine.position_monitor.get_real_positions.remote(None), timeout=60)
            now = time.perf_counter() - t0
            first_any = first_any if first_any is not None else now
            for v, s in snap.venues.items():
                if s.status == "ok":
                    first_ok.setdefault(v, round(now, 3))
            if snap.complete:
                break
            if now > 120:
                raise RuntimeError(f"no complete snapshot in 120 s: missing {snap.missing}, "
                                   f"{ {v: s.status for v, s in snap.venues.items()} }")
        first_complete = time.perf_counter() - t0
        actors = {v: ray.get(engine.venue_actors[v].ping.remote()) for v in VENUES}
        monitor_pid = ray.get(engine.position_monitor.pid.remote())
        cpu = {n: round(cpu_s(p), 2) for n, p in {**actors, "monitor": monitor_pid}.items()}
        for _ in range(settle):
            ray.get(engine.position_monitor.get_real_positions.remote(None), timeout=60)
        per_actor = {v: {"rss_mb": mb(rss_kb(p)), "pss_mb": mb(pss_kb(p))}
                     for v, p in actors.items()}
        pids = {**actors, "monitor": monitor_pid}
        return {
            "engine_constructor_s": round(constructed, 3),
            "first_answer_s": round(first_any, 3),
            "first_complete_s": round(first_complete, 3),
            "first_ok_s": first_ok,
            "process_started_s": {n: round(started_s(p) - boot_t0, 2) for n, p in pids.items()},
            "cpu_s_at_first_complete": {**cpu, "total": round(sum(cpu.values()), 2)},
            "venue_actor": per_actor,
            "venue_actor_rss_mb_max": max(a["rss_mb"] for a in per_actor.values()),
            "monitor": {"rss_mb": mb(rss_kb(monitor_pid)), "pss_mb": mb(pss_kb(monitor_pid))},
            "stack": stack_memory(exclude),
        }
    finally:
        stop_engine(engine)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one start (smoke run)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--settle", type=int, default=20, help="snapshots before measuring memory")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeat, args.settle = 1, 5
    stop_on_sigterm()
    from factory.config import resolve_config
    from factory.sandbox.chain import sandbox_environ, venue_settings_for

    out: dict = {"benchmark": "memory", "machine": machine(), "venues": VENUES,
                 "deadline_s": DEADLINE_S, "starts": []}
    with contextlib.ExitStack() as stack:
        emu = stack.enter_context(exchange_emulator())
        node, sandbox = stack.enter_context(sandbox_chain())
        env: dict[str, str] = {}
        for venue in ("binance", "bybit", "okx"):
            env.update(emu.env(venue))
        env.update(sandbox_environ(sandbox, [sandbox.users[0]]))
        mode = resolve_config({
            "mode": "bench_memory", "venues": VENUES, "monitor": {"deadline_s": DEADLINE_S},
            "venue_settings": {k: v for k, v in venue_settings_for(sandbox).items()
                               if k in VENUES},
        })
        exclude = {emu.pid, node._proc.pid if node._proc else -1}
        ray = stack.enter_context(local_ray(env))
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        time.sleep(3)  # let Ray's prestarted workers finish starting
        out["ray_alone"] = stack_memory(exclude)
        for i in range(args.repeat):
            out["starts"].append(one_start(ray, mode, tmp, i, exclude, args.settle))
            time.sleep(2)  # the killed actors' processes exit
    starts = out["starts"]
    out["summary"] = {
        "first_complete_s_median": round(statistics.median(s["first_complete_s"]
                                                           for s in starts), 3),
        "first_complete_s_all": [s["first_complete_s"] for s in starts],
        "venue_actor_rss_mb_max_median": statistics.median(s["venue_actor_rss_mb_max"]
                                                           for s in starts),
        "stack_rss_mb_median": statistics.median(s["stack"]["rss_mb"] for s in starts),
        "stack_pss_mb_median": statistics.median(s["stack"]["pss_mb"] for s in starts),
    }
    out["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    emit(out)
    return out


if __name__ == "__main__":
    main()
