"""A venue answer is read up to the venue's ``max_response_bytes`` and no further.

A 64 MB answer (from a small server on 127.0.0.1 in front of the exchange emulator or anvil)
fails the attempt with the retryable `ResponseTooLargeError` for both venue kinds, the server
sees the client stop reading long before the end (a streaming cap, not read-then-check), and the
same backend or venue actor reads normally once the answer is sane again. The venue actor's
memory is printed (peak and resident before and after), not asserted: benchmarks are not tests.
"""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
import ray

from actors.options import venue_actor_options
from actors.venue_actor import VenuePositionActor
from factory.config import venue_defaults
from factory.errors import ResponseTooLargeError, is_retryable
from factory.interfaces.cex.live import CEXLiveBackend
from factory.interfaces.evm.onchain_live import OnChainLiveBackend
from factory.positions import utc
from tests.integration.fault_server import HUGE_BYTES, FaultServer
from tests.integration.test_monitor_live import live_mode

CAP = venue_defaults()["binance"].max_response_bytes
RPC_PATH = "/v3/5be1f0c2a9d84e7fb3c6a1d2e4f50617"


@pytest.fixture
def exchange_front(clean_exchange):
    with FaultServer(clean_exchange.url, keep_path=True) as server:
        yield server


@pytest.fixture
def node_front(anvil_node):
    with FaultServer(anvil_node.url, keep_path=False) as server:
        yield server


def cex_backend(exchange, front: FaultServer) -> CEXLiveBackend:
    env = exchange.env("binance")
    env["BASIS_BINANCE_API_BASE_URL"] = front.url + "/binance"
    return CEXLiveBackend(venue_defaults()["binance"], environ=env)


def chain_backend(chain_mode, desk: str, front: FaultServer) -> OnChainLiveBackend:
    env = {"BASIS_ETHEREUM_RPC_URL": front.url + RPC_PATH, "BASIS_WALLET_ADDRESSES": desk}
    return OnChainLiveBackend(chain_mode.venue_config("etherfi"), environ=env)


@pytest.mark.parametrize("announce_length", [False, True])
async def test_a_64mb_exchange_answer_stops_at_the_cap_and_the_venue_recovers(
    clean_exchange, exchange_front, announce_length
):
    backend = cex_backend(clean_exchange, exchange_front)
    try:
        good = await backend.fetch_snapshot(utc())
        exchange_front.mode, exchange_front.announce_length = "huge", announce_length

        with pytest.raises(ResponseTooLargeError) as info:
            await backend.fetch_snapshot(utc())

        err = info.value
        assert is_retryable(err) and err.limit_bytes == CAP and err.venue == "binance"
        assert "GET /" in str(err) and str(CAP) in str(err)
        assert exchange_front.huge_bytes_sent < HUGE_BYTES // 2  # the read stopped early
        exchange_front.mode = "forward"
        again = await backend.fetch_snapshot(utc())
        assert again.positions == good.positions and again.positions
    finally:
        await backend.close()


@pytest.mark.parametrize("announce_length", [False, True])
async def test_a_64mb_node_answer_stops_at_the_cap_and_the_venue_recovers(
    chain, chain_mode, desk, node_front, announce_length
):
    chain.fund(desk, weETH=2)
    backend = chain_backend(chain_mode, desk, node_front)
    try:
        good = await backend.fetch_snapshot(utc())
        assert good.positions["etherfi:LST:weETH"].amount == 2.0
        node_front.mode, node_front.announce_length = "huge", announce_length

        with pytest.raises(ResponseTooLargeError) as info:
            await backend.fetch_snapshot(utc())

        assert is_retryable(info.value) and info.value.limit_bytes == CAP
        assert "eth_" in str(info.value) and "v3" not in str(info.value)
        assert node_front.huge_bytes_sent < HUGE_BYTES // 2
        node_front.mode = "forward"
        again = await backend.fetch_snapshot(utc())
        assert again.positions == good.positions
    finally:
        await backend.close()


def test_the_cap_is_a_venue_setting():
    small = venue_defaults()["okx"].model_copy(update={"max_response_bytes": 4096})
    assert small.max_response_bytes == 4096
    assert venue_defaults()["aave_v3"].max_response_bytes == 8 * 1024 * 1024


def _memory_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) of a process in MB, from /proc (Linux)."""
    rss = psutil.Process(pid).memory_info().rss / 2**20
    peak = rss
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return rss, peak


@pytest.mark.parametrize("venue", ["binance", "etherfi"])
def test_a_venue_actor_under_a_64mb_answer_fails_typed_and_recovers(
    ray_session, clean_exchange, sandbox, anvil_node, venue
):
    cex = venue == "binance"
    upstream = clean_exchange.url if cex else anvil_node.url
    with FaultServer(upstream, keep_path=cex) as front:
        env = ({"BASIS_BINANCE_API_BASE_URL": front.url + "/binance"} if cex
               else {"BASIS_ETHEREUM_RPC_URL": front.url + RPC_PATH})
        options = {**venue_actor_options(venue), "name": f"venue:{venue}:cap-test",
                   "get_if_exists": False, "runtime_env": {"env_vars": env}}
        mode = live_mode(sandbox, venues=[venue])
        actor = ray.remote(VenuePositionActor).options(**options).remote(venue, "live", mode)
        try:
            pid = ray.get(actor.ping.remote(), timeout=60)
            good = ray.get(actor.snapshot.remote(None, 10), timeout=60)
            rss_before, peak_before = _memory_mb(pid)
            front.mode = "huge"

            with pytest.raises(ResponseTooLargeError):
                ray.get(actor.snapshot.remote(None, 5), timeout=60)

            rss_fault, peak_fault = _memory_mb(pid)
            front.mode = "forward"
            again = ray.get(actor.snapshot.remote(None, 10), timeout=60)
            rss_after, _ = _memory_mb(pid)
            assert again.status == "ok" and again.positions == good.positions
            print(f"\n{venue} actor memory MB: resident {rss_before:.0f} before, "
                  f"{rss_fault:.0f} after the 64 MB answers, {rss_after:.0f} after recovery; "
                  f"peak {peak_before:.0f} before, {peak_fault:.0f} with the fault; "
                  f"huge answers {front.served['huge']}, bytes sent "
                  f"{front.huge_bytes_sent / 2**20:.0f} MB")
        finally:
            ray.kill(actor)
