"""The CEX client: lazy construction, credentials, URL re-rooting, hook points, public names."""

from __future__ import annotations

import pickle
from pathlib import Path
from urllib.parse import urlsplit

import ccxt.async_support as ccxt
import pytest

from factory import ExecutionInterfaceFactory
from factory.config import venue_defaults
from factory.errors import ConfigError, MissingCredentialError, RateLimitedError
from factory.interfaces.cex import client as cex_client
from factory.interfaces.cex import fields as cex_fields
from factory.interfaces.cex import hooks as cex_hooks
from factory.interfaces.cex import live as cex_live
from factory.interfaces.cex import mapping as cex_mapping
from factory.interfaces.cex.client import reroot_urls
from factory.interfaces.cex.hooks import Endpoint, EndpointResolver
from factory.interfaces.cex.interface import CEXPositionInterface
from factory.interfaces.cex.live import CEXLiveBackend
from factory.interfaces.cex.options import cex_options
from factory.interfaces.cex.replay import CannedTransport, load_canned

DATA = Path(__file__).resolve().parent.parent / "data" / "cex"
CEX = ["binance", "bybit", "okx"]
ENV = {
    "BASIS_BINANCE_API_KEY": "k", "BASIS_BINANCE_API_SECRET": "s",
    "BASIS_BYBIT_API_KEY": "k", "BASIS_BYBIT_API_SECRET": "s",
    "BASIS_OKX_API_KEY": "k", "BASIS_OKX_API_SECRET": "s", "BASIS_OKX_API_PASSPHRASE": "p",
}


@pytest.fixture(autouse=True)
def _no_cex_env(monkeypatch):
    for venue in CEX:
        for suffix in ("API_KEY", "API_SECRET", "API_PASSPHRASE", "API_BASE_URL"):
            monkeypatch.delenv(f"BASIS_{venue.upper()}_{suffix}", raising=False)


def _flat(urls) -> list[str]:
    if isinstance(urls, dict):
        return [u for v in urls.values() for u in _flat(v)]
    return [urls] if isinstance(urls, str) else []


@pytest.mark.parametrize("venue", CEX)
def test_every_api_url_is_rerooted_keeping_its_path(venue):
    original = getattr(ccxt, venue)().urls["api"]
    rerooted = reroot_urls(original, "http://127.0.0.1:9/prefix")
    before, after = _flat(original), _flat(rerooted)
    assert len(after) == len(before) > 0
    for old, new in zip(before, after):
        assert new == "http://127.0.0.1:9/prefix" + urlsplit(old).path
    if venue == "binance":  # load_markets also reaches sapi and dapi: every key moves
        assert rerooted["sapi"] == "http://127.0.0.1:9/prefix/sapi/v1"
        assert rerooted["dapiPublic"] == "http://127.0.0.1:9/prefix/dapi/v1"
        assert rerooted["fapiPrivateV3"] == "http://127.0.0.1:9/prefix/fapi/v3"


@pytest.mark.parametrize("venue", CEX)
def test_interface_is_built_without_credentials_or_network(venue):
    iface = ExecutionInterfaceFactory.create_position_interface(venue, "live", {})
    assert isinstance(iface, CEXPositionInterface)
    assert iface._backend is None


@pytest.mark.parametrize("venue, variable", [
    ("binance", "BASIS_BINANCE_API_KEY"),
    ("bybit", "BASIS_BYBIT_API_KEY"),
    ("okx", "BASIS_OKX_API_KEY"),
])
async def test_first_call_without_credentials_names_the_variable(venue, variable):
    iface = ExecutionInterfaceFactory.create_position_interface(venue, "live", {})
    with pytest.raises(MissingCredentialError) as info:
        await iface.get_positions()
    assert info.value.variable == variable and variable in str(info.value)


async def test_okx_needs_its_passphrase(monkeypatch):
    monkeypatch.setenv("BASIS_OKX_API_KEY", "k")
    monkeypatch.setenv("BASIS_OKX_API_SECRET", "s")
    iface = ExecutionInterfaceFactory.create_position_interface("okx", "live", {})
    with pytest.raises(MissingCredentialError, match="BASIS_OKX_API_PASSPHRASE"):
        await iface.get_positions()


def test_base_url_comes_from_environment_first_then_config():
    cfg = venue_defaults()["bybit"].model_copy(update={"api_base_url": "https://proxy.example/b"})
    assert CEXLiveBackend(cfg, environ={}).base_url == "https://proxy.example/b"
    env = {"BASIS_BYBIT_API_BASE_URL": "http://127.0.0.1:1/bybit"}
    assert CEXLiveBackend(cfg, environ=env).base_url == "http://127.0.0.1:1/bybit"
    assert CEXLiveBackend(venue_defaults()["bybit"], environ={}).base_url is None


def test_client_urls_follow_the_base_url_and_secrets_stay_out_of_repr():
    env = {**ENV, "BASIS_OKX_API_SECRET": "very-secret-42",
           "BASIS_OKX_API_BASE_URL": "http://127.0.0.1:1/okx"}
    be = CEXLiveBackend(venue_defaults()["okx"], environ=env)
    assert be.client.urls["api"]["rest"] == "http://127.0.0.1:1/okx"
    assert be.client.enableRateLimit is False
    assert repr(be) == "CEXLiveBackend(venue='okx')"


def test_endpoint_resolver_names_weights_and_strips_the_prefix():
    limits = venue_defaults()["binance"].rate_limits
    resolve = EndpointResolver(limits, "http://127.0.0.1:1/binance")
    ep = resolve("GET", "http://127.0.0.1:1/binance/fapi/v3/account?timestamp=1&signature=x")
    assert ep == "fapi_account" and ep.path == "/fapi/v3/account"
    assert (ep.weight, ep.pools, ep.configured) == (5, ("fapi_weight",), True)
    other = resolve("GET", "http://127.0.0.1:1/binance/api/v3/ticker/price")
    assert other == "/api/v3/ticker/price" and not other.configured and other.weight == 1
    assert resolve.longest_window_s(ep) == 60


def test_endpoint_is_a_str_that_pickles_with_its_fields():
    ep = Endpoint("fapi_income", method="GET", path="/fapi/v1/income", weight=30,
                  pools=("fapi_weight",), configured=True)
    back = pickle.loads(pickle.dumps(ep))
    assert back == "fapi_income" and back.weight == 30 and back.pools == ("fapi_weight",)
    assert {ep: 1}["fapi_income"] == 1


class RecordingHooks:
    """Hand-written fake limiter: records every call, can refuse the next request."""

    def __init__(self, refuse: bool = False):
        self.events: list[tuple] = []
        self.refuse = refuse

    async def before(self, endpoint: Endpoint) -> None:
        self.events.append(("before", str(endpoint), endpoint.weight))
        if self.refuse:
            raise RateLimitedError("binance", "local limiter: pool empty", retry_after_s=1.0)

    async def after(self, endpoint, status, headers) -> None:
        self.events.append(("after", str(endpoint), status))


async def test_hooks_run_around_every_request_with_configured_names_and_weights():
    transport = CannedTransport(load_canned(DATA / "binance.json"), venue="binance")
    iface = CEXPositionInterface("binance", "live", venue_defaults()["binance"], _mode())
    hooks = RecordingHooks()
    iface.set_request_hooks(before=hooks.before, after=hooks.after)
    iface._backend = CEXLiveBackend(iface.venue_config, hooks=iface._hooks, environ=ENV,
                                    transport=transport)
    await iface.get_positions()
    befores = [e for e in hooks.events if e[0] == "before"]
    afters = [e for e in hooks.events if e[0] == "after"]
    assert len(befores) == len(afters) == len(transport.calls) == 6
    weights = {e[1]: e[2] for e in befores}
    assert weights == {
        "spot_exchange_info": 20, "fapi_exchange_info": 1, "spot_account": 20, "spot_time": 1,
        "fapi_position_risk": 5, "fapi_account": 5,
    }
    assert all(status == 200 for _, _, status in afters)


async def test_a_refusing_before_hook_cancels_the_request_unchanged():
    transport = CannedTransport(load_canned(DATA / "binance.json"), venue="binance")
    hooks = RecordingHooks(refuse=True)
    be = CEXLiveBackend(venue_defaults()["binance"], environ=ENV, transport=transport)
    be.hooks.before, be.hooks.after = hooks.before, hooks.after
    with pytest.raises(RateLimitedError, match="local limiter"):
        await be.fetch_snapshot(None)
    assert transport.calls == [] and [e[0] for e in hooks.events] == ["before", "before"]


async def test_hooks_set_after_the_backend_exists_take_effect():
    iface = CEXPositionInterface("okx", "live", venue_defaults()["okx"], _mode())
    iface._backend = CEXLiveBackend(iface.venue_config, environ=ENV, transport=CannedTransport(
        load_canned(DATA / "okx.json"), venue="okx"))
    hooks = RecordingHooks()
    iface.set_request_hooks(before=hooks.before, after=hooks.after)
    await iface.get_positions()
    assert ("before", "balance", 1) in hooks.events


def test_a_cex_config_without_wallets_is_a_config_error_naming_the_field():
    cfg = venue_defaults()["okx"].model_copy(update={"options": {"wallets": []}})
    with pytest.raises(ConfigError, match=r"okx.yaml: options.wallets"):
        cex_options(cfg)


def _mode():
    from factory.config import resolve_config

    return resolve_config({})


@pytest.mark.parametrize("module, names", [
    (cex_live, ["CEXLiveBackend", "MIN_SERVER_TIME_MS"]),
    (cex_fields, ["FieldReader", "NOTIONAL_REL_TOL", "PNL_TOL", "SUM_TOL", "close_enough", "dig",
                  "field_path"]),
    (cex_hooks, ["AfterResponse", "BeforeRequest", "Endpoint", "EndpointResolver",
                 "RequestHooks"]),
    (cex_client, ["Transport", "Wire", "build_client", "client_class", "reroot_urls"]),
    (cex_mapping, ["FundingPayment", "NOTIONAL_REL_TOL", "PNL_TOL", "SUM_TOL", "account_info",
                   "balance_positions", "dig", "funding_payments", "perp_positions",
                   "transfers_in_transit", "wallet_amounts"]),
])
def test_public_names_are_pinned(module, names):
    assert sorted(module.__all__) == names
