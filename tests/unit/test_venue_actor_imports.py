"""A venue actor's process loads what its venue needs: one ccxt exchange, no pandas, no pyarrow.

Each check runs in a fresh Python process (the test process has imported everything already),
the way a venue actor's worker starts: import the actor module, build the interfaces and their
live backends (the CEX ones with their ccxt client), then list `sys.modules`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

BUILD = """
import json, os, sys
import actors.venue
from factory.execution_interface_factory import ExecutionInterfaceFactory

clients = {}
for venue in sys.argv[1:]:
    iface = ExecutionInterfaceFactory.create_position_interface(venue, "live", None)
    backend = iface.backend
    if hasattr(backend, "client"):
        client = backend.client
        clients[venue] = [f"{c.__module__}.{c.__qualname__}" for c in type(client).__mro__]
print(json.dumps({
    "modules": sorted(sys.modules),
    "clients": clients,
}))
"""

CREDENTIALS = {
    "BASIS_BINANCE_API_KEY": "k", "BASIS_BINANCE_API_SECRET": "s",
    "BASIS_BYBIT_API_KEY": "k", "BASIS_BYBIT_API_SECRET": "s",
    "BASIS_OKX_API_KEY": "k", "BASIS_OKX_API_SECRET": "s", "BASIS_OKX_API_PASSPHRASE": "p",
}


def run(code: str, *args: str) -> dict:
    env = {**os.environ, **CREDENTIALS, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          check=False, cwd=REPO, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def exchange_modules(modules: list[str]) -> list[str]:
    """The ``ccxt.async_support.<exchange>`` modules among ``modules`` (not its base)."""
    return sorted(m for m in modules
                  if m.startswith("ccxt.async_support.") and m.count(".") == 2
                  and m != "ccxt.async_support.base")


def heavy(modules: list[str]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules} & {"pandas", "pyarrow", "numpy", "ray"})


@pytest.mark.parametrize("venues", [["binance"], ["binance", "okx", "bybit"]])
def test_a_cex_actor_loads_its_own_exchange_only(venues):
    out = run(BUILD, *venues)
    assert exchange_modules(out["modules"]) == sorted(f"ccxt.async_support.{v}" for v in venues)
    assert not any(m.startswith("ccxt.") and m.count(".") == 1
                   and m.split(".")[1] not in ("base", "abstract", "async_support",
                                               "static_dependencies")
                   for m in out["modules"])  # no sync exchange either
    assert heavy(out["modules"]) == []
    for venue in venues:  # ccxt's own class signs and sends
        assert f"ccxt.async_support.{venue}.{venue}" in out["clients"][venue]
        assert "ccxt.async_support.base.exchange.Exchange" in out["clients"][venue]


@pytest.mark.parametrize("venue", ["aave_v3", "wallet"])
def test_an_onchain_actor_loads_web3_and_no_ccxt(venue):
    out = run(BUILD, venue)
    assert "web3" in out["modules"]
    assert [m for m in out["modules"] if m.split(".")[0] == "ccxt"] == []
    assert heavy(out["modules"]) == []


def test_code_that_wants_all_of_ccxt_still_gets_it_after_one_exchange_was_loaded_alone():
    out = run(BUILD + """
import ccxt, ccxt.async_support as ccxt_async
from ccxt import kraken
print(json.dumps({
    "exchanges": len(ccxt.exchanges),
    "sync_binance": isinstance(ccxt.binance, type) and ccxt.binance.__module__,
    "async_binance": ccxt_async.binance.__module__,
    "async_okx": ccxt_async.okx.__module__,
    "kraken": kraken.__module__,
    "error": ccxt_async.DDoSProtection is ccxt.DDoSProtection,
}))
""", "binance")
    assert out["exchanges"] > 100
    assert out["sync_binance"] == "ccxt.binance"
    assert out["async_binance"] == "ccxt.async_support.binance"
    assert out["async_okx"] == "ccxt.async_support.okx"
    assert out["kraken"] == "ccxt.kraken"
    assert out["error"] is True


def test_an_unknown_exchange_id_is_named():
    out = run("""
import json
from factory.interfaces.cex.ccxt_import import exchange_class
said = []
for ccxt_id in ("nosuchexchange", "base", "abstract"):
    try:
        exchange_class(ccxt_id)
    except ValueError as exc:
        said.append(str(exc))
print(json.dumps({"said": said}))
""")
    assert out["said"] == ["ccxt has no exchange 'nosuchexchange'", "ccxt has no exchange 'base'",
                           "ccxt has no exchange 'abstract'"]
