"""``basis sweep`` refuses bad input in one line, exit 2, before Ray starts."""

from __future__ import annotations

import pytest

from actors.cli.main import main
from tests.unit.test_data_quality import hole, make_folder

SWEEP = "configs/sweeps/basis_grid.yaml"


@pytest.fixture(autouse=True)
def _no_ray_attempt(ray_init_attempts):
    yield
    assert ray_init_attempts == []  # refused before any attempt to start Ray


def sweep(capsys, *argv, file=SWEEP):
    code = main(["sweep", str(file), "--quiet", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("n", ["0", "-3"])
def test_a_non_positive_actor_count_is_refused(capsys, tmp_path, n):
    code, out, err = sweep(capsys, "--actors", n, "--out", str(tmp_path))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"error: --actors {n}: needs a whole number of actors >= 1")


def test_an_unwritable_out_is_refused_before_the_sweep(capsys, tmp_path):
    blocker = tmp_path / "report.txt"
    blocker.write_text("a file where the output directory should go")
    code, out, err = sweep(capsys, "--out", str(blocker / "sweep"))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"--out {blocker / 'sweep'}: {blocker} is a file, not a directory" in err


def test_bad_data_is_refused_before_ray_starts(capsys, tmp_path):
    (tmp_path / "data").mkdir()
    folder = make_folder(tmp_path / "data", hole())
    (tmp_path / "s.yaml").write_text("name: s\nmodes: [btc_basis]\n")
    code, out, err = sweep(capsys, "--data", str(folder), "--out", str(tmp_path / "out"),
                           "--fallback-venue", "binance", file=tmp_path / "s.yaml")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "funding settlement missing (expected every 8 h) at 2024-01-04T00:00:00Z" in err


def test_every_sweep_row_and_the_report_carry_the_data_quality_counts(tmp_path):
    import pandas as pd

    from actors.backtest.data.synthetic import synthetic_market
    from actors.backtest.report import write_sweep_outputs
    from actors.backtest.simulator import Simulator
    from actors.backtest.sweep import SweepConfig, SweepResult, expand

    market = synthetic_market(seed=2, days=60)  # 23 missing price hours on day 41
    cfg = SweepConfig(modes=["btc_basis"], windows=[{"start": "2024-01-01", "end": "2024-01-20"},
                                                    {"start": "2024-02-01", "end": "2024-02-25"}])
    scen = expand(cfg)
    results = [Simulator(s.config, market, s.start, s.end, scenario=s.labels()).run() for s in scen]
    paths = write_sweep_outputs(SweepResult(scen, results, {}, 0, 1, 1.0), tmp_path)
    df = pd.read_csv(paths["csv"])
    assert df["dq.filled_steps"].tolist() == [0, 46]  # spot and perp, 23 steps each
    assert df["dq.funding_expected"].tolist() == df["dq.funding_booked"].tolist() == [57, 72]
    assert df["dq.funding_missing"].tolist() == [0, 0] and df["dq.complete"].all()
    report = paths["html"].read_text()
    assert "Data quality" in report and "46 forward-filled price step(s)" in report
