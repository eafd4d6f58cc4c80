"""Rate limits against the emulator, metrics on Ray's export endpoint, the state API, and a scan
that no secret leaks anywhere.

The secrets: the three CEX API keys and secrets, the okx passphrase, an RPC URL with a key in its
path (``http://host/v3/<key>``, etherfi) and one with ``user:password@`` (aave_v3). The chain
venue actors reach anvil through a `FaultServer` under those URLs (started first, named as the
engine names them; the engine re-attaches to them), and the server can answer what a
misconfigured node answers: HTTP 200 ``text/html``, a 410 KB page echoing the request path and
the basic-auth ``user:password``. The places: Ray's session logs, the state API, metric labels
on Ray's metrics endpoint, snapshots, history rows, ``basis monitor --once --json`` output,
reprs, and the exception texts of every error a venue produces in the fault suite together with
their chains (``__cause__``, ``__context__``).
"""

from __future__ import annotations

import dataclasses
import math
import re
import secrets
import sqlite3
import time
import urllib.request
from pathlib import Path

import pytest
import ray
import yaml

from actors.cli.main import main
from actors.engine import EventDrivenStrategyEngine
from actors.options import venue_actor_options
from actors.venue_actor import VenuePositionActor
from factory.config import RateLimits, resolve_config, venue_defaults
from factory.errors import VenueError
from factory.interfaces.cex.live import CEXLiveBackend
from factory.interfaces.evm.onchain_live import OnChainLiveBackend
from factory.positions import PortfolioSnapshot, utc
from factory.sandbox.chain import free_port
from factory.sandbox.exchange import Fault
from tests.integration.fault_server import FaultServer
from tests.integration.live_helpers import eventually
from tests.integration.test_monitor_live import SIX, live_mode
from tests.unit.test_error_scrub import exception_texts

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
    "binance": ("BASIS_BINANCE_API_KEY", "BASIS_BINANCE_API_SECRET"),
    "bybit": ("BASIS_BYBIT_API_KEY", "BASIS_BYBIT_API_SECRET"),
    "okx": ("BASIS_OKX_API_KEY", "BASIS_OKX_API_SECRET", "BASIS_OKX_API_PASSPHRASE"),
}
#: the key in the path of etherfi's RPC URL, and the password in aave_v3's
RPC_KEY = secrets.token_hex(16)
RPC_PASSWORD = "pw-" + secrets.token_hex(8)
FRONTED = {"etherfi": f"/v3/{RPC_KEY}", "aave_v3": f"desk-user:{RPC_PASSWORD}@"}


def rpc_url(front: FaultServer, venue: str) -> str:
    """The venue's secret-bearing RPC URL on ``front``."""
    part = FRONTED[venue]
    if part.endswith("@"):
        return front.url.replace("http://", "http://" + part) + "/"
    return front.url + part


def all_secrets(live_environ: dict[str, str], front: FaultServer) -> list[str]:
    out = [live_environ[name] for names in SECRETS_OF.values() for name in names]
    out += [RPC_KEY, RPC_PASSWORD, *(rpc_url(front, v) for v in FRONTED)]
    assert all(len(s) >= 8 for s in out)
    return out


@pytest.fixture
def node_front(anvil_node):
    with FaultServer(anvil_node.url, keep_path=False) as server:
        yield server


def spawn_fronted_chain_actors(mode, front: FaultServer) -> dict:
    """Start the chain venue actors with their secret-bearing RPC URLs, named as the engine
    names them, so the engine (or the CLI) re-attaches to them."""
    remote = ray.remote(VenuePositionActor)
    handles = {}
    for venue in FRONTED:
        options = {**venue_actor_options(venue), "get_if_exists": False,
                   "runtime_env": {"env_vars": {"BASIS_ETHEREUM_RPC_URL": rpc_url(front, venue)}}}

        def start(venue=venue, options=options):
            return remote.options(**options).remote(venue, "live", mode, None, 1.0)

        handles[venue] = eventually(start, 30, 0.5, f"the name venue:{venue} is free")
    ray.get([h.ping.remote() for h in handles.values()], timeout=60)
    return handles


def session_logs() -> str:
    """Every file of Ray's session logs, less Ray's own record of the ``runtime_env`` through
    which this test hands the chain actors their RPC URLs (a deployment sets the variable in
    the nodes' environment instead; Ray's runtime-env agent logs what it is given)."""
    session_dir = Path(ray._private.worker._global_node.get_session_dir_path())
    logs = ""
    for f in (session_dir / "logs").rglob("*"):
        if f.is_file():
            logs += f.read_bytes().decode("utf-8", "replace")
    return re.sub(r'"BASIS_ETHEREUM_RPC_URL": "[^"]*"', "", logs)


def history_rows(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return [r[0] for r in db.execute("SELECT body FROM snapshots")]
    finally:
        db.close()


def test_metrics_state_api_and_no_secret_anywhere(ray_session, clean_exchange, chain, tmp_path,
                                                 live_environ, node_front):
    from ray.util.state import list_actors

    history = tmp_path / "history.sqlite"
    mode = live_mode(chain.sandbox)
    fronted = spawn_fronted_chain_actors(mode, node_front)
    eng = EventDrivenStrategyEngine(mode, "live", store_path=str(history))
    assert all(eng.venue_actors[v]._actor_id == h._actor_id for v, h in fronted.items())
    errors: list[str] = []
    try:
        eventually(lambda: eng.get_real_positions().complete, 60, 0.2, "complete snapshot")
        # an authentication failure, a 5xx and nodes echoing the request path, so error texts
        # are produced and recorded
        clean_exchange.set_account("okx", {**clean_exchange.account("okx").model_dump(),
                                           "credentials": {"api_key": "other-key",
                                                           "secret": "other-secret",
                                                           "passphrase": "other-pass"}})
        clean_exchange.inject("bybit", Fault(kind="server_error", status=502))
        node_front.mode = "html_echo"
        snaps = [eng.get_real_positions() for _ in range(3)]
        errors += [v.error or "" for s in snaps for v in s.venues.values()]
        for venue in FRONTED:
            assert snaps[-1].venues[venue].status == "stale"
            assert "BadResponseError" in snaps[-1].venues[venue].error
        try:
            ray.get(ray.get_actor("venue:okx").snapshot.remote(None, 2))
        except Exception as exc:  # noqa: BLE001 - the typed AuthenticationError, through Ray
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
            needed = ['ray_basis_snapshot_latency_seconds_bucket{', 'venue="binance"',
                      "ray_basis_venue_errors_total", "ray_basis_ratelimit_used_weight",
                      "ray_basis_venue_staleness_seconds", 'venue="okx"',
                      'error="AuthenticationError"', 'error="BadResponseError"']
            return all(n in text for n in needed) and text

        metrics = eventually(metrics_with_venue_tags, 40, 1.0,
                             "basis metrics exported with venue tags")

        # less serialized_runtime_env: Ray's record of how this test hands over the RPC URLs
        state_dump = repr([{k: v for k, v in dataclasses.asdict(a).items()
                            if k != "serialized_runtime_env"}
                           for a in list_actors(address=api, detail=True)])
        snaps_json = "".join(s.model_dump_json() for s in snaps)
        reprs = repr(eng.config) + repr(eng.factory) + repr(snaps[-1])
    finally:
        eng.shutdown()
    rows = "".join(history_rows(history))
    logs = session_logs()
    haystacks = {"ray session logs": logs, "list_actors": state_dump, "snapshots": snaps_json,
                 "history rows": rows, "exception texts": "\n".join(errors), "reprs": reprs,
                 "metric labels": metrics}
    assert len(logs) > 1000 and len(rows) > 1000
    for where, text in haystacks.items():
        for secret in all_secrets(live_environ, node_front):
            assert secret not in text, f"a secret leaked into {where}"


def test_a_node_echoing_its_path_gives_a_short_scrubbed_error_in_json_history_and_logs(
    ray_session, clean_exchange, sandbox, live_environ, node_front, tmp_path, monkeypatch, capfd
):
    """``basis monitor --once --json`` while both chain nodes answer 200 text/html echoing the
    request path (and the basic-auth user:password): the venues are missing with a short
    BadResponseError, and no key reaches the output, the history rows or the logs."""
    for name, value in live_environ.items():  # the CLI checks the credentials it needs first
        monkeypatch.setenv(name, value)
    mode = live_mode(sandbox, venues=["binance", *FRONTED])
    # a deadline that a venue actor the CLI starts cold meets on a loaded machine
    mode = mode.model_copy(update={"monitor": mode.monitor.model_copy(update={"deadline_s": 5.0})})
    path = tmp_path / "mode.yaml"
    path.write_text(yaml.safe_dump(mode.model_dump(mode="json")))
    fronted = spawn_fronted_chain_actors(mode, node_front)
    good = ray.get([h.snapshot.remote(None, 30) for h in fronted.values()], timeout=60)
    assert all(s.status == "ok" for s in good)
    node_front.mode = "html_echo"
    db = tmp_path / "h.sqlite"

    code = main(["monitor", str(path), "--once", "--json", "--db", str(db)])
    out = capfd.readouterr()

    assert code == 1 and node_front.served["html_echo"] >= 2
    # Ray may print a "(raylet)" notice to stdout on a loaded machine: the JSON is what follows
    snap = PortfolioSnapshot.model_validate_json(out.out[out.out.index("{\n"):])
    assert snap.missing == sorted(FRONTED) and snap.venues["binance"].status == "ok"
    reasons = {a.venue: a.message for a in snap.alerts if a.kind == "missing_venue"}
    for venue in FRONTED:
        assert "BadResponseError" in reasons[venue] and "text/html" in reasons[venue]
        assert len(reasons[venue]) < 600, reasons[venue]
    assert "<p>The requested URL /*** was not found" in reasons["etherfi"]
    rows = history_rows(db)
    print(f"\nhistory rows: {len(rows)}, longest {max(len(r) for r in rows)} characters")
    assert rows and max(len(r) for r in rows) < 20_000  # not a 410 KB page per row
    logs = session_logs()
    for secret in all_secrets(live_environ, node_front):
        for where, text in {"stdout": out.out, "stderr": out.err, "history rows": "".join(rows),
                            "ray session logs": logs}.items():
            assert secret not in text, f"a secret leaked into {where}"


PROXY_PASSWORD = "proxy-pw-" + secrets.token_hex(8)
SMALL_CAP = 1 << 20


async def _error_of(backend) -> BaseException:
    try:
        await backend.fetch_snapshot(utc())
    except Exception as exc:  # noqa: BLE001 - every error is what this test collects
        return exc
    raise AssertionError(f"{backend.venue}: the fault produced no error")


async def test_every_fault_suite_error_and_its_chain_is_free_of_secrets(
    clean_exchange, sandbox, chain_mode, desk, rpc_proxy, live_environ
):
    """Each fault of the suite on each venue kind, in process (Ray would drop the chain): the
    error is typed and neither it nor anything chained under it holds a secret."""
    got: list[BaseException] = []
    configured: list[str] = []

    # CEX: emulator faults, plus a front (base URL with user:password) echoing or flooding
    with FaultServer(clean_exchange.url, keep_path=True) as front:
        for venue in ("binance", "bybit", "okx"):
            env = clean_exchange.env(venue)
            base = front.url.replace("http://", f"http://proxy-user:{PROXY_PASSWORD}@")
            env[f"BASIS_{venue.upper()}_API_BASE_URL"] = f"{base}/{venue}"
            configured += [v for k, v in env.items() if not k.endswith("_BASE_URL")]
            cfg = venue_defaults()[venue].model_copy(
                update={"timeout_s": 2.0, "max_response_bytes": SMALL_CAP})
            backend = CEXLiveBackend(cfg, environ=env)
            try:
                await backend.fetch_snapshot(utc())  # markets loaded: the faults hit the reads
                for mode in ("html_echo", "huge"):
                    front.mode = mode
                    got.append(await _error_of(backend))
                front.mode = "forward"
                for fault in (Fault(kind="server_error", status=503),
                              Fault(kind="malformed_json"), Fault(kind="latency", delay_s=3.0),
                              Fault(kind="rate_limit", retry_after_s=0.1, count=1)):
                    clean_exchange.inject(venue, fault)
                    got.append(await _error_of(backend))
                    clean_exchange.clear_faults(venue)
            finally:
                await backend.close()
            wrong = {**env, **{k: f"wrong-{venue}-{k.lower()}-value" for k in env
                               if not k.endswith("_BASE_URL")}}
            configured += [v for k, v in wrong.items() if not k.endswith("_BASE_URL")]
            backend = CEXLiveBackend(venue_defaults()[venue], environ=wrong)
            try:
                got.append(await _error_of(backend))  # credentials rejected
            finally:
                await backend.close()

    # chain: a front with the key in its path (etherfi) or user:password (aave_v3) before a
    # fault-injecting proxy before anvil
    with FaultServer(rpc_proxy.url, keep_path=False) as front:
        urls = {v: rpc_url(front, v) for v in FRONTED}
        urls_down = {"etherfi": f"http://127.0.0.1:{free_port()}/v3/{RPC_KEY}"}
        for venue, url in urls.items():
            cfg = chain_mode.venue_config(venue).model_copy(
                update={"timeout_s": 0.5, "max_response_bytes": SMALL_CAP})
            env = {"BASIS_ETHEREUM_RPC_URL": url, "BASIS_WALLET_ADDRESSES": desk}
            backend = OnChainLiveBackend(cfg, environ=env)
            try:
                await backend.fetch_snapshot(utc())
                for mode in ("html_echo", "huge"):
                    front.mode = mode
                    got.append(await _error_of(backend))
                front.mode = "forward"
                for fault in ("drop", "http_503", "http_429"):
                    rpc_proxy.fault = fault
                    got.append(await _error_of(backend))
                rpc_proxy.reset()
                rpc_proxy.delay_s = 1.5
                got.append(await _error_of(backend))
                rpc_proxy.reset()
            finally:
                await backend.close()
            other_chain = OnChainLiveBackend(cfg.model_copy(update={"chain_id": 1}), environ=env)
            got.append(await _error_of(other_chain))
            await other_chain.close()
        env = {"BASIS_ETHEREUM_RPC_URL": urls_down["etherfi"], "BASIS_WALLET_ADDRESSES": desk}
        down = OnChainLiveBackend(chain_mode.venue_config("etherfi"), environ=env)
        got.append(await _error_of(down))
        await down.close()

    kinds = {type(e).__name__ for e in got}
    assert kinds >= {"BadResponseError", "ResponseTooLargeError", "VenueUnavailableError",
                     "VenueTimeoutError", "RateLimitedError", "AuthenticationError",
                     "RpcUnreachableError", "WrongChainError"}, kinds
    assert all(isinstance(e, VenueError) for e in got), [type(e) for e in got]
    secret_values = [*configured, PROXY_PASSWORD, RPC_KEY, RPC_PASSWORD, *urls.values(),
                     *urls_down.values(), *(v for k, v in live_environ.items() if "_API_" in k
                                            and not k.endswith("_BASE_URL"))]
    for err in got:
        texts = exception_texts(err)
        assert len(str(err)) < 1100
        for secret in secret_values:
            assert secret not in texts, f"a secret in {type(err).__name__}: {str(err)[:120]}"
