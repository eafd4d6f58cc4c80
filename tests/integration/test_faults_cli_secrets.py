"""Fault suite, what a user sees: ``basis monitor --once --json`` under faults, and no secret in it.

The existing scan (test_monitor_limits_secrets.py) covers Ray's logs, the state API, snapshots,
history and exception texts; this one covers the CLI's own output (stdout and stderr) while
venues fail with credentials rejected and a 5xx: the typed reasons are there, the secrets are not.
The CLI runs in this process on the session's Ray (it joins a Ray that is already up).
"""

from __future__ import annotations

import yaml

from actors.cli.main import main
from factory.positions import PortfolioSnapshot
from factory.sandbox.chain import venue_settings_for
from factory.sandbox.exchange import Fault
from tests.integration.test_monitor_limits_secrets import SECRETS_OF

VENUES = ["binance", "bybit", "okx", "etherfi"]


def test_monitor_once_json_names_the_typed_errors_and_prints_no_secret(
    ray_session, clean_exchange, sandbox, live_environ, tmp_path, monkeypatch, capfd
):
    for name, value in live_environ.items():  # the CLI checks the credentials it needs first
        monkeypatch.setenv(name, value)
    mode = tmp_path / "mode.yaml"
    mode.write_text(yaml.safe_dump({
        "mode": "cli_faults", "venues": VENUES, "monitor": {"deadline_s": 3.0},
        "venue_settings": {"etherfi": venue_settings_for(sandbox)["etherfi"]},
    }))
    clean_exchange.set_account("okx", {**clean_exchange.account("okx").model_dump(),
                                       "credentials": {"api_key": "revoked-key",
                                                       "secret": "revoked-secret",
                                                       "passphrase": "revoked-pass"}})
    clean_exchange.inject("bybit", Fault(kind="server_error", status=502))

    code = main(["monitor", str(mode), "--once", "--json", "--db", str(tmp_path / "h.sqlite")])
    out = capfd.readouterr()

    assert code == 1  # incomplete
    assert "Traceback" not in out.err
    snap = PortfolioSnapshot.model_validate_json(out.out)
    assert snap.missing == ["bybit", "okx"] and not snap.complete
    assert {v: s.status for v, s in snap.venues.items()} == {"binance": "ok", "etherfi": "ok"}
    reasons = {a.venue: a.message for a in snap.alerts if a.kind == "missing_venue"}
    assert "AuthenticationError" in reasons["okx"]
    assert "VenueUnavailableError" in reasons["bybit"]
    assert [line for line in out.err.splitlines() if line.startswith("error:")]
    secrets = [live_environ[name] for names in SECRETS_OF.values() for name in names]
    assert all(len(s) >= 8 for s in secrets)
    for secret in secrets:
        assert secret not in out.out and secret not in out.err
