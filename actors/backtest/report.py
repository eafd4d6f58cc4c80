"""Sweep outputs: results table (CSV + Parquet), fingerprints, PNG charts and an HTML report.

Files written under the output directory:

- ``results.csv`` / ``results.parquet``: one row per scenario (labels, overrides as columns,
  apy, volatility, max_drawdown, sharpe, funding_share, min_health_factor, min_margin_ratio,
  final equity, attribution, fingerprint, node, runtime, and the data-quality counts
  ``dq.complete``, ``dq.funding_expected``, ``dq.funding_booked``, ``dq.funding_missing``,
  ``dq.filled_steps``, ``dq.duplicates_dropped``, ``dq.conflicts``, ``dq.clipped``,
  ``dq.stand_ins``);
- ``fingerprints.json``: ``{scenario id: sha256 of the equity curve}``;
- ``equity.png`` / ``drawdown.png``: every scenario's curve normalised to its start (Agg);
- ``report.html``: the table and both charts inline (one self-contained file).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["dq_columns", "results_table", "write_sweep_outputs"]

COLUMNS = ["apy", "volatility", "max_drawdown", "sharpe", "funding_share",
           "min_health_factor", "min_margin_ratio"]


def dq_columns(dq: dict) -> dict[str, Any]:
    """Return a result's ``data_quality`` block as flat table columns (``dq.*``)."""
    funding = (dq or {}).get("funding", {}).values()
    return {
        "dq.complete": bool((dq or {}).get("complete", True)),
        "dq.funding_expected": sum(f["expected"] for f in funding),
        "dq.funding_booked": sum(f["booked"] for f in funding),
        "dq.funding_missing": sum(f["missing"] for f in funding),
        "dq.filled_steps": sum((dq or {}).get("forward_filled_steps", {}).values()),
        "dq.duplicates_dropped": sum((dq or {}).get("duplicates_dropped", {}).values()),
        "dq.conflicts": sum((dq or {}).get("conflicting_duplicates", {}).values()),
        "dq.clipped": "; ".join((dq or {}).get("window", {}).get("clipped", [])),
        "dq.stand_ins": "; ".join(s.split(" (")[0] for s in (dq or {}).get("stand_ins", [])),
    }


def results_table(sweep: Any):
    """Return the results as a DataFrame, one row per scenario (failed ones with an error)."""
    import pandas as pd

    rows = []
    for s, r in zip(sweep.scenarios, sweep.results):
        row: dict[str, Any] = {"id": s.id, "mode": s.mode, "window_start": s.start,
                               "window_end": s.end}
        row.update({f"set.{k}": v for k, v in s.overrides.items()})
        if r is None:
            row["error"] = sweep.errors.get(s.id, "failed")
            rows.append(row)
            continue
        summ = r.summary()
        row.update({"start": summ["start"], "end": summ["end"], "steps": summ["steps"],
                    "initial_equity": summ["initial_equity"], "final_equity": summ["final_equity"]})
        row.update({c: summ[c] for c in COLUMNS})
        row.update({f"pnl.{k}": v for k, v in summ["attribution"].items()})
        row.update({"margin_breaches": summ["margin_breaches"], "rebalances": summ["rebalances"],
                    "fingerprint": summ["fingerprint"], "runtime_s": summ["runtime_s"],
                    "node_id": r.scenario.get("node_id", "")})
        row.update(dq_columns(r.data_quality))
        rows.append(row)
    df = pd.DataFrame(rows)
    for c in df.columns:  # mixed grid values (bool/float/str) -> one parquet-friendly type
        if c.startswith("set.") and df[c].map(type).nunique() > 1:
            df[c] = df[c].astype(str)
    return df


def _charts(sweep: Any, out: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = {}
    for name, title in (("equity", "Equity (start = 1)"), ("drawdown", "Drawdown")):
        fig, ax = plt.subplots(figsize=(10, 4.5), dpi=100)
        for s, r in zip(sweep.scenarios, sweep.results):
            if r is None:
                continue
            curve = np.concatenate(([r.initial_equity], r.equity)) / r.initial_equity
            hours = np.arange(len(curve)) * r.step_s / 86400.0
            y = curve if name == "equity" else curve / np.maximum.accumulate(curve) - 1.0
            ax.plot(hours, y, lw=0.8, alpha=0.7, label=s.id if len(sweep.scenarios) <= 12 else None)
        ax.set_title(title)
        ax.set_xlabel("days from window start")
        ax.grid(alpha=0.3)
        if len(sweep.scenarios) <= 12:
            ax.legend(fontsize=6)
        fig.tight_layout()
        paths[name] = out / f"{name}.png"
        fig.savefig(paths[name])
        plt.close(fig)
    return paths


def _quality_html(sweep: Any) -> str:
    """Return the report's data-quality paragraph: what every scenario's data was worth."""
    from actors.backtest.data.quality import quality_line

    items = []
    for s, r in zip(sweep.scenarios, sweep.results):
        line = quality_line(r.data_quality) if r is not None else None
        if line:
            items.append(f"<li>{html.escape(s.id)}: {html.escape(line)}</li>")
    if not items:
        return "<h2>Data quality</h2><p>Every scenario: no gap, fill, duplicate or stand-in.</p>"
    return (f"<h2>Data quality</h2><p>{len(items)} scenario(s) with counts "
            f"(the table's dq.* columns):</p><ul>{''.join(items)}</ul>")


def write_sweep_outputs(sweep: Any, out_dir: str | Path, title: str = "sweep") -> dict[str, Path]:
    """Write table, fingerprints, charts and the HTML report; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    df = results_table(sweep)
    paths = {"csv": out / "results.csv", "parquet": out / "results.parquet",
             "fingerprints": out / "fingerprints.json", "html": out / "report.html"}
    df.to_csv(paths["csv"], index=False, float_format="%.10g")
    df.to_parquet(paths["parquet"], index=False)
    paths["fingerprints"].write_text(
        json.dumps(sweep.fingerprints(), indent=1, sort_keys=True) + "\n"
    )
    charts = _charts(sweep, out)
    paths.update(charts)
    imgs = "".join(
        f'<h2>{name.title()}</h2><img alt="{name}" src="data:image/png;base64,'
        f'{base64.b64encode(p.read_bytes()).decode()}"/>'
        for name, p in charts.items()
    )
    done = sum(r is not None for r in sweep.results)
    head = (f"<p>{done}/{len(sweep.scenarios)} scenarios, {sweep.actors} actors, "
            f"{sweep.reruns} re-run(s) after lost actors, {sweep.wall_s:.1f} s wall.</p>")
    head += _quality_html(sweep)
    table = df.to_html(index=False, float_format=lambda x: f"{x:.6g}", na_rep="")
    paths["html"].write_text(
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif}}"
        "table{border-collapse:collapse;font-size:11px}td,th{border:1px solid #ccc;"
        "padding:2px 4px}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{head}{imgs}<h2>Scenarios</h2>{table}</body></html>\n"
    )
    return paths
