"""Sweep speedup: the same scenarios serially in this process, then fanned out on a local Ray.

Prints one JSON object (serial seconds, sweep seconds, speedup, fingerprints equal)::

    .venv/bin/python -m tests.bench.bench_sweep [--sweep configs/sweeps/basis_grid.yaml]
        [--data DIR] [--cpus N]

The sweep time includes starting the SimulatorActors and putting the data in the object store,
not starting Ray itself.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from actors.backtest.data.load import load_market
from actors.backtest.simulator import Simulator
from actors.backtest.sweep import expand, load_sweep, run_sweep
from factory.data import MARKET_DIR

REPO = Path(__file__).resolve().parents[2]


def default_data() -> str:
    return str(MARKET_DIR)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", default=str(REPO / "configs" / "sweeps" / "basis_grid.yaml"))
    ap.add_argument("--data", default=default_data())
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args(argv)
    market = load_market(args.data)
    scenarios = expand(load_sweep(Path(args.sweep)))

    t = time.perf_counter()
    serial = {s.id: Simulator(s.config, market, s.start, s.end).run() for s in scenarios}
    serial_s = time.perf_counter() - t

    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    try:
        t = time.perf_counter()
        swept = run_sweep(scenarios, market)
        sweep_s = time.perf_counter() - t
        t = time.perf_counter()
        again = run_sweep(scenarios, market)
        again_s = time.perf_counter() - t
    finally:
        ray.shutdown()
    steps = sum(r.steps for r in serial.values())
    out = {
        "sweep": Path(args.sweep).name, "data": args.data, "scenarios": len(scenarios),
        "total_steps": steps, "cpus": args.cpus, "actors": swept.actors,
        "serial_s": round(serial_s, 3), "sweep_s": round(sweep_s, 3),
        "sweep_again_s": round(again_s, 3),
        "speedup": round(serial_s / sweep_s, 2),
        "speedup_again": round(serial_s / again_s, 2),
        "fingerprints_equal_serial":
            swept.fingerprints() == {k: r.fingerprint for k, r in serial.items()},
        "fingerprints_equal_rerun": swept.fingerprints() == again.fingerprints(),
    }
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
