"""`basis monitor --once`: wall time of one complete snapshot from a cold command.

The demo's sandbox (exchange emulator with binance, bybit, okx; anvil with AAVE v3, ether.fi,
Lido and the desk's wallet) serves a seven-venue mode. Per round, in alternation (so a change of
machine load hits both alike):

- ``once``: ``basis monitor MODE --once --json`` as a new process, the way a script runs it:
  Python start, config checks, the seven venue workers and the monitor in that process
  (`actors.once`, no Ray), their clients and one-time checks, one snapshot, the history row.
  The run must exit 0 with a complete snapshot, or the benchmark fails.
- ``ray_only`` (the baseline): a new process that starts and stops the local Ray the monitor's
  actors would need (`actors.cli.ray_session.start_ray` / `stop_ray`) and does nothing else: the floor
  of any one-shot run that goes through actors.

``once_minus_ray_s`` (p50 of once minus p50 of ray_only) is negative when the whole in-process
snapshot costs less than starting Ray alone. The goal is a ``once`` p50 under 5 s on a quiet
machine (see the load average in ``machine``). Prints one JSON object::

    .venv/bin/python tests/bench/bench_monitor_once.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench._stack import REPO, emit, machine, stop_on_sigterm

BASIS = Path(sys.executable).with_name("basis")
RAY_ONLY = (
    "from actors.cli.ray_session import start_ray, stop_ray\n"
    "stop_ray(start_ray(None, num_cpus=2))\n"
)


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    stop_on_sigterm()
    from actors.cli.demo import VENUES
    from actors.cli.demo_sandbox import start_demo_sandbox

    facts = machine()
    once: list[float] = []
    ray_only: list[float] = []
    with start_demo_sandbox() as sandbox, tempfile.TemporaryDirectory() as tmp:
        mode = Path(tmp) / "once.yaml"
        mode.write_text(yaml.safe_dump({
            "mode": "bench_once", "venues": VENUES, "monitor": {"deadline_s": 2.0},
            "venue_settings": sandbox.venue_settings,
        }))
        env = {**os.environ, **sandbox.environ, "RAY_USAGE_STATS_ENABLED": "0",
               "PYTHONPATH": str(REPO)}
        for i in range(args.rounds):
            db = Path(tmp) / f"history-{i}.sqlite"
            seconds, out = _timed([str(BASIS), "monitor", str(mode), "--once", "--json",
                                   "--db", str(db)], env)
            if out.returncode != 0 or not json.loads(out.stdout).get("complete"):
                raise SystemExit(f"round {i}: monitor --once failed (exit {out.returncode}): "
                                 f"{out.stderr.strip()[-500:]}")
            once.append(seconds)
            seconds, out = _timed([sys.executable, "-c", RAY_ONLY], env)
            if out.returncode != 0:
                raise SystemExit(f"round {i}: Ray start failed: {out.stderr.strip()[-500:]}")
            ray_only.append(seconds)
    p50_once, p50_ray = statistics.median(once), statistics.median(ray_only)
    emit({
        "benchmark": "monitor_once",
        "machine": facts,
        "venues": VENUES,
        "rounds": args.rounds,
        "once_s": {"p50": round(p50_once, 2), "runs": [round(s, 2) for s in once]},
        "ray_only_s": {"p50": round(p50_ray, 2), "runs": [round(s, 2) for s in ray_only]},
        "once_minus_ray_s": round(p50_once - p50_ray, 2),
        "goal_once_p50_s": 5.0,
        "load_after": round(os.getloadavg()[0], 2),
    })


if __name__ == "__main__":
    main()
