"""Rate limits against the emulator, metrics on Ray's export endpoint, the state API, and a scan
that no secret leaks anywhere (logs, state API, snapshots, history, exceptions, reprs)."""

from __future__ import annotations

import math
import sqlite3
import time
import urllib.request
from pathlib import Path

import pytest
import ray

from actors.engine import EventDrivenStrategyEngine
from factory.config import RateLimits, resolve_config, venue_defaults
from factory.sandbox.exchange import Fault
from tests.integration.live_helpers import eventually
from tests.integration.test_monitor_live import SIX, live_mode

WINDOW_S = 2.0
#: one binance snapshot costs 21 spot weight (account 20 + time 1) and 10 futures weight
#: (account 5 + positionRisk 5): these limits allow 10 snapshots per 2 s window in both pools.
POOL_LIMITS = {"spot_weight": 210.0, "fapi_weight": 100.0}


def scaled_binance() -> RateLimits:
    limits = venue_defaults()["binance"].rate_limits
    pools = [p.model_copy(update={"limit": POOL_LIMITS[p.name], "window_s": WINDOW_S})
             if p.name in POOL_LIMITS else p for p in limits.pools]
    return limits.model_copy(update={"pools": pools})


def fixed_windows(records, pool_paths, t0, t1):
    """Weight per fixed window (aligned as the emulator aligns them) fully inside [t0, t1]."""
    first = math.ceil(t0 / WINDOW_S) * WINDOW_S
    out = []
    start = first
    while start + WINDOW_S <= t1:
        out.append(sum(r.weight for r in records
                       if r.path in pool_paths and start <= r.time < start + WINDOW_S))
        start += WINDOW_S
    return out


def test_a_burst_uses_the_budget_without_a_single_violation(ray_session, clean_exchange,
                                                           tmp_path):
    limits = scaled_binance()
    clean_exchange.set_limits("binance", limits)
    mode = resolve_config({"mode": "burst", "venues": ["binance"],
                           "venue_settings": {"binance": {"rate_limits":
                                                          limits.model_dump(mode="json")}}})
    eng = EventDrivenStrategyEngine(mode, "live", store_path=str(tmp_path / "h.sqlite"))
    try:
        actor = ray.get_actor("venue:binance")
        ray.get(actor.snapshot.remote(None, 30))  # load_markets and warm-up
        time.sleep(WINDOW_S)
        clean_exchange.clear_requests()
        t0 = time.time()
        pending = [actor.snapshot.remote(None, 60) for _ in range(8)]
        while time.time() - t0 < 3.5 * WINDOW_S:
            done, pending = ray.wait(pending, num_returns=1, timeout=10)
            ray.get(done)
            pending.append(actor.snapshot.remote(None, 60))
        t1 = time.time()
        ray.get(pending, timeout=60)
        records = [r for r in clean_exchange.requests("binance") if r.time <= t1]
        assert clean_exchange.violations("binance") == 0
        assert all(r.status == 200 for r in clean_exchange.requests("binance"))
        paths = {e.pools[0]: set() for e in limits.endpoints}
        for e in limits.endpoints:
            for pool in e.pools:
                paths.setdefault(pool, set()).add(e.path)
        spot = fixed_windows(records, paths["spot_weight"], t0, t1)
        fapi = fixed_windows(records, paths["fapi_weight"], t0, t1)
        assert len(spot) >= 3
        assert max(spot) <= POOL_LIMITS["spot_weight"] and max(fapi) <= POOL_LIMITS["fapi_weight"]
        used = sum(spot) / (POOL_LIMITS["spot_weight"] * len(spot))
        print(f"\nspot windows {spot} fapi windows {fapi} used {used:.1%}")
        assert used >= 0.9
    finally:
        eng.shutdown()


def test_after_a_429_with_retry_after_the_next_request_waits_that_long(ray_session,
                                                                      clean_exchange, tmp_path):
    mode = resolve_config({"mode": "r429", "venues": ["binance"]})
    eng = EventDrivenStrategyEngine(mode, "live", store_path=str(tmp_path / "h.sqlite"))
    try:
        actor = ray.get_actor("venue:binance")
        ray.get(actor.snapshot.remote(None, 30))
        clean_exchange.clear_requests()
        clean_exchange.inject("binance", Fault(kind="rate_limit", retry_after_s=1.5, count=1))
        snap = ray.get(actor.snapshot.remote(None, 10))
        assert snap.status == "ok" and snap.attempts == 2
        records = clean_exchange.requests("binance")
        refused = [r for r in records if r.status == 429]
        assert len(refused) == 1
        later = [r for r in records if r.time > refused[0].time]
        assert later and min(r.time for r in later) - refused[0].time >= 1.5
    finally:
        eng.shutdown()


def _scrape_metrics() -> str:
    node = next(n for n in ray.nodes() if n["Alive"])
    url = f"http://127.0.0.1:{node['MetricsExportPort']}/metrics"
    return urllib.request.urlopen(url, timeout=5).read().decode()


SECRETS_OF = {
    "binance": ("BASIS_BINANCE_API_SECRET",),
    "bybit": ("BASIS_BYBIT_API_SECRET",),
    "okx": ("BASIS_OKX_API_SECRET", "BASIS_OKX_API_PASSPHRASE"),
}


def test_metrics_state_api_and_no_secret_anywhere(ray_session, clean_exchange, chain, tmp_path,
                                                 live_environ):
    from ray.util.state import list_actors

    history = tmp_path / "history.sqlite"
    eng = EventDrivenStrategyEngine(live_mode(chain.sandbox), "live", store_path=str(history))
    errors: list[str] = []
    try:
        eventually(lambda: eng.get_real_positions().complete, 60, 0.2, "complete snapshot")
        # an authentication failure and a 5xx, so error texts are produced and recorded
        clean_exchange.set_account("okx", {**clean_exchange.account("okx").model_dump(),
                                           "credentials": {"api_key": "other-key",
                                                           "secret": "other-secret",
                                                           "passphrase": "other-pass"}})
        clean_exchange.inject("bybit", Fault(kind="server_error", status=502))
        snaps = [eng.get_real_positions() for _ in range(3)]
        errors += [v.error or "" for s in snaps for v in s.venues.values()]
        try:
            ray.get(ray.get_actor("venue:okx").snapshot.remote(None, 2))
        except Exception as exc:  # the typed AuthenticationError, through Ray
            errors += [str(exc), repr(exc)]
        assert any("AuthenticationError" in e for e in errors)

        # this Ray's dashboard, by address: other Ray instances may run on the same machine
        api = "http://" + ray._private.worker.get_dashboard_url()
        actors = {a.name: a.state
                  for a in list_actors(address=api, filters=[("state", "=", "ALIVE")])}
        for venue in SIX:
            assert actors.get(f"venue:{venue}") == "ALIVE"
        assert actors.get("position-monitor") == "ALIVE"

        def metrics_with_venue_tags():
            text = _scrape_metrics()
            needed = [f'ray_basis_snapshot_latency_seconds_bucket{{', 'venue="binance"',
                      "ray_basis_venue_errors_total", "ray_basis_ratelimit_used_weight",
                      "ray_basis_venue_staleness_seconds", 'venue="okx"',
                      'error="AuthenticationError"']
            return all(n in text for n in needed) and text

        eventually(metrics_with_venue_tags, 40, 1.0, "basis metrics exported with venue tags")

        state_dump = repr(list_actors(address=api, detail=True))
        snaps_json = "".join(s.model_dump_json() for s in snaps)
        reprs = repr(eng.config) + repr(eng.factory) + repr(snaps[-1])
    finally:
        eng.shutdown()
    db = sqlite3.connect(history)
    rows = "".join(r[0] for r in db.execute("SELECT body FROM snapshots"))
    session_dir = Path(ray._private.worker._global_node.get_session_dir_path())
    logs = ""
    for f in (session_dir / "logs").rglob("*"):
        if f.is_file():
            logs += f.read_bytes().decode("utf-8", "replace")
    secrets = [live_environ[name] for names in SECRETS_OF.values() for name in names]
    assert all(len(s) >= 8 for s in secrets)
    haystacks = {"ray session logs": logs, "list_actors": state_dump, "snapshots": snaps_json,
                 "history rows": rows, "exception texts": "\n".join(errors), "reprs": reprs}
    assert len(logs) > 1000 and len(rows) > 1000
    for where, text in haystacks.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into {where}"
