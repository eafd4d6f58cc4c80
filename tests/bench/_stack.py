"""Shared parts of the live benchmarks: sandboxes, a local Ray, machine facts, statistics.

A benchmark enters these context managers on one `contextlib.ExitStack`, so everything it
started stops when it exits, also on an error or SIGTERM (`stop_on_sigterm`):

- `exchange_emulator`: the sandbox exchange emulator in its own process (so the benchmark's
  own in-process measurements do not share a GIL with the server), driven through its admin
  API; it also exits when the benchmark's process dies (its stdin closes).
- `sandbox_chain`: anvil with the sandbox contracts and AAVE v3 deployed.
- `local_ray`: a new local Ray (never an existing one) whose workers inherit the sandbox
  endpoints and credentials; the driver's own environment is restored right after
  ``ray.init`` (as tests/integration/conftest.py does).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from factory.sandbox.env import scoped_environ as environ

REPO = Path(__file__).resolve().parents[2]
SANDBOX_SCENARIO = REPO / "configs" / "sandbox.yaml"
NAMESPACE = "basis-bench"

__all__ = [
    "NAMESPACE",
    "REPO",
    "SANDBOX_SCENARIO",
    "Emulator",
    "cex_clone",
    "cpu_s",
    "descendants",
    "emit",
    "environ",
    "exchange_emulator",
    "local_ray",
    "machine",
    "proc_name",
    "pss_kb",
    "rss_kb",
    "sandbox_chain",
    "started_s",
    "stats_ms",
    "stop_engine",
    "stop_on_sigterm",
    "uptime_s",
]


# -- process hygiene ---------------------------------------------------------------------------


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so every ``with`` block of the benchmark unwinds."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


# -- exchange emulator in its own process ------------------------------------------------------


class Emulator:
    """A running emulator process: its URL, per-venue sandbox credentials and admin API."""

    def __init__(self, url: str, venues: Mapping[str, Mapping[str, str | None]], pid: int = 0):
        from factory.sandbox.exchange import EmulatorAdminClient

        self.url = url
        self.pid = pid
        self._venues = {v: dict(c) for v, c in venues.items()}
        self.admin = EmulatorAdminClient(url, timeout_s=30.0)

    def venues(self) -> list[str]:
        return list(self._venues)

    def base_url(self, venue: str) -> str:
        return f"{self.url}/{venue}"

    def env(self, venue: str, config: Any = None) -> dict[str, str]:
        """Environment variables that point a venue config at this emulator's ``venue``.

        ``config`` (default: the shipped config of ``venue``) names the credential variables.
        """
        from factory.config import venue_defaults

        cfg = config or venue_defaults()[venue]
        creds = self._venues[venue]
        out = {f"BASIS_{cfg.venue.upper()}_API_BASE_URL": self.base_url(venue)}
        for field, key in (("api_key_env", "api_key"), ("api_secret_env", "secret"),
                           ("passphrase_env", "passphrase")):
            name = getattr(cfg.credentials, field)
            if name and creds.get(key) is not None:
                out[name] = str(creds[key])
        return out


def _serve_emulator(scenario: str) -> None:
    """Child process: serve an emulator, print its URL and credentials as one JSON line, run
    until SIGTERM or until stdin closes (the parent died)."""
    import asyncio
    import threading

    from factory.sandbox.exchange import ExchangeEmulator

    async def serve() -> None:
        emu = ExchangeEmulator(scenario=scenario, port=0)
        await emu.start()
        venues = {}
        for v in emu.venues():
            c = emu.credentials(v)
            venues[v] = {"api_key": c.api_key, "secret": c.secret, "passphrase": c.passphrase}
        print(json.dumps({"url": emu.url, "venues": venues}), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)

        def watch_stdin() -> None:
            sys.stdin.read()
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=watch_stdin, daemon=True).start()
        try:
            await stop.wait()
        finally:
            await emu.stop()

    asyncio.run(serve())


@contextlib.contextmanager
def exchange_emulator(scenario: str | Path = SANDBOX_SCENARIO,
                      timeout_s: float = 30.0) -> Iterator[Emulator]:
    """Run the emulator in a child process for the ``with`` block."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.bench._stack", "serve-emulator", str(scenario)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
        line = proc.stdout.readline() if ready else b""  # type: ignore[union-attr]
        if not line:
            raise RuntimeError("exchange emulator did not start")
        info = json.loads(line)
        yield Emulator(info["url"], info["venues"], proc.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def cex_clone(emu: Emulator, venue: str, ccxt_id: str) -> tuple[dict[str, Any], dict[str, str]]:
    """A CEX venue ``venue`` (e.g. ``cex4``) served by the emulator's ``ccxt_id`` account.

    Returns:
        (its full venue settings for a mode config, the environment its actor needs: the
        credentials under ``BASIS_<VENUE>_...`` names).
    """
    from factory.config import Credentials, VenueConfig, venue_defaults

    base = venue_defaults()[ccxt_id].model_dump(mode="json")
    upper = venue.upper()
    creds = Credentials(
        api_key_env=f"BASIS_{upper}_API_KEY",
        api_secret_env=f"BASIS_{upper}_API_SECRET",
        passphrase_env=f"BASIS_{upper}_API_PASSPHRASE" if base["credentials"].get("passphrase_env")
        else None,
    )
    settings = {**base, "venue": venue, "ccxt_id": ccxt_id, "api_base_url": emu.base_url(ccxt_id),
                "credentials": creds.model_dump(mode="json"),
                "description": f"{ccxt_id} account re-used as {venue} (benchmark)"}
    env = emu.env(ccxt_id, VenueConfig.model_validate(settings))
    env.pop(f"BASIS_{upper}_API_BASE_URL", None)  # the config already carries the URL
    return settings, env


# -- sandbox chain ------------------------------------------------------------------------------


@contextlib.contextmanager
def sandbox_chain() -> Iterator[Any]:
    """Anvil with the sandbox deployed (tokens, LST rates, Multicall3, AAVE v3)."""
    from factory.sandbox.chain import AnvilProcess, deploy_sandbox

    with AnvilProcess() as node:
        yield node, deploy_sandbox(node.url)


# -- Ray ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def local_ray(worker_env: Mapping[str, str], num_cpus: int = 2) -> Iterator[Any]:
    """Start a new local Ray whose workers inherit ``worker_env`` (the driver's environment is
    restored right after ``ray.init``); shut it down afterwards."""
    import ray

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    with environ(worker_env):
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False,
                 object_store_memory=200 * 1024 * 1024, namespace=NAMESPACE,
                 log_to_driver=False, logging_level="WARNING")
    try:
        yield ray
    finally:
        ray.shutdown()


def stop_engine(engine: Any, timeout_s: float = 30.0) -> None:
    """Kill the engine's actors and wait until their names are free again (the next engine
    of the same benchmark must not re-attach to a dying actor)."""
    import ray

    names = [n for n in engine.handles if n.startswith("venue:")] + ["position-monitor"]
    engine.shutdown()
    deadline = time.monotonic() + timeout_s
    for name in names:
        while time.monotonic() < deadline:
            try:
                ray.get_actor(name)
            except ValueError:
                break
            time.sleep(0.05)


# -- facts and statistics -------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """nproc, RAM, CPU model, versions and the load average when the benchmark started."""
    import ccxt
    import ray

    mem_kb = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "ray": ray.__version__,
        "ccxt": ccxt.__version__,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def stats_ms(seconds: Iterable[float]) -> dict[str, float]:
    """n, p50, p90, p99, min and max in milliseconds (linear interpolation)."""
    import numpy as np

    arr = np.asarray(list(seconds), dtype=float) * 1000.0
    if arr.size == 0:
        return {"n": 0}
    p50, p90, p99 = np.percentile(arr, [50, 90, 99])
    return {"n": int(arr.size), "p50": round(float(p50), 2), "p90": round(float(p90), 2),
            "p99": round(float(p99), 2), "min": round(float(arr.min()), 2),
            "max": round(float(arr.max()), 2)}


def _proc_field(pid: int, name: str, field: str) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used (0 when it is gone)."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def uptime_s() -> float:
    """Seconds since boot (the clock of `started_s`)."""
    return float(Path("/proc/uptime").read_text().split()[0])


def started_s(pid: int) -> float:
    """When a process started, in seconds since boot (nan when it is gone)."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return float("nan")


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, grandchildren...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def proc_name(pid: int) -> str:
    """A process's short name: its title for Ray workers (``ray::VenuePositionActor``...)."""
    with contextlib.suppress(OSError):
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        first = args[0].decode(errors="replace")
        if first.startswith("ray::"):
            return first.split()[0]
        for a in args[:3]:
            text = a.decode(errors="replace")
            if text.endswith(".py") or "/" in text and not text.endswith("python"):
                return Path(text).name
        return Path(first).name
    return "?"


def rss_kb(pid: int) -> int:
    """Resident set size of a process in KiB (VmRSS; shared pages counted in full)."""
    return _proc_field(pid, "status", "VmRSS")


def pss_kb(pid: int) -> int:
    """Proportional set size in KiB (shared pages split between their users)."""
    return _proc_field(pid, "smaps_rollup", "Pss")


def emit(result: Mapping[str, Any]) -> None:
    """Print the benchmark's one JSON object."""
    print(json.dumps(result, indent=1, default=str), flush=True)


if __name__ == "__main__" and sys.argv[1:2] == ["serve-emulator"]:
    _serve_emulator(sys.argv[2])
