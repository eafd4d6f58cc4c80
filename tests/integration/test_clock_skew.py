"""Clock skew: a venue whose clock is off is resynced and read, through real ccxt over HTTP.

The exchange emulator runs one venue's clock off (``set_clock_offset``) and answers signed
requests with that venue's real timestamp-window error: binance HTTP 400 code -1021, bybit
retCode 10002, okx HTTP 401 code 50102 (OKX allows 30 s, so its clock is a minute off). The
backend resyncs its offset from the venue's server time and retries once, so the snapshot is
``ok``; the next one is signed right from the start. A skew no resync can fix (the emulator's
``clock_skew`` fault: the time endpoint shows a clock the signature check does not use) is a
`ClockSkewError` after exactly one retry, never an `AuthenticationError`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from factory.config import venue_defaults
from factory.errors import AuthenticationError, ClockSkewError, is_retryable
from factory.interfaces.cex.live import CEXLiveBackend
from factory.sandbox.exchange import ExchangeEmulator, Fault

REPO = Path(__file__).resolve().parents[2]
#: venue -> (clock offset that breaks its window, first signed path, its rejection: status, code)
SKEW = {
    "binance": (-5.0, "/api/v3/account", 400, "-1021"),
    "bybit": (-5.0, "/v5/account/wallet-balance", 200, "10002"),
    "okx": (-60.0, "/api/v5/account/balance", 401, "50102"),
}
VENUES = sorted(SKEW)


@pytest.fixture
async def emulator():
    async with ExchangeEmulator(scenario=REPO / "configs" / "sandbox.yaml") as emu:
        yield emu


def backend(emu: ExchangeEmulator, venue: str) -> CEXLiveBackend:
    return CEXLiveBackend(venue_defaults()[venue], environ=emu.env(venue))


@pytest.mark.parametrize("venue", VENUES)
async def test_a_venue_clock_off_is_resynced_and_the_snapshot_is_ok(emulator, venue):
    offset_s, first_path, status, _code = SKEW[venue]
    be = backend(emulator, venue)
    try:
        emulator.set_clock_offset(venue, offset_s)
        snap = await be.fetch_snapshot(None)
        assert snap.status == "ok" and snap.positions
        assert abs(snap.timestamp.timestamp() - emulator.now(venue)) < 5  # the venue's clock
        signed = [r for r in emulator.requests(venue) if r.signed]
        assert (signed[0].path, signed[0].status, signed[0].outcome) == (
            first_path, status, "unauthenticated")  # the venue's real rejection, once
        assert all(r.outcome == "ok" for r in signed[1:])
        emulator.clear_requests()
        again = await be.fetch_snapshot(None)  # the next snapshot: signed right at once
        assert again.status == "ok" and again.positions == snap.positions
        assert all(r.outcome == "ok" for r in emulator.requests(venue))
    finally:
        await be.close()


@pytest.mark.parametrize("venue", VENUES)
async def test_a_skew_the_resync_cannot_fix_is_a_clock_skew_error_after_one_retry(
    emulator, venue
):
    offset_s, first_path, status, code = SKEW[venue]
    emulator.inject(venue, Fault(kind="clock_skew", offset_s=offset_s, path_prefix=first_path))
    be = backend(emulator, venue)
    try:
        with pytest.raises(ClockSkewError) as info:
            await be.fetch_snapshot(None)
    finally:
        await be.close()
    assert not isinstance(info.value, AuthenticationError) and not is_retryable(info.value)
    assert info.value.code == code and "clock skew" in str(info.value)
    signed = [(r.path, r.status) for r in emulator.requests(venue) if r.signed]
    assert signed == [(first_path, status)] * 2  # the first try and the one retry
