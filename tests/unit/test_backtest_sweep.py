"""Sweep logic without Ray: expansion, dispatch with re-runs (stub pool), output files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from actors.backtest.data.synthetic import synthetic_market
from actors.backtest.report import write_sweep_outputs
from actors.backtest.simulator import Simulator
from actors.backtest.sweep import SweepConfig, SweepError, SweepResult, dispatch, expand, load_sweep
from factory.errors import ConfigError

SWEEPS = sorted((Path(__file__).resolve().parents[2] / "configs" / "sweeps").glob("*.yaml"))


class Lost(Exception):
    """Stands for RayActorError: the actor (or its node) is gone."""


class Fut:
    """A hashable future, like an ObjectRef."""

    def __init__(self, kind, actor, scenario=None):
        self.kind, self.actor, self.scenario = kind, actor, scenario


class StubPool:
    """A hand-written pool: actors are names; some scenarios lose their actor on first run."""

    def __init__(self, lose_first=(), lose_always=(), fail=()):
        self.spawned, self.killed, self.runs = [], set(), Counter()
        self.lose_first, self.lose_always, self.fail = set(lose_first), set(lose_always), set(fail)

    def spawn(self):
        self.spawned.append(f"actor{len(self.spawned)}")
        return self.spawned[-1]

    def ready(self, actor):
        return Fut("ready", actor)

    def submit(self, actor, scenario):
        return Fut("run", actor, scenario)

    def wait(self, futures, timeout_s):
        return futures[:1]

    def get(self, fut):
        if fut.kind == "ready":
            return "node"
        actor, sc = fut.actor, fut.scenario
        self.runs[sc.id] += 1
        if sc.id in self.lose_always or (sc.id in self.lose_first and self.runs[sc.id] == 1):
            raise Lost(actor)
        if sc.id in self.fail:
            raise ValueError("scenario bug")
        return SimpleNamespace(id=sc.id, actor=actor)

    def kill(self, actor):
        self.killed.add(actor)

    def is_lost(self, exc):
        return isinstance(exc, Lost)


def scenarios(n):
    return [SimpleNamespace(id=f"s{i}") for i in range(n)]


def test_dispatch_reruns_the_scenarios_of_lost_actors_and_keeps_order():
    pool, seen = StubPool(lose_first={"s3", "s7"}), []
    results, errors, reruns = dispatch(scenarios(10), pool, size=2,
                                       progress=lambda d, n, r: seen.append(d))
    assert [r.id for r in results] == [f"s{i}" for i in range(10)]
    assert errors == {} and reruns == 2 and pool.runs["s3"] == 2
    assert len(pool.spawned) == 4  # two at start, one replacement per lost actor
    assert set(pool.spawned) <= pool.killed  # every actor is released at the end
    assert seen == list(range(1, 11))


def test_dispatch_gives_up_on_a_scenario_that_always_loses_its_actor():
    with pytest.raises(SweepError, match="s1 lost its actor 3 times"):
        dispatch(scenarios(3), StubPool(lose_always={"s1"}), size=2, max_attempts=3)


def test_a_failing_scenario_is_reported_not_retried():
    pool = StubPool(fail={"s2"})
    results, errors, reruns = dispatch(scenarios(4), pool, size=2)
    assert results[2] is None and "scenario bug" in errors["s2"]
    assert pool.runs["s2"] == 1 and reruns == 0


def sweep_cfg(**kw):
    base = {"modes": ["btc_basis", "eth_basis"],
            "windows": [{"start": "2024-01-01", "end": "2024-02-01"},
                        {"start": "2024-02-01", "end": "2024-03-01"}],
            "grid": {"strategy.rebalance_interval_h": [8, 24],
                     "thresholds.target_margin_ratio": [0.4, 0.5]}}
    base.update(kw)
    return SweepConfig.model_validate(base)


def test_expand_crosses_modes_windows_and_grid_with_overrides_applied():
    out = expand(sweep_cfg())
    assert len(out) == 2 * 2 * 4 and len({s.id for s in out}) == 16
    s = out[5]
    assert s.config.strategy.rebalance_interval_h == s.overrides["strategy.rebalance_interval_h"]
    assert s.config.thresholds.target_margin_ratio == s.overrides["thresholds.target_margin_ratio"]


@pytest.mark.parametrize("kw,needle", [
    ({"grid": {"strategy.nope": [1]}}, "strategy.nope"),
    ({"grid": {"thresholds.min_health_factor": [0.5]}}, "min_health_factor"),
    ({"modes": ["no_such_mode"]}, "file not found"),
    ({"windows": [{"start": "2024-02-01", "end": "2024-01-01"}]}, "not before"),
])
def test_expand_rejects_bad_sweeps_with_a_named_field(kw, needle):
    with pytest.raises(ConfigError, match=needle):
        expand(sweep_cfg(**kw))


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.name)
def test_shipped_sweep_files_are_valid(path):
    assert expand(load_sweep(path))


def test_config_check_validates_sweep_files(capsys):
    from actors.cli.main import main as basis

    assert basis(["config", "check", *map(str, SWEEPS)]) == 0


def test_outputs_table_fingerprints_charts_and_report(tmp_path):
    market = synthetic_market(seed=2, days=40)
    scen = expand(sweep_cfg(windows=[{"start": "2024-01-01", "end": "2024-01-15"}],
                            grid={"strategy.rebalance_interval_h": [8, 24]}))
    results = [Simulator(s.config, market, s.start, s.end, scenario=s.labels()).run() for s in scen]
    sweep = SweepResult(scen, results, {}, 0, 2, 1.0)
    paths = write_sweep_outputs(sweep, tmp_path, title="unit")
    df = pd.read_parquet(paths["parquet"])
    for col in ("apy", "volatility", "max_drawdown", "sharpe", "funding_share",
                "min_health_factor", "min_margin_ratio", "fingerprint"):
        assert col in df.columns
    assert len(df) == len(pd.read_csv(paths["csv"])) == 4
    fps = json.loads(paths["fingerprints"].read_text())
    assert fps == {s.id: r.fingerprint for s, r in zip(scen, results)}
    assert paths["equity"].read_bytes()[:4] == b"\x89PNG" and paths["drawdown"].exists()
    assert "data:image/png;base64" in paths["html"].read_text()


def test_cluster_yaml_is_a_valid_ray_launcher_file_installing_this_project():
    import yaml
    from ray.autoscaler._private.util import prepare_config, validate_config

    raw = (Path(__file__).resolve().parents[2] / "cluster.yaml").read_text()
    cfg = prepare_config(yaml.safe_load(raw))
    validate_config(cfg)
    assert cfg["provider"]["type"] == "aws"
    assert set(cfg["available_node_types"]) == {"head", "worker"}
    assert any("pip install -q -c constraints.txt ." in c for c in cfg["setup_commands"])
    assert all("RAY_AUTH_MODE=token" in " ".join(cfg[k])
               for k in ("head_start_ray_commands", "worker_start_ray_commands"))
