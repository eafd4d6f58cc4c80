"""`basis config check`: ok per file, or one line per problem and exit status 2."""

from pathlib import Path

from actors.cli.main import main

REPO = Path(__file__).resolve().parents[2]


def test_shipped_configs_check_ok(capsys):
    paths = sorted(str(p) for p in (REPO / "configs").glob("*/*.yaml"))
    assert main(["config", "check", *paths]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(paths) and all(line.endswith(": ok") for line in out)


def test_a_broken_mode_exits_2_with_one_line_per_problem(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "mode: bad\nvenus: [binance]\npositions: [okx:Perp:BTC-USDT-SWAP]\n"
        "reconciliation: {abs_tol: -1}\n"
    )
    assert main(["config", "check", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3
    fields = sorted(line.split(": ")[1] for line in err)
    assert fields == ["positions.0", "reconciliation.abs_tol", "venus"]
    assert all(line.startswith(str(bad)) for line in err)


def test_a_missing_file_is_one_line_not_a_traceback(capsys):
    assert main(["config", "check", "/nonexistent/mode.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "/nonexistent/mode.yaml: file not found"


def test_a_venue_file_is_checked_against_the_venue_model(tmp_path, capsys):
    d = tmp_path / "venues"
    d.mkdir()
    f = d / "binance.yaml"
    f.write_text("venue: binance\nkind: dex\n")
    assert main(["config", "check", str(f)]) == 2
    assert "kind" in capsys.readouterr().err
