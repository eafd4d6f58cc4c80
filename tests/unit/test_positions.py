"""PositionKey and snapshot models: one spelling per instrument, enforced by the model."""

import math

import pytest
from pydantic import ValidationError

from factory.positions import Position, PositionKey, PositionType, VenueSnapshot, utc


@pytest.mark.parametrize(
    "key, parts",
    [
        ("binance:Perp:BTCUSDT", ("binance", "Perp", "BTCUSDT")),
        ("aave_v3:aToken:aWETH", ("aave_v3", "aToken", "aWETH")),
        ("aave_v3:debtToken:debtUSDT", ("aave_v3", "debtToken", "debtUSDT")),
        ("etherfi:LST:weETH", ("etherfi", "LST", "weETH")),
        ("wallet:BaseToken:USDT", ("wallet", "BaseToken", "USDT")),
    ],
)
def test_valid_keys_split_into_their_parts(key, parts):
    k = PositionKey(key)
    assert (k.venue, k.type, k.symbol) == (parts[0], PositionType(parts[1]), parts[2])
    assert k == key and isinstance(k, str)


@pytest.mark.parametrize(
    "bad, fragment",
    [
        ("okx:Perp:BTC-USDT-SWAP", "venue-neutral"),
        ("binance:Perp:BTC/USDT", "venue-neutral"),
        ("binance:Perp", "exactly three parts"),
        ("a:b:c:d", "exactly three parts"),
        ("binance:Future:BTCUSDT", "is not one of"),
        ("Binance:Perp:BTCUSDT", "lower-case"),
        ("aave_v3:aToken:WETH", "'a'+reserve"),
        ("aave_v3:debtToken:WETH", "'debt'+reserve"),
        ("okx:Perp:btcusdt", "BASE+QUOTE"),
    ],
)
def test_malformed_keys_are_rejected_with_the_reason(bad, fragment):
    with pytest.raises(ValueError, match=fragment.replace("+", r"\+").replace("(", r"\(")):
        PositionKey(bad)


def test_snapshot_rejects_a_position_filed_under_another_venue():
    with pytest.raises(ValidationError, match="does not belong"):
        VenueSnapshot(
            venue="okx",
            execution_mode="live",
            timestamp=utc(0),
            fetched_at=utc(0),
            positions={"bybit:Perp:BTCUSDT": {"key": "bybit:Perp:BTCUSDT", "amount": 1}},
        )


def test_position_amounts_must_be_finite():
    with pytest.raises(ValidationError, match="finite"):
        Position(key="okx:Perp:BTCUSDT", amount=math.nan)


def test_snapshot_round_trips_through_json_with_validated_keys():
    snap = VenueSnapshot(
        venue="okx",
        execution_mode="live",
        timestamp=utc("2024-01-01T00:00:00Z"),
        fetched_at=utc("2024-01-01T00:00:01Z"),
        positions={"okx:Perp:BTCUSDT": Position(key="okx:Perp:BTCUSDT", amount=-0.3)},
    )
    back = VenueSnapshot.model_validate_json(snap.model_dump_json())
    assert back == snap
    assert isinstance(next(iter(back.positions)), PositionKey)
    assert back.amounts() == {"okx:Perp:BTCUSDT": -0.3}


def test_utc_reads_iso_strings_epochs_and_naive_datetimes():
    assert utc("2024-01-01T00:00:00Z") == utc(1704067200)
    assert utc("2024-01-01T00:00:00").tzinfo is not None
