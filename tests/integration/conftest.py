"""Integration tests share one real local Ray per session (Ray 2.60 has no local_mode).

Before Ray starts, the session's sandboxes are up (the exchange emulator on a thread, anvil with
the contracts deployed) and their endpoints and sandbox credentials are in the environment Ray's
worker processes inherit; the driver's own environment is restored right after ``ray.init``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.integration.chain_fixtures import (  # noqa: F401 - sandbox chain fixtures
    anvil_node,
    chain,
    chain_mode,
    desk,
    rpc_proxy,
    sandbox,
    sandbox_env,
)

REPO = Path(__file__).resolve().parents[2]
SANDBOX_SCENARIO = REPO / "configs" / "sandbox.yaml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def exchange():
    """The sandbox exchange emulator (binance, bybit, okx) for the whole session, on a thread."""
    from factory.sandbox.exchange import serve_in_thread

    with serve_in_thread(scenario=SANDBOX_SCENARIO) as emu:
        yield emu


@pytest.fixture
def clean_exchange(exchange):
    """The session's emulator with the sandbox accounts, no faults, no history of requests."""
    exchange.reset()
    exchange.load(SANDBOX_SCENARIO)
    yield exchange
    exchange.reset()
    exchange.load(SANDBOX_SCENARIO)


@pytest.fixture(scope="session")
def live_environ(exchange, sandbox) -> dict[str, str]:  # noqa: F811 - the fixture imported above
    """What live venue actors need: emulator URLs and keys, the RPC URL and the desk address."""
    from factory.sandbox.chain import sandbox_environ

    env: dict[str, str] = {}
    for venue in exchange.accounts():  # every account of every exchange, sub-accounts too
        env.update(exchange.env(venue))
    env.update(sandbox_environ(sandbox, [sandbox.users[0]]))
    return env


@pytest.fixture(scope="session")
def ray_session(live_environ):
    """Start one local Ray for the whole session: 2 CPUs, small object store, dashboard on a free
    port (the state API needs it), sandbox endpoints in the workers' environment."""
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    from factory.sandbox.env import scoped_environ

    if not ray.is_initialized():
        with scoped_environ(live_environ):
            ray.init(
                address="local",  # a new instance, never another session's cluster
                num_cpus=2,
                object_store_memory=200 * 1024 * 1024,
                include_dashboard=True,
                dashboard_port=_free_port(),
                namespace="basis-tests",
                log_to_driver=False,
            )
    yield ray
    ray.shutdown()
