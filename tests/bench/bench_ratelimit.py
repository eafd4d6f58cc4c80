"""Rate-limit efficiency: weight used / weight allowed over a burst, and violations.

One binance venue actor (started by the live engine) is kept busy for ``--duration`` seconds
(60 by default) with 8 snapshot calls in flight, against the exchange emulator enforcing scaled
binance pools that the actor's limiter is configured with too (the same `RateLimits` on both
sides, as in production where the config carries the published limits):

- ``scaled``: every binance pool x0.1 weight over a window /6, i.e. spot 600 and USD-M futures
  240 weight per 10 s. A snapshot costs 21 spot (account 20 + time 1) and 10 futures weight
  (account 5 + positionRisk 5), so futures is the binding pool (24 snapshots per window) and
  spot cannot exceed 504/600 = 84 %;
- ``burst_test``: the pools of tests/integration/test_monitor_limits_secrets.py, spot 210 and
  futures 100 per 2 s: both pools bind (10 snapshots per window).

The burst starts on a window boundary of the emulator's fixed windows; ``used`` counts the
weight of every request the emulator accepted in the windows lying wholly inside the burst,
``allowed`` is the pool's limit times those windows. ``efficiency`` is the binding pool's
used/allowed (more could not have been sent without exceeding it). Prints one JSON object::

    .venv/bin/python tests/bench/bench_ratelimit.py [--quick] [--duration 60]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench._stack import (
    emit,
    exchange_emulator,
    local_ray,
    machine,
    stop_engine,
    stop_on_sigterm,
)

IN_FLIGHT = 8
#: a binance snapshot's weight per pool (checked against the emulator's log in the result)
SNAPSHOT_WEIGHT = {"spot_weight": 21.0, "fapi_weight": 10.0}


def pool_limits(name: str):
    from factory.config import venue_defaults
    from factory.sandbox.exchange import scaled_limits

    limits = venue_defaults()["binance"].rate_limits
    if name == "scaled":
        return scaled_limits(limits, 0.1, 1 / 6)
    sizes = {"spot_weight": 210.0, "fapi_weight": 100.0}
    pools = [p.model_copy(update={"limit": sizes[p.name], "window_s": 2.0})
             if p.name in sizes else p for p in limits.pools]
    return limits.model_copy(update={"pools": pools})


def fixed_window_use(records, limits, t0: float, t1: float) -> dict:
    """Per pool: weight used in the fixed windows lying wholly inside [t0, t1] (``t0`` is a
    window boundary of the slowest pool, where the burst started)."""
    out = {}
    for pool in limits.pools:
        if pool.name not in SNAPSHOT_WEIGHT:
            continue
        paths = {e.path for e in limits.endpoints if pool.name in e.pools}
        w = pool.window_s
        start = math.ceil(t0 / w - 1e-9) * w
        windows = []
        while start + w <= t1 + 1e-9:
            windows.append(sum(r.weight for r in records
                               if r.path in paths and r.status == 200
                               and start <= r.time < start + w))
            start += w
        allowed = pool.limit * len(windows)
        out[pool.name] = {
            "limit": pool.limit, "window_s": round(w, 3), "windows": len(windows),
            "used": sum(windows), "allowed": allowed,
            "used_over_allowed": round(sum(windows) / allowed, 4) if allowed else None,
            "max_window": max(windows, default=0.0), "min_window": min(windows, default=0.0),
            "per_window": windows,
        }
    return out


def burst(ray, emu, name: str, duration_s: float, tmp: str) -> dict:
    from actors.engine import EventDrivenStrategyEngine
    from factory.config import resolve_config

    limits = pool_limits(name)
    emu.admin.reset()
    emu.admin.set_limits("binance", limits)
    mode = resolve_config({"mode": f"bench_rl_{name}", "venues": ["binance"],
                           "venue_settings": {"binance": {"rate_limits":
                                                          limits.model_dump(mode="json")}}})
    engine = EventDrivenStrategyEngine(mode, "live", store_path=f"{tmp}/{name}.sqlite")
    try:
        actor = engine.venue_actors["binance"]
        ray.get(actor.snapshot.remote(None, 60), timeout=120)  # load_markets and warm-up
        window = max(p.window_s for p in limits.pools if p.name in SNAPSHOT_WEIGHT)
        time.sleep(window)  # the warm-up's weight leaves the client's and the server's windows
        before = ray.get(actor.status.remote())["limiter"]
        # start on a boundary of the emulator's fixed windows (emulator time is epoch time)
        boundary = math.ceil(time.time() / window) * window
        time.sleep(max(0.0, boundary - time.time()))
        t0 = time.time()
        pending = [actor.snapshot.remote(None, 60) for _ in range(IN_FLIGHT)]
        done_count, errors = 0, []
        while time.time() - t0 < duration_s:
            done, pending = ray.wait(pending, num_returns=1, timeout=5)
            for ref in done:
                try:
                    ray.get(ref)
                    done_count += 1
                except Exception as exc:  # noqa: BLE001 - counted and reported
                    errors.append(type(exc).__name__)
                pending.append(actor.snapshot.remote(None, 60))
        t1 = time.time()
        for ref in pending:
            try:
                ray.get(ref, timeout=120)
            except Exception as exc:  # noqa: BLE001
                errors.append(type(exc).__name__)
        after = ray.get(actor.status.remote())["limiter"]
        records = emu.admin.requests("binance")
        burst_records = [r for r in records if t0 <= r.time <= t1]
        pools = fixed_window_use(burst_records, limits, boundary, t1)
        binding = max(pools, key=lambda p: pools[p]["used_over_allowed"] or 0.0)
        statuses: dict[str, int] = {}
        for r in records:
            statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
        return {
            "pools": pools,
            "binding_pool": binding,
            "efficiency": pools[binding]["used_over_allowed"],
            "violations": emu.admin.violations()["binance"],
            "statuses": statuses,
            "snapshots_done_in_burst": done_count,
            "snapshots_per_s": round(done_count / (t1 - t0), 2),
            "errors": errors,
            "limiter_waited_s": round(after["waited_s"] - before["waited_s"], 2),
            "limiter_requests": after["requests"] - before["requests"],
            "client_saw_429": after["server_429"] - before["server_429"],
            "burst_s": round(t1 - t0, 2),
        }
    finally:
        stop_engine(engine)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="12 s bursts (smoke run)")
    ap.add_argument("--duration", type=float, default=60.0, help="burst length in seconds")
    ap.add_argument("--pools", default="scaled,burst_test")
    args = ap.parse_args(argv)
    if args.quick:
        args.duration = 12.0
    stop_on_sigterm()
    out: dict = {"benchmark": "ratelimit", "machine": machine(), "duration_s": args.duration,
                 "in_flight": IN_FLIGHT, "bursts": {}}
    with contextlib.ExitStack() as stack:
        emu = stack.enter_context(exchange_emulator())
        ray = stack.enter_context(local_ray(emu.env("binance")))
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        for name in args.pools.split(","):
            out["bursts"][name] = burst(ray, emu, name, args.duration, tmp)
    out["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    emit(out)
    return out


if __name__ == "__main__":
    main()
