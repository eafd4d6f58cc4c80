"""A 32-scenario sweep on the local Ray: progress, table, report, reproducible fingerprints."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from actors.backtest.data.synthetic import synthetic_market
from actors.backtest.simulator import Simulator
from actors.backtest.sweep import expand, load_sweep, run_sweep
from actors.cli.main import main

GRID = Path(__file__).resolve().parents[2] / "configs" / "sweeps" / "basis_grid.yaml"


def test_run_sweep_reports_progress_for_every_scenario(ray_session):
    scenarios = expand(load_sweep(GRID))
    assert len(scenarios) == 32
    market = synthetic_market(seed=7)
    seen = []
    result = run_sweep(scenarios, market, progress=lambda d, n, r: seen.append((d, n)))
    assert seen == [(d, 32) for d in range(1, 33)]
    assert all(r is not None for r in result.results) and result.errors == {}
    assert result.actors == 2  # one SimulatorActor per CPU of the session's Ray
    for k in (0, 17, 31):  # the same scenario in this process gives the same curve
        s = scenarios[k]
        assert Simulator(s.config, market, s.start, s.end).run().fingerprint == \
            result.fingerprints()[s.id]


def test_basis_sweep_cli_writes_outputs_and_a_rerun_has_identical_fingerprints(
    ray_session, tmp_path, capsys
):
    runs = []
    for name in ("first", "second"):
        out = tmp_path / name
        code = main(["sweep", str(GRID), "--data", "synthetic:7", "--out", str(out)])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        summary = json.loads(captured.out)
        assert summary["completed"] == 32 and summary["errors"] == {}
        assert "32/32" in captured.err  # the progress display
        runs.append(json.loads((out / "fingerprints.json").read_text()))
        table = pd.read_parquet(out / "results.parquet")
        assert len(table) == 32 and table["apy"].notna().all()
        assert (out / "results.csv").exists() and (out / "report.html").exists()
        assert (out / "equity.png").exists() and (out / "drawdown.png").exists()
    assert runs[0] == runs[1] and len(runs[0]) == 32
