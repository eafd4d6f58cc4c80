"""Pure EVM encoding, decoding and unit conversion (no network, no Ray)."""

from __future__ import annotations

import pytest
from eth_abi import encode

from factory.interfaces.evm.abi import (
    MAX_UINT256,
    Read,
    ReadFailure,
    bps,
    decode_aggregate3,
    decode_erc20_transfer,
    decode_read,
    encode_aggregate3,
    encode_read,
    health_factor,
    selector,
    to_native,
    wad,
)

TOKEN = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OWNER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def test_selectors_are_the_well_known_ones():
    assert selector("balanceOf(address)").hex() == "70a08231"
    assert selector("transfer(address,uint256)").hex() == "a9059cbb"
    assert selector("aggregate3((address,bool,bytes)[])").hex() == "82ad56cb"
    assert selector("getUserAccountData(address)").hex() == "bf92857c"


def test_a_read_encodes_selector_and_arguments():
    read = Read("USDT.balanceOf", TOKEN, "balanceOf(address)", (OWNER,))
    assert encode_read(read) == bytes.fromhex("70a08231") + encode(["address"], [OWNER])


def test_aggregate3_calldata_lets_every_read_fail_alone():
    reads = [Read("a", TOKEN, "balanceOf(address)", (OWNER,)), Read("b", TOKEN, "totalSupply()")]
    from eth_abi import decode

    data = encode_aggregate3(reads)
    (calls,) = decode(["(address,bool,bytes)[]"], data[4:])
    assert data[:4].hex() == "82ad56cb"
    assert [(c[0].lower(), c[1]) for c in calls] == [(TOKEN.lower(), True)] * 2
    assert calls[1][2] == selector("totalSupply()")


def test_aggregate3_results_decode_to_success_flags_and_values():
    raw = encode(["(bool,bytes)[]"], [[(True, encode(["uint256"], [7])), (False, b"")]])
    results = decode_aggregate3(raw)
    assert results == [(True, encode(["uint256"], [7])), (False, b"")]
    assert decode_read(Read("x", TOKEN, "totalSupply()"), results[0][1]) == 7


def test_multi_value_returns_decode_as_a_tuple():
    read = Read("acct", TOKEN, "getUserAccountData(address)", (OWNER,), ("uint256",) * 6)
    assert decode_read(read, encode(["uint256"] * 6, [1, 2, 3, 4, 5, 6])) == (1, 2, 3, 4, 5, 6)


@pytest.mark.parametrize("data", [b"", b"\x01\x02"])
def test_empty_or_short_return_data_is_a_read_failure_not_zero(data):
    with pytest.raises(ReadFailure, match="USDT.balanceOf"):
        decode_read(Read("USDT.balanceOf", TOKEN, "balanceOf(address)", (OWNER,)), data)


def test_garbage_from_aggregate3_is_a_read_failure():
    with pytest.raises(ReadFailure):
        decode_aggregate3(b"\x00" * 5)


def test_tuple_arguments_are_refused_in_a_read():
    with pytest.raises(ValueError):
        encode_read(Read("x", TOKEN, "f((uint256,bool))", ((1, True),)))


@pytest.mark.parametrize(
    ("raw", "decimals", "native"),
    [(1_500_000, 6, 1.5), (10**18, 18, 1.0), (1234567891, 6, 1234.567891), (0, 18, 0.0),
     (10_005_976_851_584_520_991, 18, 10.005976851584520991)],
)
def test_base_units_convert_to_native_units(raw, decimals, native):
    assert to_native(raw, decimals) == native


def test_aave_figures_convert_from_their_fixed_point_units():
    assert health_factor(1_662_500_000_000_000_000) == 1.6625
    assert health_factor(MAX_UINT256) is None  # no debt
    assert wad(1_050_000_000_000_000_000) == 1.05
    assert (bps(9300), bps(8250)) == (0.93, 0.825)


def test_an_erc20_transfer_decodes_to_recipient_and_amount():
    data = "0xa9059cbb" + encode(["address", "uint256"], [OWNER, 250_000_000]).hex()
    assert decode_erc20_transfer(data) == (OWNER, 250_000_000)
    assert decode_erc20_transfer(bytes.fromhex(data[2:])) == (OWNER, 250_000_000)


@pytest.mark.parametrize(
    "data",
    ["0x", "0xa9059cbb", "0x095ea7b3" + "00" * 64,  # approve, not transfer
     "0xa9059cbb" + "00" * 40],  # truncated
)
def test_anything_else_is_not_an_erc20_transfer(data):
    assert decode_erc20_transfer(data) is None
