"""Error texts are bounded and scrubbed at the adapter boundary, for every venue kind.

A venue's answer may echo what we sent (a node answering 200 text/html with the request path,
which holds the RPC key), so an error keeps at most a short excerpt of it with every configured
secret replaced by ``***``, prints a URL only as scheme://host[:port], and never chains the
library's exception with its raw text (``__cause__`` and ``__context__`` both).
"""

from __future__ import annotations

import pickle

import ccxt.async_support as ccxt
import pytest
from web3.exceptions import ContractLogicError, Web3RPCError, Web3ValueError

from factory.config import venue_defaults
from factory.errors import (
    EXCERPT_CHARS,
    MAX_MESSAGE_CHARS,
    REDACTED,
    BadResponseError,
    ResponseTooLargeError,
    Scrubber,
    VenueError,
    VenueUnavailableError,
    is_retryable,
    redact_url,
)
from factory.interfaces.cex.client import Wire
from factory.interfaces.cex.errors import translate_error as cex_translate
from factory.interfaces.cex.hooks import EndpointResolver, RequestHooks
from factory.interfaces.cex.options import cex_options
from factory.interfaces.evm.rpc import EvmRpc
from factory.interfaces.evm.rpc import translate_error as evm_translate
from factory.interfaces.http_cap import BodyTooLarge

KEY = "9f3c2b7a41d84e0c9b6a5f1e2d3c4b5a"
RPC_KEY_URL = f"https://mainnet.example-rpc.io/v3/{KEY}"
RPC_USERINFO_URL = "https://desk-user:s3cr3t-Pa55@node.example.net:8545/"
API_KEY, API_SECRET, PASSPHRASE = "ak-0123456789abcdef", "sk-fedcba9876543210", "pp-Passphrase1"


def exception_texts(exc: BaseException) -> str:
    """str, repr and args of ``exc`` and of every exception chained under it."""
    seen: set[int] = set()
    out: list[str] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        out += [str(e), repr(e), repr(e.args)]
        out += [repr(getattr(e, n, None)) for n in ("message", "data", "rpc_response")]
        todo += [e.__cause__, e.__context__]
    return "\n".join(out)


def html_echo(path: str, size: int = 400_000) -> str:
    """A web server's error page echoing the request path, padded like a real one (410 KB)."""
    return f"<html><body><h1>Not Found</h1><p>{path}</p>" + " <br/>" * (size // 6) + "</html>"


@pytest.mark.parametrize("url, shown", [
    (RPC_KEY_URL, "https://mainnet.example-rpc.io/***"),
    (RPC_USERINFO_URL, "https://node.example.net:8545"),
    ("https://eth.example.com/?apikey=abcdef123456", "https://eth.example.com/***"),
    ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
    ("not a url", REDACTED),
])
def test_a_url_is_printed_as_scheme_host_port_only(url, shown):
    assert redact_url(url) == shown


def test_every_configured_secret_and_every_secret_part_of_a_url_is_replaced():
    scrub = Scrubber([API_KEY, API_SECRET, PASSPHRASE], [RPC_KEY_URL, RPC_USERINFO_URL])
    text = (f"GET /v3/{KEY} key={API_KEY} sig of {API_SECRET} pass {PASSPHRASE} "
            f"auth desk-user:s3cr3t-Pa55 url {RPC_KEY_URL} quoted s3cr3t%2DPa55")
    out = scrub(text)
    for secret in (KEY, API_KEY, API_SECRET, PASSPHRASE, "s3cr3t-Pa55", "desk-user"):
        assert secret not in out
    assert out.startswith("GET /*** key=*** sig of *** pass *** auth ***")
    assert Scrubber(urls=["https://user:s3cr3t%2DPa55@h/"])("s3cr3t-Pa55") == REDACTED


def test_a_scrubber_never_shows_or_pickles_its_values():
    scrub = Scrubber([API_SECRET], [RPC_KEY_URL])
    assert API_SECRET not in repr(scrub) and KEY not in repr(scrub)
    with pytest.raises(TypeError):
        pickle.dumps(scrub)


def test_an_excerpt_is_short_printable_and_scrubbed():
    scrub = Scrubber(urls=[RPC_KEY_URL])
    body = html_echo(f"/v3/{KEY}").encode()
    assert len(body) > 400_000
    out = scrub.excerpt(body)
    assert len(out) <= EXCERPT_CHARS + 1 and out.endswith("…")
    assert KEY not in out and "<p>/***</p>" in out
    assert scrub.excerpt("a\r\n\t  b\x00c") == "a b?c"
    assert scrub.excerpt(b"") == "" and scrub.excerpt(None) == ""


@pytest.mark.parametrize("at", range(EXCERPT_CHARS - len(KEY), EXCERPT_CHARS + 4))
def test_a_secret_straddling_the_cut_is_never_half_printed(at):
    scrub = Scrubber([KEY])
    out = scrub.excerpt("x" * at + KEY + "y" * 10_000)
    assert KEY[:6] not in out


def test_a_secret_behind_a_long_whitespace_run_is_never_half_printed():
    scrub = Scrubber([KEY])
    out = scrub.excerpt(" " * 4_000 + KEY + " tail" * 10_000)
    assert KEY[:6] not in out


def test_every_venue_error_text_is_bounded():
    err = VenueUnavailableError("aave_v3", "x" * 500_000)
    assert len(str(err)) <= MAX_MESSAGE_CHARS + len("aave_v3: ")


def test_a_response_too_large_error_is_retryable_and_keeps_its_cap_through_pickling():
    err = ResponseTooLargeError("binance", "GET /x: too large", limit_bytes=8 << 20)
    back = pickle.loads(pickle.dumps(err))
    assert is_retryable(back) and back.limit_bytes == 8 << 20 and str(back) == str(err)


def test_cex_oversized_answer_translates_to_response_too_large():
    err = cex_translate("okx", "GET /api/v5/account/balance", BodyTooLarge(1024))
    assert type(err) is ResponseTooLargeError and err.limit_bytes == 1024
    assert "GET /api/v5/account/balance" in str(err)


def test_cex_error_text_keeps_status_endpoint_and_a_scrubbed_excerpt():
    scrub = Scrubber([API_KEY, API_SECRET])
    excerpt = scrub.excerpt(html_echo(f"/api/v3/account?apiKey={API_KEY}"))
    err = cex_translate("binance", "GET /api/v3/account", ccxt.BadResponse("x"), status=200,
                        excerpt=excerpt)
    assert type(err) is BadResponseError
    text = str(err)
    assert text.startswith("binance: GET /api/v3/account: unreadable answer (HTTP 200): <html>")
    assert API_KEY not in text and len(text) < 300


async def test_cex_wire_raises_the_typed_error_without_chaining_ccxt_text():
    config = venue_defaults()["binance"]

    async def transport(method, url, headers, body):
        raise ccxt.ExchangeNotAvailable(f"binance GET {RPC_KEY_URL} {API_KEY}")

    wire = Wire("binance", cex_options(config), EndpointResolver(config.rate_limits),
                RequestHooks, transport)
    with pytest.raises(VenueError) as info:
        await wire.exchange(None, "http://127.0.0.1:9/api/v3/account", "GET", {}, None)
    assert info.value.__cause__ is None and info.value.__context__ is None
    texts = exception_texts(info.value)
    assert KEY not in texts and API_KEY not in texts


@pytest.mark.parametrize("exc", [
    Web3ValueError(f"Could not decode {html_echo('/v3/' + KEY)!r} because of Expecting value"),
    Web3RPCError(f"backend said /v3/{KEY}", rpc_response={"error": {"code": -32000,
                                                                     "message": f"/v3/{KEY}"}}),
    ContractLogicError(f"execution reverted: {RPC_KEY_URL}", data=f"0x{KEY}"),
])
def test_chain_error_text_is_short_and_scrubbed(exc):
    err = evm_translate("etherfi", "eth_call", exc, Scrubber(urls=[RPC_KEY_URL]))
    assert KEY not in str(err) and len(str(err)) < 300 and "eth_call" in str(err)


@pytest.mark.parametrize("url", [RPC_KEY_URL, RPC_USERINFO_URL])
async def test_chain_translation_leaves_no_secret_in_the_exception_chain(url):
    rpc = EvmRpc("etherfi", url)
    node_text = f"node echo {url} /v3/{KEY} desk-user:s3cr3t-Pa55 s3cr3t%2DPa55"
    with pytest.raises(VenueError) as info:
        async with rpc.translating("eth_call"):
            raise Web3RPCError(node_text, rpc_response={"error": {"code": -32000,
                                                                  "message": node_text}})
    texts = exception_texts(info.value) + repr(rpc) + str(rpc.w3.provider)
    secrets = [KEY] if url == RPC_KEY_URL else ["s3cr3t-Pa55", "desk-user"]
    for secret in [*secrets, url]:
        assert secret not in texts
    assert info.value.__cause__ is None
