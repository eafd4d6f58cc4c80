"""Memory of each venue actor of the demo stack: USS, PSS and RSS, beside an idle Ray worker.

Starts the sandbox exchange emulator (its own process), anvil with the sandbox deployed and a
new local Ray (``num_cpus=2``, no dashboard), spawns the seven venue actors of the demo stack
(``binance``, ``bybit``, ``okx``, ``aave_v3``, ``lido``, ``etherfi``, ``wallet``) through
`VenueActorFactory.spawn_position_actors`, runs each actor's one-time setup, takes
``--settle`` snapshots of every venue (all must be ``ok``) so the actors are warm, then reads
each actor's memory with psutil on its process (pid from ``VenuePositionActor.ping()``):

- ``uss_mb``: memory unique to the process (`psutil.Process.memory_full_info().uss`), what
  one more actor of that kind costs the machine;
- ``pss_mb``: shared pages split between the processes sharing them;
- ``rss_mb``: resident pages, shared ones counted in full.

In the same run, for comparison: ``idle_worker``, an actor that holds nothing and has
deserialised one mode config (what Ray and the config models cost any actor: Ray's first
deserialisation in a worker imports pyarrow and numpy when pyarrow is installed),
``idle_worker_no_argument``, one that was never sent an argument, and
``before``, a ``binance`` venue actor whose process imports all of ``ccxt.async_support``
before it is built, as every CEX actor did before the exchange class was loaded alone
(`factory.interfaces.cex.ccxt_import`). ``libraries`` lists which of pandas, pyarrow and
numpy each process has mapped (their compiled libraries in ``/proc/<pid>/maps``).

Prints one JSON object (medians and maxima per kind: ``cex``, ``onchain``, ``transfer``)::

    .venv/bin/python tests/bench/bench_venue_memory.py [--settle 10]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench._stack import emit, exchange_emulator, local_ray, machine, sandbox_chain

KINDS = {"binance": "cex", "bybit": "cex", "okx": "cex", "aave_v3": "onchain",
         "lido": "onchain", "etherfi": "onchain", "wallet": "transfer"}
VENUES = list(KINDS)
LIBRARIES = ("pandas", "pyarrow", "numpy")


class IdleActor:
    """An actor that holds nothing: Ray's worker plus one deserialised argument."""

    def take(self, value: Any) -> str:
        return type(value).__name__

    def ping(self) -> int:
        return os.getpid()


class BeforeVenueActor:
    """A venue actor in a process that imported all of ccxt first (the cost before)."""

    def __init__(self, venue: str, mode: Any):
        import ccxt.async_support  # noqa: F401 - the whole package, as the old import did

        from actors.venue_actor import VenuePositionActor

        self.inner = VenuePositionActor(venue, "live", mode)

    async def prepare(self, deadline_s: float) -> str | None:
        return await self.inner.prepare(deadline_s)

    async def snapshot(self, timestamp: Any, deadline_s: float) -> Any:
        return await self.inner.snapshot(timestamp, deadline_s)

    def ping(self) -> int:
        return os.getpid()


def memory(pid: int) -> dict[str, Any]:
    """USS, PSS and RSS of a process in MB, and the heavy libraries it has mapped."""
    import psutil

    info = psutil.Process(pid).memory_full_info()
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {"uss_mb": round(info.uss / 2**20, 1), "pss_mb": round(info.pss / 2**20, 1),
            "rss_mb": round(info.rss / 2**20, 1),
            "libraries": [lib for lib in LIBRARIES if f"/site-packages/{lib}/" in maps]}


def per_kind(actors: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Median and max of each figure per kind of venue."""
    out: dict[str, dict[str, float]] = {}
    for kind in sorted(set(KINDS.values())):
        rows = [a for v, a in actors.items() if KINDS[v] == kind]
        out[kind] = {"n": len(rows)}
        for key in ("uss_mb", "pss_mb", "rss_mb"):
            values = [r[key] for r in rows]
            out[kind][f"{key}_median"] = round(statistics.median(values), 1)
            out[kind][f"{key}_max"] = max(values)
    return out


def warm(ray: Any, handles: dict[str, Any], settle: int, deadline_s: float) -> dict[str, list]:
    """Run every actor's setup, then ``settle`` rounds of snapshots; statuses per venue."""
    setup = dict(zip(handles, ray.get([h.prepare.remote(30.0) for h in handles.values()],
                                      timeout=120)))
    failed = {v: e for v, e in setup.items() if e is not None}
    if failed:
        raise RuntimeError(f"venue setup failed: {failed}")
    statuses: dict[str, list] = {v: [] for v in handles}
    for _ in range(settle):
        snaps = ray.get([h.snapshot.remote(None, deadline_s) for h in handles.values()],
                        timeout=120)
        for venue, snap in zip(handles, snaps):
            statuses[venue].append(snap.status)
    return statuses


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--settle", type=int, default=10, help="snapshots per venue before measuring")
    ap.add_argument("--deadline", type=float, default=10.0, help="seconds per snapshot")
    args = ap.parse_args(argv)

    from actors.spawn import VenueActorFactory
    from factory.config import resolve_config
    from factory.sandbox.chain import sandbox_environ, venue_settings_for

    out: dict[str, Any] = {"benchmark": "venue_memory", "machine": machine(), "venues": VENUES,
                           "settle": args.settle}
    with contextlib.ExitStack() as stack:
        emu = stack.enter_context(exchange_emulator())
        _node, sandbox = stack.enter_context(sandbox_chain())
        env: dict[str, str] = {}
        for venue in ("binance", "bybit", "okx"):
            env.update(emu.env(venue))
        env.update(sandbox_environ(sandbox, [sandbox.users[0]]))
        mode = resolve_config({
            "mode": "bench_venue_memory", "venues": VENUES,
            "venue_settings": {k: v for k, v in venue_settings_for(sandbox).items()
                               if k in VENUES},
        })
        ray = stack.enter_context(local_ray(env))

        bare = ray.remote(IdleActor).options(num_cpus=0).remote()
        bare_pid = ray.get(bare.ping.remote(), timeout=120)
        idle = ray.remote(IdleActor).options(num_cpus=0).remote()
        ray.get(idle.take.remote(mode), timeout=120)
        handles = VenueActorFactory.spawn_position_actors(VENUES, "live", mode)
        missing = [v for v, h in handles.items() if h is None]
        if missing:
            raise RuntimeError(f"venue actors not started: {missing}")
        statuses = warm(ray, handles, args.settle, args.deadline)
        not_ok = {v: s for v, s in statuses.items() if set(s) != {"ok"}}
        if not_ok:
            raise RuntimeError(f"snapshots not ok: {not_ok}")
        actors = {v: memory(ray.get(h.ping.remote(), timeout=60)) for v, h in handles.items()}

        before = ray.remote(BeforeVenueActor).options(num_cpus=0).remote("binance", mode)
        warm(ray, {"binance": before}, args.settle, args.deadline)
        out["idle_worker"] = memory(ray.get(idle.ping.remote(), timeout=60))
        out["idle_worker_no_argument"] = memory(bare_pid)
        out["before"] = {"binance": memory(ray.get(before.ping.remote(), timeout=60))}
        out["venue_actor"] = actors
        out["per_kind"] = per_kind(actors)
        out["over_idle_uss_mb"] = {v: round(a["uss_mb"] - out["idle_worker"]["uss_mb"], 1)
                                   for v, a in actors.items()}
        for h in [*handles.values(), bare, idle, before]:
            with contextlib.suppress(Exception):
                ray.kill(h)
    out["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    emit(out)
    return out


if __name__ == "__main__":
    main()
