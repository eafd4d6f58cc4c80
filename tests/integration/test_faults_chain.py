"""Fault suite, chain side: the RPC node down, failing, slow; a read that reverts; another chain.

One live engine for the module (binance over the emulator; aave_v3 and etherfi on anvil). The
chain venue actors reach anvil through a counting, fault-injecting JSON-RPC proxy: they are
started first, named as the engine names them, with the proxy's URL as their RPC URL, and the
engine re-attaches to them (``spawn_position_actors`` reuses a live actor of the same name).
Each row checks the contract of tests/integration/test_faults_cex.py (on time, stale with the
last good values, typed error, attempts within the policy counted at the node, history intact).
"""

from __future__ import annotations

import os
import signal

import pytest
import ray

from actors.engine import EventDrivenStrategyEngine
from actors.options import venue_actor_options
from actors.venue_actor import VenuePositionActor
from factory.config import venue_defaults
from factory.errors import (
    CallRevertedError,
    RateLimitedError,
    RpcUnreachableError,
    VenueError,
    VenueTimeoutError,
    VenueUnavailableError,
    WrongChainError,
)
from factory.sandbox.chain import ANVIL_CHAIN_ID, RpcProxy
from tests.integration.live_helpers import eventually
from tests.integration.test_faults_cex import DEADLINE_S, stale_under_fault
from tests.integration.test_monitor_live import live_mode

CHAIN_VENUES = ["aave_v3", "etherfi"]
VENUES = ["binance", *CHAIN_VENUES]
#: PUSH1 0 PUSH1 0 REVERT: a contract whose every call reverts
REVERTING_CODE = "0x60006000fd"


@pytest.fixture(scope="module")
def proxy(anvil_node):
    with RpcProxy(anvil_node.url) as p:
        yield p


@pytest.fixture(scope="module")
def engine(ray_session, exchange, sandbox, proxy, tmp_path_factory):
    mode = live_mode(sandbox, venues=VENUES)
    remote = ray.remote(VenuePositionActor)
    proxied = {}
    for venue in CHAIN_VENUES:
        options = {**venue_actor_options(venue),
                   "runtime_env": {"env_vars": {"BASIS_ETHEREUM_RPC_URL": proxy.url}}}
        proxied[venue] = remote.options(**options).remote(venue, "live", mode, None, 1.0)
    ray.get([h.ping.remote() for h in proxied.values()], timeout=60)  # names registered
    history = tmp_path_factory.mktemp("faults_chain") / "history.sqlite"
    eng = EventDrivenStrategyEngine(mode, "live", store_path=str(history))
    assert all(eng.venue_actors[v]._actor_id == h._actor_id for v, h in proxied.items())
    yield eng
    eng.shutdown()


@pytest.fixture
def good(engine, proxy, chain, desk, clean_exchange):
    """The desk holds weETH and supplies USDT on AAVE; a complete snapshot shows both."""
    chain.fund(desk, weETH=3, USDT=1_000)
    chain.aave_supply(desk, "USDT", 600)

    def complete_with_positions():
        snap = engine.get_real_positions()
        held = (snap.positions.get("etherfi:LST:weETH") == 3.0
                and snap.positions.get("aave_v3:aToken:aUSDT", 0) >= 600)
        return snap.complete and held and snap

    snap = eventually(complete_with_positions, 30, 0.2, "a complete snapshot with positions")
    yield snap
    proxy.reset()


def node_calls(proxy: RpcProxy, venue: str, expected: type[VenueError],
               deadline_s: float = DEADLINE_S) -> dict[str, int]:
    """Ask the venue actor itself for one snapshot; it must fail with ``expected`` once its
    retries are over. Return the JSON-RPC calls the node saw meanwhile, by method."""
    proxy.counts.clear()
    with pytest.raises(expected):
        ray.get(ray.get_actor(f"venue:{venue}").snapshot.remote(None, deadline_s), timeout=30)
    return dict(proxy.counts)


def test_the_chain_venues_read_through_the_proxy(engine, good, proxy):
    proxy.counts.clear()
    ray.get(ray.get_actor("venue:etherfi").snapshot.remote(None, DEADLINE_S), timeout=30)
    # a ready venue costs the node two requests a snapshot: one batch checking the chain id and
    # pinning the block, one aggregate3
    assert dict(proxy.counts) == {"eth_chainId": 1, "eth_blockNumber": 1, "eth_call": 1}
    assert proxy.requests[-2:] == [("eth_chainId", "eth_blockNumber"), ("eth_call",)]


@pytest.mark.parametrize(("fault", "error"), [
    ("drop", RpcUnreachableError),        # the node closes the connection: RPC down
    ("http_503", VenueUnavailableError),
    ("http_429", RateLimitedError),
])
def test_a_failing_node_is_retried_within_the_policy_then_the_venue_is_stale(
    engine, good, proxy, fault, error
):
    proxy.fault = fault
    for venue in CHAIN_VENUES:
        calls = node_calls(proxy, venue, error)
        # each attempt stops at its first call (pinning the block); none reads past it
        assert 1 <= calls.get("eth_blockNumber", 0) <= venue_defaults()[venue].retry.max_attempts
        assert calls.get("eth_call", 0) == 0
    stale_under_fault(engine, good, "aave_v3", error, also=("etherfi",))


def test_a_slow_node_costs_one_call_and_the_snapshot_stays_on_time(engine, good, proxy):
    proxy.delay_s = 3.0
    calls = node_calls(proxy, "etherfi", VenueTimeoutError)
    # the deadline leaves no time for a second try
    assert calls == {"eth_chainId": 1, "eth_blockNumber": 1}
    stale_under_fault(engine, good, "etherfi", VenueTimeoutError, also=("aave_v3",))


def test_a_read_that_reverts_is_named_and_not_retried(engine, good, proxy, chain, sandbox):
    weeth = sandbox.token("weETH").address
    chain.client.rpc("anvil_setCode", [weeth, REVERTING_CODE])
    calls = node_calls(proxy, "etherfi", CallRevertedError)
    assert calls == {"eth_chainId": 1, "eth_blockNumber": 1, "eth_call": 1}
    error = stale_under_fault(engine, good, "etherfi", CallRevertedError)
    assert "weETH.getRate()" in error and "weETH.balanceOf" in error


def test_a_node_that_switches_chain_is_refused_at_the_next_snapshot_and_never_read(
    engine, good, proxy, chain
):
    chain.client.rpc("anvil_setChainId", [1])
    try:
        calls = node_calls(proxy, "etherfi", WrongChainError)
        # the chain id rides with the block number; refused, never retried, nothing read
        assert calls == {"eth_chainId": 1, "eth_blockNumber": 1}
        # aave_v3 reads the same node: it is refused too, never read as ours
        error = stale_under_fault(engine, good, "etherfi", WrongChainError, also=("aave_v3",))
        assert "chain id 1" in error and str(ANVIL_CHAIN_ID) in error
    finally:
        chain.client.rpc("anvil_setChainId", [ANVIL_CHAIN_ID])
    fresh = eventually(lambda: (s := engine.get_real_positions()).complete and s, 30, 0.2,
                       "etherfi fresh on the right chain again")
    assert fresh.venues["etherfi"].positions == good.venues["etherfi"].positions


def test_a_node_on_another_chain_is_refused_after_a_restart_and_never_read(
    engine, good, proxy, chain
):
    handle = ray.get_actor("venue:etherfi")
    pid = ray.get(handle.ping.remote())
    chain.client.rpc("anvil_setChainId", [1])
    try:
        os.kill(pid, signal.SIGKILL)  # the restarted actor checks the chain id again
        eventually(lambda: ray.get(ray.get_actor("venue:etherfi").ping.remote(), timeout=5)
                   != pid, 30, 0.2, "etherfi actor restarted")
        # the restarted actor's first call also builds its client: give it room to do so
        calls = node_calls(proxy, "etherfi", WrongChainError, deadline_s=10.0)
        assert calls == {"eth_chainId": 1}  # checked at setup, refused, never retried, never read
        # aave_v3 reads the same node and checks the chain on every snapshot: refused too
        error = stale_under_fault(engine, good, "etherfi", WrongChainError, also=("aave_v3",))
        assert "chain id 1" in error and str(ANVIL_CHAIN_ID) in error
    finally:
        chain.client.rpc("anvil_setChainId", [ANVIL_CHAIN_ID])
    fresh = eventually(lambda: (s := engine.get_real_positions()).complete and s, 30, 0.2,
                       "etherfi fresh on the right chain again")
    assert fresh.venues["etherfi"].positions == good.venues["etherfi"].positions
