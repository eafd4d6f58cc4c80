"""What a user sees when the hedges are unknown: ``basis monitor --once`` with every exchange's
credentials rejected, on the leveraged staking book with all weETH on AAVE.

The chain venues answer (10 aweETH against 6 WETH of debt, weETH rate 1.05 read by etherfi
while the wallet holds no weETH); the three exchanges that hold the perp hedges do not. Net ETH
is unknown and waits for them: no number, no "beyond tolerance" warning.
"""

from __future__ import annotations

import yaml

from actors.cli.main import main
from factory.positions import PortfolioSnapshot
from factory.sandbox.chain import venue_settings_for

EXCHANGES = ["binance", "bybit", "okx"]


def write_mode(tmp_path, sandbox):
    settings = venue_settings_for(sandbox)
    path = tmp_path / "mode.yaml"
    path.write_text(yaml.safe_dump({
        "mode": "leveraged_unknown_hedges",
        "venues": ["aave_v3", "etherfi", *EXCHANGES],
        "positions": ["aave_v3:aToken:aweETH", "aave_v3:debtToken:debtWETH",
                      *(f"{v}:Perp:ETHUSDT" for v in EXCHANGES)],
        "strategy": {"family": "basis", "underlying": "ETH"},
        "thresholds": {"delta_tolerance": 0.005},
        "monitor": {"deadline_s": 5.0},
        "venue_settings": {v: settings[v] for v in ("aave_v3", "etherfi")},
    }))
    return path


def test_with_every_exchange_rejected_net_eth_is_unknown_not_unhedged(
    ray_session, clean_exchange, chain, sandbox, live_environ, tmp_path, monkeypatch, capfd
):
    desk = sandbox.users[0]  # the address live_environ gives the chain venues
    chain.set_lst_rate("weETH", 1.05)
    chain.fund(desk, weETH=10)
    chain.aave_supply(desk, "weETH", 10)
    chain.aave_set_emode(desk, 1)
    chain.aave_borrow(desk, "WETH", 6)
    for name, value in live_environ.items():
        monkeypatch.setenv(name, value)
    for venue in EXCHANGES:
        revoked = {"api_key": "revoked-key", "secret": "revoked-secret",
                   "passphrase": "revoked-pass" if venue == "okx" else None}
        clean_exchange.set_account(venue, {**clean_exchange.account(venue).model_dump(),
                                           "credentials": revoked})
    mode = write_mode(tmp_path, sandbox)

    code = main(["monitor", str(mode), "--once", "--json", "--db", str(tmp_path / "h.sqlite")])
    snap = PortfolioSnapshot.model_validate_json(capfd.readouterr().out)

    assert code == 1 and snap.missing == EXCHANGES
    assert snap.venues["etherfi"].positions == {}
    assert snap.venues["etherfi"].rates == {"weETH": 1.05}  # read although the wallet has none
    assert snap.net_exposure["ETH"] is None
    why = snap.unknown["net_exposure.ETH"]
    assert why.waiting_for == EXCHANGES and "AuthenticationError" in why.reason
    kinds = {a.kind for a in snap.alerts}
    assert "net_delta" not in kinds and "unknown" in kinds

    code = main(["monitor", str(mode), "--once", "--db", str(tmp_path / "h.sqlite")])
    view = capfd.readouterr().out
    assert code == 1
    assert "beyond tolerance" not in view
    assert "unknown (waiting for: binance, bybit, okx)" in view
