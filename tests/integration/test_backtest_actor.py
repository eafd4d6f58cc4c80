"""SimulatorActor: the Ray shell runs a scenario exactly as the plain Simulator does."""

from __future__ import annotations

from actors.backtest.data.synthetic import synthetic_market
from actors.backtest.simulator import Simulator, simulator_options, spawn_simulator
from factory.config import config_dir, load_mode


def test_simulator_actor_matches_the_in_process_run(ray_session):
    ray = ray_session
    market = synthetic_market(seed=9, days=40)
    cfg = load_mode(config_dir() / "modes" / "usdt_eth_staking_hedged_leveraged.yaml")
    local = Simulator(cfg, market, "2024-01-01", "2024-02-01").run()
    actor = spawn_simulator(ray.put(market))
    try:
        ref = actor.run.remote(cfg, "2024-01-01", "2024-02-01", {"id": "x"})
        remote = ray.get(ref, timeout=120)
    finally:
        ray.kill(actor)
    assert remote.fingerprint == local.fingerprint
    assert remote.attribution == local.attribution
    assert remote.scenario["id"] == "x" and remote.scenario["node_id"]


def test_simulator_actor_options_live_in_one_place():
    opts = simulator_options()
    assert opts["num_cpus"] == 1 and opts["max_restarts"] == 0
    assert simulator_options(num_cpus=2)["num_cpus"] == 2
