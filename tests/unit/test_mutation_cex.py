"""Mutation harness over every CEX venue answer the project has: no silent change.

Every leaf of each raw answer a snapshot reads (wallets, positions, server time) is deleted, set
null, set ``""``, given a wrong type and sign-flipped (tests/mutation.py), served to the real
ccxt client through `CannedTransport` and read by the project's backend and strict mapping.
Each outcome must be the unmutated canonical snapshot or a typed error; a figure of a field the
venue documents as possibly empty (``optional`` in its config) may turn unknown. Answers:

- canned: tests/data/cex/*.json (binance, bybit, okx);
- recorded: factory/data/ccxt-recorded (the venue responses ccxt's own tests replay), each served
  at the request our backend makes, beside the canned answers;
- emulator: what the project's exchange emulator answers for configs/sandbox.yaml, captured
  over HTTP through the same backend;
- markets: the instrument rows of the perps held (contract size, kind, base and quote are read
  from them), each mutant loaded by a fresh backend.
"""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import aiohttp
import pytest

from factory.config import venue_defaults
from factory.interfaces.cex.live import CEXLiveBackend
from factory.interfaces.cex.replay import load_canned
from factory.sandbox.exchange import ExchangeEmulator
from tests.mutation import run_mutations
from tests.unit.cex_canonical import TYPED, SnapshotRunner, same_or_declared_unknown
from tests.unit.test_cex_recorded import (
    BALANCES,
    CONTRACT_SIZE,
    POSITIONS,
    _case,
    _parsed_list,
    recorded_answers,
)

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "cex"
VENUES = ("binance", "bybit", "okx")
#: The paths a snapshot reads (beside the markets, read once): wallets, positions, server time.
SNAPSHOT_PATHS = {
    "binance": ("/api/v3/account", "/fapi/v3/account", "/fapi/v3/positionRisk", "/api/v3/time"),
    "bybit": ("/v5/account/wallet-balance", "/v5/position/list", "/v5/market/time"),
    "okx": ("/api/v5/account/balance", "/api/v5/asset/balances", "/api/v5/account/positions",
            "/api/v5/public/time"),
}


def snapshot_keys(venue: str, answers: dict[str, Any]) -> list[str]:
    paths = SNAPSHOT_PATHS[venue]
    return sorted(k for k in answers if k.split(" ", 1)[1].split("?")[0] in paths)


def mutate_every_snapshot_answer(name: str, venue: str, answers: dict[str, Any],
                                 keys: list[str] | None = None) -> list[str]:
    """Run the harness on each answer at ``keys``; return the silent changes found."""
    runner = SnapshotRunner(venue, answers)
    same = same_or_declared_unknown(runner.config)
    silent: list[str] = []
    try:
        assert runner.snapshot()["status"] == "ok"  # the unmutated answers read cleanly
        for key in keys or snapshot_keys(venue, answers):
            outcome = run_mutations(f"{name} {key}", answers[key], runner.serving(key), TYPED,
                                    same=same)
            assert outcome.mutations > 0
            silent += [f"{key}: {s}" for s in outcome.silent]
    finally:
        runner.close()
    return silent


@pytest.mark.parametrize("venue", VENUES)
def test_canned_answers_change_nothing_silently(venue):
    answers = load_canned(DATA / f"{venue}.json")
    assert mutate_every_snapshot_answer(f"{venue} canned", venue, answers) == []


def _recorded_sets(recorded: Path) -> list[tuple[str, str, dict[str, Any], str]]:
    out = []
    for venue, method, description, index, request_, _wallet in BALANCES:
        case = _case(recorded, venue, method, description, index)
        out.append((f"{venue} recorded {description} #{index}", venue,
                    recorded_answers(venue, {request_: case["httpResponse"]}), request_))
    for venue, method, description, request_ in POSITIONS:
        case = _case(recorded, venue, method, description)
        sizes = {p["symbol"]: p["contractSize"] for p in _parsed_list(case)}
        if (venue, description) in CONTRACT_SIZE:
            symbol, size = CONTRACT_SIZE[venue, description]
            sizes[symbol] = size
        out.append((f"{venue} recorded {description}", venue,
                    recorded_answers(venue, {request_: case["httpResponse"]}, sizes), request_))
    return out


def test_recorded_answers_change_nothing_silently(ccxt_recorded_dir):
    silent = []
    for name, venue, answers, key in _recorded_sets(ccxt_recorded_dir):
        silent += mutate_every_snapshot_answer(name, venue, answers, [key])
    assert silent == []


# -- the instruments of the perps held ---------------------------------------------------------

MARKETS = {  # the swap instrument list a snapshot's markets come from, where its rows are
    "binance": ("GET /fapi/v1/exchangeInfo", ("symbols",), "symbol"),
    "bybit": ("GET /v5/market/instruments-info?category=linear", ("result", "list"), "symbol"),
    "okx": ("GET /api/v5/public/instruments?instType=SWAP", ("data",), "instId"),
}


@pytest.mark.parametrize("venue", VENUES)
def test_instruments_of_the_perps_held_change_nothing_silently(venue):
    answers = load_canned(DATA / f"{venue}.json")
    key, rows_path, ident = MARKETS[venue]
    runner = SnapshotRunner(venue, answers)
    same = same_or_declared_unknown(runner.config)
    held = {p.split(":")[2] for p in runner.snapshot()["positions"] if ":Perp:" in p}
    runner.close()
    rows = answers[key]
    for step in rows_path:
        rows = rows[step]
    mine = {i for i, row in enumerate(rows)
            if str(row.get(ident)).replace("-", "").replace("SWAP", "") in held}
    assert len(mine) == len(held) == 2
    depth = len(rows_path)

    def include(path):  # every field of a held instrument's own row
        return len(path) == depth + 2 and path[depth] in mine

    def evaluate(answer):
        fresh = SnapshotRunner(venue, {**answers, key: answer})  # markets load once per backend
        try:
            return fresh.snapshot()
        finally:
            fresh.close()

    outcome = run_mutations(f"{venue} canned markets {key}", answers[key], evaluate, TYPED,
                            include=include, same=same)
    assert outcome.mutations > 100 and outcome.silent == []


# -- answers of the project's exchange emulator ---------------------------------------------

VOLATILE = {"timestamp", "recvWindow", "signature"}  # binance signing parameters


async def capture_emulator_answers(venue: str) -> dict[str, Any]:
    """Every answer one snapshot gets from the emulator (sandbox scenario), keyed for replay."""
    answers: dict[str, Any] = {}
    async with ExchangeEmulator(scenario=REPO / "configs" / "sandbox.yaml") as emu, \
            aiohttp.ClientSession() as http:

        async def transport(method, url, headers, body):
            async with http.request(method, url, headers=dict(headers or {}), data=body) as r:
                data = await r.json(content_type=None)
            parts = urlsplit(url)
            path = parts.path[len(f"/{venue}"):]
            query = [(k, v) for k, v in parse_qsl(parts.query) if k not in VOLATILE]
            answers[f"{method} {path}" + (f"?{urlencode(query)}" if query else "")] = data
            return data

        backend = CEXLiveBackend(venue_defaults()[venue], environ=emu.env(venue),
                                 transport=transport)
        try:
            snap = await backend.fetch_snapshot(None)
        finally:
            await backend.close()
    assert snap.status == "ok" and snap.positions
    return answers


@pytest.mark.parametrize("venue", VENUES)
def test_emulator_answers_change_nothing_silently(venue):
    answers = asyncio.run(capture_emulator_answers(venue))
    assert mutate_every_snapshot_answer(f"{venue} emulator", venue,
                                        copy.deepcopy(answers)) == []
