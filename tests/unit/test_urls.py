"""One URL re-rooting for the live client and the history fetch."""

from __future__ import annotations

import ccxt
import pytest

from actors.backtest.data.fetch import make_exchange
from factory.urls import reroot_urls


def test_urls_move_to_the_base_keeping_their_paths_and_other_values_stay():
    urls = {"public": "https://api.binance.com/api/v3", "nested": {"f": "https://fapi.x.com/fapi/v1"},
            "template": "https://api.{hostname}", "note": "not a url", "none": None}
    assert reroot_urls(urls, "http://127.0.0.1:9/p/") == {
        "public": "http://127.0.0.1:9/p/api/v3", "nested": {"f": "http://127.0.0.1:9/p/fapi/v1"},
        "template": "http://127.0.0.1:9/p", "note": "not a url", "none": None,
    }


@pytest.mark.parametrize("venue", ["binance", "bybit", "okx"])
def test_the_history_fetch_reroots_every_url_as_the_live_client_does(venue):
    exchange = make_exchange(venue, "http://127.0.0.1:9/prefix")
    assert exchange.urls["api"] == reroot_urls(getattr(ccxt, venue)().urls["api"],
                                               "http://127.0.0.1:9/prefix")
