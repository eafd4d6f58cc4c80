"""``basis demo``: the whole product on the embedded default, with no keys and no network.

1. Starts the sandbox: the exchange emulator (binance, bybit, okx accounts) and anvil with the
   ERC-20s, LST rate contracts and the real AAVE v3, and books a desk on both (a BTC basis trade
   and a staking hedge, see `actors.cli.demo_sandbox`).
2. Starts a local Ray with its dashboard and runs the live engine against the sandbox through the
   real ccxt and web3 clients, showing a refreshing terminal view.
3. Midway it injects an okx outage and a binance 429 burst, so the view shows the venues going
   stale and recovering.
4. Runs a short backtest sweep with a progress bar and writes its report.

Everything it started (Ray, anvil, the exchange emulator) is stopped on exit, on Ctrl-C, on
SIGTERM and on SIGHUP (a closed terminal).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path

from actors.cli.exits import EXIT_FAILURE, EXIT_OK
from actors.cli.io import exit_on_signals
from actors.cli.progress import progress_bar
from actors.cli.ray_session import LIVE_NUM_CPUS, start_ray, stop_ray

__all__ = ["DEFAULT_OUT", "DemoPhase", "register", "run_demo"]

#: Where the demo writes its history and sweep report without ``--out``.
DEFAULT_OUT = "reports/demo"
VENUES = ["binance", "bybit", "okx", "aave_v3", "etherfi", "lido", "wallet"]


@dataclass
class DemoPhase:
    """One step of the scripted demo: what it does, for how long."""

    name: str
    seconds: float
    start: str | None = None  # an action run when the phase starts
    events: list[str] = field(default_factory=list)


def _phases(quick: bool) -> list[DemoPhase]:
    k = 0.5 if quick else 1.0
    return [
        DemoPhase("steady", 6 * k),
        DemoPhase("okx outage (HTTP 503 on every request)", 8 * k, "okx_down"),
        DemoPhase("okx back", 5 * k, "okx_up"),
        DemoPhase("binance 429 burst (Retry-After 3 s)", 7 * k, "binance_429"),
        DemoPhase("steady", 4 * k, "all_clear"),
    ]


def _demo_mode(sandbox):
    from factory.config import resolve_config

    return resolve_config({
        "mode": "demo",
        "description": "sandbox BTC basis + ETH staking hedge",
        "venues": VENUES,
        "strategy": {"family": "hedged_staking", "underlying": "ETH"},
        "thresholds": {"min_health_factor": 1.2, "max_staleness_s": 4, "delta_tolerance": 0.01},
        "reconciliation": {"abs_tol": 0.001, "rel_tol": 0.001},
        "monitor": {"deadline_s": 1.5, "interval_s": 1.0},
        "venue_settings": sandbox.venue_settings,
    })


def _act(action: str | None, emulator) -> str | None:
    from factory.sandbox.exchange import Fault

    if action == "okx_down":
        emulator.inject("okx", Fault(kind="server_error", status=503))
        return "injected: okx answers 503 to every request"
    if action == "okx_up":
        emulator.clear_faults("okx")
        return "cleared: okx answers again"
    if action == "binance_429":
        emulator.inject("binance", Fault(kind="rate_limit", retry_after_s=3.0, count=2))
        return "injected: binance answers 429 with Retry-After 3 s (twice)"
    if action == "all_clear":
        emulator.clear_faults()
        return "cleared: every venue healthy"
    return None


def _status_line(t: float, snap) -> str:
    parts = []
    for name in VENUES:
        v = snap.venues.get(name)
        if v is None:
            parts.append(f"{name}=missing")
        elif v.status == "ok":
            parts.append(f"{name}=ok")
        else:
            parts.append(f"{name}={v.status}({v.age_s:.1f}s)")
    if "ETH" not in snap.net_exposure:
        net = "none"  # the book holds no ETH leg at all
    else:
        eth = snap.net_exposure["ETH"]
        net = "unknown" if eth is None else f"{eth:+.4f}"
    return f"t={t:5.1f}s complete={snap.complete!s:5} netETH={net} " + " ".join(parts)


def _watch(engine, phases, emulator, live_view: bool) -> dict[str, list[tuple[float, str]]]:
    """Run the scripted phases; return per venue the times it was seen stale and fresh."""
    from rich.console import Console
    from rich.live import Live

    from actors.view import render_snapshot

    console = Console()
    seen: dict[str, list[tuple[float, str]]] = {v: [] for v in VENUES}
    t0 = time.monotonic()
    log: list[str] = []
    live = Live(console=console, refresh_per_second=4, transient=False) if live_view else None
    if live:
        live.start()
    try:
        for phase in phases:
            note = _act(phase.start, emulator)
            if note:
                log.append(f"t={time.monotonic() - t0:5.1f}s {note}")
                if not live:
                    console.print(log[-1])
            end = time.monotonic() + phase.seconds
            while time.monotonic() < end:
                started = time.monotonic()
                snap = engine.get_real_positions(None, timeout_s=30)
                t = time.monotonic() - t0
                for name in VENUES:
                    v = snap.venues.get(name)
                    seen[name].append((t, v.status if v else "missing"))
                if live:
                    title = f"basis-monitor demo — {phase.name}"
                    from rich.console import Group
                    from rich.text import Text

                    live.update(Group(render_snapshot(snap, title=title),
                                      Text("\n".join(log[-6:]), style="cyan")))
                else:
                    print(_status_line(t, snap), flush=True)
                time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    finally:
        if live:
            live.stop()
    return seen


def _recovered(seen) -> list[str]:
    """Venues that were seen stale (or missing) after being fresh, then fresh again."""
    out = []
    for venue, marks in seen.items():
        states = [s for _, s in marks]
        if "ok" in states:
            first_ok = states.index("ok")
            rest = states[first_ok:]
            if any(s != "ok" for s in rest):
                bad = next(i for i, s in enumerate(rest) if s != "ok")
                if "ok" in rest[bad:]:
                    out.append(venue)
    return out


def _sweep(out_dir: Path, quick: bool) -> Path:
    """A short backtest sweep on the shipped market data, with a progress bar (Ray must be
    up); return the report's path."""
    from actors.backtest.data.load import load_market
    from actors.backtest.report import write_sweep_outputs
    from actors.backtest.sweep import expand, load_sweep, run_sweep
    from factory.config import config_dir
    from factory.data import MARKET_DIR

    path = Path(config_dir()) / "sweeps" / "basis_grid.yaml"
    cfg = load_sweep(path)
    scenarios = expand(cfg, base=path.parent, source=str(path))
    if quick:
        scenarios = scenarios[:8]
    market = load_market(MARKET_DIR)
    update, stop = progress_bar(len(scenarios))
    try:
        result = run_sweep(scenarios, market, progress=update,
                           reconcile_every_h=cfg.reconcile_every_h)
    finally:
        stop()
    paths = write_sweep_outputs(result, out_dir, title=f"demo: {cfg.name} on the shipped market data")
    return Path(paths["html"])


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo end to end (see the module docstring)."""
    with exit_on_signals():
        return _run_demo(args)


def _run_demo(args: argparse.Namespace) -> int:
    import ray
    from rich.console import Console

    from actors.cli.demo_sandbox import start_demo_sandbox
    from actors.engine import EventDrivenStrategyEngine
    from actors.view import render_snapshot

    console = Console()
    out_dir = Path(args.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    live_view = console.is_terminal and not args.plain
    console.print("[bold]basis-monitor demo[/bold]: starting the sandbox (exchange emulator, "
                  "anvil + AAVE v3)...")
    t_start = time.monotonic()
    with start_demo_sandbox() as sandbox:
        console.print(f"sandbox ready in {time.monotonic() - t_start:.1f} s: exchanges at "
                      f"{sandbox.emulator.url}, chain at {sandbox.chain.rpc_url}; desk "
                      f"{sandbox.desk} borrowed {sandbox.debt_weth:.4f} WETH against weETH")
        ray_start = None
        engine = None
        try:
            if not ray.is_initialized():
                # a new local Ray on 127.0.0.1; its worker processes inherit the sandbox's
                # endpoints and keys, the driver's environment is left as it was
                ray_start = start_ray(None, num_cpus=LIVE_NUM_CPUS,
                                      include_dashboard=True, environ=sandbox.environ,
                                      verbose=getattr(args, "verbose", False))
                url = ray_start.dashboard_url
                console.print(f"Ray dashboard: http://{url} (token auth: the token is in "
                              f"{Path.home() / '.ray' / 'auth_token'})" if url else
                              "Ray dashboard: not available in this install")
            mode = _demo_mode(sandbox)
            engine = EventDrivenStrategyEngine(mode, "live",
                                               store_path=str(out_dir / "history.sqlite"))
            t0 = time.monotonic()
            while True:
                snap = engine.get_real_positions(None, timeout_s=60)
                if snap.complete or time.monotonic() - t0 > 60:
                    break
            console.print(f"first complete snapshot after {time.monotonic() - t0:.1f} s "
                          f"({len(snap.venues)} venues)")
            engine.set_expected(snap.positions)
            seen = _watch(engine, _phases(args.quick), sandbox.emulator, live_view)
            final = engine.get_real_positions(None, timeout_s=60)
            console.print(render_snapshot(final, title="basis-monitor demo — final"))
            recovered = _recovered(seen)
            console.print(f"venues seen stale and recovered: {', '.join(recovered) or 'none'}")
            history = engine.position_history()
            console.print(f"history: {len(history)} snapshots in {out_dir / 'history.sqlite'}")
            engine.shutdown()
            engine = None
            if not args.no_sweep:
                console.print("backtest sweep (basis_grid on the shipped market data):")
                console.print(f"sweep report: {_sweep(out_dir / 'sweep', args.quick)}")
        finally:
            if engine is not None:
                engine.shutdown()
            stop_ray(ray_start)
    positions_venues = sorted({k.split(":")[0] for k in final.positions})
    console.print(f"done in {time.monotonic() - t_start:.1f} s: positions on "
                  f"{len(positions_venues)} venues ({', '.join(positions_venues)})")
    return EXIT_OK if final.complete and recovered else EXIT_FAILURE


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``demo`` to the basis CLI."""
    p = sub.add_parser("demo", help="run the live monitor and a sweep on a local sandbox "
                       "(no keys, no network)")
    p.add_argument("--quick", action="store_true", help="shorter phases and a smaller sweep")
    p.add_argument("--plain", action="store_true",
                   help="print one status line per snapshot instead of the live view")
    p.add_argument("--no-sweep", action="store_true", help="skip the backtest sweep")
    p.add_argument("--out", default=DEFAULT_OUT, help="where history and reports go")
    p.set_defaults(func=run_demo)
