"""`basis demo` end to end, as `make demo` runs it (a subprocess with its own sandbox and Ray)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_demo_runs_to_completion_with_stale_then_recovered_venues(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BASIS_") and k != "RAY_ADDRESS"}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    out = subprocess.run(
        [sys.executable, "-m", "actors.cli", "demo", "--quick", "--plain", "--out",
         str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-3000:]
    assert "Traceback" not in text
    venues = re.search(r"positions on (\d+) venues", text)
    assert venues and int(venues.group(1)) >= 6
    recovered = re.search(r"venues seen stale and recovered: (.*)", text).group(1)
    assert {"okx", "binance"} <= {v.strip() for v in recovered.split(",")}
    lines = [line for line in out.stdout.splitlines() if line.startswith("t=")]
    assert any("okx=stale" in line for line in lines) and any("binance=stale" in line
                                                              for line in lines)
    report = tmp_path / "sweep" / "report.html"
    assert report.is_file() and report.stat().st_size > 1000
    assert (tmp_path / "sweep" / "equity.png").is_file()
    assert (tmp_path / "history.sqlite").is_file()
