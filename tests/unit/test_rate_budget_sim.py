"""The rate-budget simulation's arithmetic on a hand-computed case, and the limits file's sources.

Case (3 accounts, weights x=2, y=1 -> x: 2 accounts, y: 1):

- x: ``ip`` 60 weight per 60 s (fixed), 2 weight a snapshot; ``uid`` 10 per 10 s, 1 a snapshot.
  Alone an account needs max(2 x 60/60, 1 x 10/10) = 2 s; two behind one address share the ip
  budget: 2 x 2 = 4 s. Synchronized every 3 s they put 2 x 2 x ceil(60/3) = 80 > 60 on it.
  For a 3 s period one address holds floor(3 / 2) = 1 account: 2 addresses. Through its
  master key (``master_key``: ``uid`` 90 per 60 s, 30 a sub-account) the 2 accounts share the
  master's budget: 2 x 60 / floor(90 / 30) = 40 s.
- y: ``uid`` 4 per 2 s (rolling), 2 a snapshot: 1 s, whatever the sharing; no address limit.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from tests.bench.sim_rate_budgets import (
    LIMITS_PATH,
    READ_VIA,
    Budget,
    Exchange,
    LimitsError,
    allocate,
    load_limits,
    main,
    min_period,
    simulate,
    violations,
)

CASE = {
    "account_weights": {"x": 2, "y": 1},
    "exchanges": {
        "x": {
            "budgets": [
                {
                    "name": "ip",
                    "scope": "ip",
                    "limit": 60,
                    "window_s": 60,
                    "window": "fixed",
                    "source": "https://x.example/limits",
                    "read_via": "exchange_page",
                },
                {
                    "name": "acct",
                    "scope": "uid",
                    "limit": 10,
                    "window_s": 10,
                    "window": "rolling",
                    "source": "https://x.example/limits",
                    "read_via": "exchange_page",
                },
            ],
            "snapshot": [
                {
                    "endpoint": "GET /account",
                    "cost": {"ip": 2, "acct": 1},
                    "source": "https://x.example/account",
                    "read_via": "exchange_page",
                }
            ],
            "master_key": {
                "budgets": [
                    {
                        "name": "sub",
                        "scope": "uid",
                        "limit": 90,
                        "window_s": 60,
                        "window": "fixed",
                        "source": "https://x.example/sub",
                        "read_via": "ccxt",
                    },
                ],
                "per_sub_account": [
                    {
                        "endpoint": "GET /sub/assets",
                        "cost": {"sub": 30},
                        "source": "https://x.example/sub",
                        "read_via": "ccxt",
                    },
                ],
            },
        },
        "y": {
            "budgets": [
                {
                    "name": "acct",
                    "scope": "uid",
                    "limit": 4,
                    "window_s": 2,
                    "window": "rolling",
                    "source": "https://y.example/limits",
                    "read_via": "ccxt",
                }
            ],
            "snapshot": [
                {
                    "endpoint": "GET /balance",
                    "cost": {"acct": 1},
                    "source": "https://y.example/balance",
                    "read_via": "ccxt",
                },
                {
                    "endpoint": "GET /positions",
                    "cost": {"acct": 1},
                    "source": "https://y.example/positions",
                    "read_via": "ccxt",
                },
            ],
        },
    },
}


@pytest.fixture
def case(tmp_path: Path) -> Path:
    path = tmp_path / "limits.yaml"
    path.write_text(yaml.safe_dump(CASE))
    return path


def _run(path: Path, period: str = "3", egress: int = 2) -> dict:
    exchanges, weights = load_limits(path)
    return simulate(exchanges, allocate(3, weights), Fraction(period), egress)["designs"]


def test_hand_computed_periods_per_design(case: Path) -> None:
    designs = _run(case)
    own, shared, egress = (
        designs[d]["exchanges"] for d in ("a_own_budget", "b_shared_ip", "c_egress")
    )
    assert (own["x"]["accounts"], own["y"]["accounts"]) == (2, 1)
    assert (own["x"]["min_period_s"], own["x"]["binding"]) == (2.0, "ip")
    assert (shared["x"]["min_period_s"], shared["x"]["binding"]) == (4.0, "ip")
    assert shared["y"]["min_period_s"] == own["y"]["min_period_s"] == 1.0
    assert egress["x"]["min_period_s"] == 2.0  # 2 addresses: one account each
    assert (egress["x"]["egress_for_period"], egress["y"]["egress_for_period"]) == (2, 1)
    assert designs["b_shared_ip"]["totals"]["desk_min_period_s"] == 4.0
    assert designs["c_egress"]["totals"]["egress_addresses_for_period"] == 2


def test_master_key_shares_the_masters_budget_and_others_keep_their_own(case: Path) -> None:
    d = _run(case)["d_master_key"]
    assert d["exchanges"]["x"] == {
        "accounts": 2, "min_period_s": 40.0, "binding": "sub", "via": "master_key",
        "ok_at_period": False, "egress_for_period": None,
        "reason": "sub needs 40 s whatever the number of addresses",
    }  # fmt: skip
    assert (d["exchanges"]["y"]["via"], d["exchanges"]["y"]["min_period_s"]) == ("own_keys", 1.0)
    assert (d["totals"]["desk_min_period_s"], d["totals"]["unreachable_at_period"]) == (40.0, ["x"])


def test_naive_design_overruns_the_shared_ip_budget(case: Path) -> None:
    own = _run(case)["a_own_budget"]
    assert own["exchanges"]["x"]["violations_at_period"] == [
        {
            "budget": "ip",
            "scope": "ip",
            "window_s": 60.0,
            "demand": 80.0,
            "limit": 60.0,
            "over_by": 1.333,
        }
    ]
    assert own["exchanges"]["y"]["ok_at_period"] is True
    assert own["totals"]["exchanges_in_violation_at_period"] == ["x"]
    # at its own 2 s period the pair doubles the address's budget: 2 x 2 x 30 = 120
    assert own["exchanges"]["x"]["violations_at_own_period"][0]["over_by"] == 2.0
    assert _run(case, period="8")["a_own_budget"]["exchanges"]["x"]["ok_at_period"] is True


def _worst_window(times: list[Fraction], weight: int, window: Fraction) -> int:
    """Largest weight in a half-open window (t - window, t]; a worst window ends on an event."""
    return max(weight * sum(1 for s in times if t - window < s <= t) for t in times)


def test_shared_period_is_exact_for_an_evenly_spread_schedule() -> None:
    """x's 2 accounts spread over the 4 s period fill the 60 s window to 60; faster overruns."""

    def ticks(period: Fraction) -> list[Fraction]:
        return sorted(k * period + i * period / 2 for k in range(40) for i in range(2))

    assert _worst_window(ticks(Fraction(4)), 2, Fraction(60)) == 60
    assert _worst_window(ticks(Fraction(39, 10)), 2, Fraction(60)) > 60
    assert math.ceil(Fraction(60) / Fraction(39, 20)) * 2 == 62  # the analytic count agrees


def test_a_window_admits_whole_snapshots_only() -> None:
    """7 per 10 s at 2 a snapshot admits 3 snapshots, not 3.5: 10/3 s, not 20/7 s."""
    budget = Budget("b", "uid", Fraction(7), Fraction(10), "fixed")
    ex = Exchange("z", "z", (budget,), {"b": Fraction(2)})
    assert min_period(ex, 1) == (Fraction(10, 3), "b")
    assert violations(ex, 1, Fraction(10, 3)) == []
    assert violations(ex, 1, Fraction(20, 7))[0]["demand"] == 8.0  # ceil(3.5) = 4 snapshots
    ticks = [k * Fraction(20, 7) for k in range(20)]
    assert _worst_window(ticks, 2, Fraction(10)) == 8  # over the 7 of the window
    bucket = Budget("c", "uid", Fraction(7), Fraction(10), "bucket", burst=Fraction(7))
    assert min_period(Exchange("z", "z", (bucket,), {"c": Fraction(2)}), 1)[0] == Fraction(20, 7)


def test_allocation_is_largest_remainder_and_deterministic() -> None:
    assert allocate(3, {"x": Fraction(2), "y": Fraction(1)}) == {"x": 2, "y": 1}
    assert allocate(10, {"b": Fraction(1), "a": Fraction(1), "c": Fraction(1)}) == {
        "a": 4,
        "b": 3,
        "c": 3,
    }
    assert sum(allocate(1000, load_limits()[1]).values()) == 1000


def test_an_unknown_figure_makes_the_exchange_null_and_leaves_it_out(case: Path) -> None:
    data = yaml.safe_load(case.read_text())
    data["exchanges"]["y"]["budgets"][0].update(limit="unknown", why="not published")
    case.write_text(yaml.safe_dump(data))
    designs = _run(case)
    for design in designs.values():
        assert design["exchanges"]["y"]["min_period_s"] is None
        assert "not published" in design["exchanges"]["y"]["reason"]
        assert design["totals"]["left_out"] == ["y"]
        assert design["totals"]["accounts_counted"] == 2


def test_unknown_without_why_is_refused_with_its_place(case: Path) -> None:
    data = yaml.safe_load(case.read_text())
    data["exchanges"]["y"]["budgets"][0]["limit"] = "unknown"
    case.write_text(yaml.safe_dump(data))
    with pytest.raises(LimitsError, match=r"exchanges\.y\.budgets\[0\]: limit unknown"):
        load_limits(case)


def test_bad_input_is_one_line_and_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--exchanges", "binance_usdm,nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--exchanges nope: no exchange of that name" in err


def test_limits_file_every_figure_is_sourced_or_explicitly_unknown() -> None:
    data = yaml.safe_load(LIMITS_PATH.read_text())
    assert len(data["exchanges"]) == 20
    unknown_exchanges = set()
    for key, ex in data["exchanges"].items():
        master = ex.get("master_key", {"budgets": [], "per_sub_account": []})
        ex["budgets"] += master["budgets"]
        for item in ex["budgets"] + ex["snapshot"] + master["per_sub_account"]:
            assert item["source"].startswith("https://"), (key, item)
            assert item["read_via"] in READ_VIA, (key, item)
            assert item.get("ccxt"), (key, item)
        for b in ex["budgets"]:
            figures = [b["scope"], b["limit"], b["window_s"]]
            if "unknown" in figures:
                unknown_exchanges.add(key)
                assert b["why"].strip(), (key, b)
            else:
                assert b["scope"] in ("ip", "uid"), (key, b)
                assert all(isinstance(v, int | float) and v > 0 for v in figures[1:]), (key, b)
        for req in ex["snapshot"] + master["per_sub_account"]:
            assert all(isinstance(v, int | float) and v > 0 for v in req["cost"].values())
    exchanges, _ = load_limits()
    assert {k for k, e in exchanges.items() if e.unknown} == unknown_exchanges
    assert unknown_exchanges == {"bitfinex", "htx", "mexc", "whitebit"}


def test_default_run_binance_usdm_shared_period_is_55_s(capsys: pytest.CaptureFixture) -> None:
    """220 accounts x 10 weight (account 5 + positionRisk 5) x 60 s / 2400 = 55 s."""
    assert main(["--exchanges", "binance_usdm", "--accounts", "220"]) == 0
    out = yaml.safe_load(capsys.readouterr().out)
    row = out["designs"]["b_shared_ip"]["exchanges"]["binance_usdm"]
    assert (row["min_period_s"], row["binding"]) == (55.0, "fapi_weight")
    assert out["designs"]["c_egress"]["exchanges"]["binance_usdm"]["egress_for_period"] == 11
