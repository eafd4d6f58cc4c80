"""Abuse of the config loaders: whatever a user writes, the answer is a config or a ConfigError.

Random dicts, the shipped mode and venue configs with one field mutated, broken YAML text and
bytes, and ``--set`` overrides go through `resolve_config`, `load_mode`, `validate` and
`with_overrides`. A bad config is refused with `ConfigError` (the CLI exits 2 with its lines),
never with a KeyError, TypeError, ValueError or a traceback; NaN and infinity are refused too. A
config that loads is consistent: its legs are on its venues, and a mode file enables at least
one supported venue (an empty mode is never a silent success).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from factory.config import (
    CONFIG_DIR,
    ModeConfig,
    VenueConfig,
    load_mode,
    resolve_config,
    supported_venues,
    validate,
    with_overrides,
)
from factory.errors import ConfigError
from factory.interfaces.cex.options import cex_options

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

MODE_FILES = sorted((CONFIG_DIR / "modes").glob("*.yaml"))
VENUE_FILES = sorted((CONFIG_DIR / "venues").glob("*.yaml"))
MODES = {f.stem: yaml.safe_load(f.read_text()) for f in MODE_FILES}
VENUES = {f.stem: yaml.safe_load(f.read_text()) for f in VENUE_FILES}
FIELD_NAMES = sorted({"mode", "venues", "positions", "allocation", "hedge", "splits", "strategy",
                      "thresholds", "monitor", "deadline_s", "venue_settings", "rate_limits",
                      "pools", "endpoints", "retry", "max_attempts", "credentials", "tokens",
                      "options", "wallets", "reserves", "kind", "venue", "limit", "window_s",
                      "binance", "aave_v3", "aave", "wallet", "underlying", "initial_capital"})

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["binance:Perp:BTCUSDT", "okx:Perp:BTC-USDT-SWAP", "2024-13-45", "0x12",
                     "aave", "1e400", "-1", ".nan"]),
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=8), st.integers(-3, 3))
json_like = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(keys, children, max_size=5)),
    max_leaves=25,
)


def config_or_config_error(fn, *args) -> Any:
    """Call a loader: a config comes back, or ConfigError is raised; anything else fails."""
    try:
        return fn(*args)
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        return None


def consistent(cfg: ModeConfig | None, from_file: bool = False) -> bool:
    """A config that loaded says something true: its legs are on its venues; a mode file
    enables at least one venue this project supports (never a silently empty book)."""
    if cfg is None:
        return True
    enabled = {"aave_v3" if v == "aave" else v for v in cfg.venues}
    legs = [k.venue for k in [*cfg.positions, *cfg.allocation]] + list(cfg.hedge.splits)
    if any(("aave_v3" if v == "aave" else v) not in enabled for v in legs):
        return False
    return not from_file or (bool(cfg.venues) and set(cfg.venues) <= set(supported_venues(cfg)))


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key/index path inside a parsed YAML document (containers included)."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += paths(v, (*prefix, i))
    return out


def mutate(doc: Any, path: tuple, how: str, value: Any) -> Any:
    """Return a copy of ``doc`` with the node at ``path`` replaced, deleted or nested deeper."""
    doc = copy.deepcopy(doc)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if how == "delete":
        del parent[last]
    elif how == "nest":
        parent[last] = {"extra": parent[last]} if isinstance(last, str) else [parent[last]]
    else:
        parent[last] = value
    return doc


mutations = st.tuples(st.sampled_from(["replace", "delete", "nest"]), json_like)


@FUZZ
@given(raw=st.dictionaries(keys, json_like, max_size=6))
def test_a_random_dict_is_a_mode_config_or_a_config_error(raw):
    cfg = config_or_config_error(resolve_config, raw)
    assert cfg is None or isinstance(cfg, ModeConfig)
    assert consistent(cfg)


@FUZZ
@given(raw=json_like)
def test_anything_that_is_not_a_mapping_is_a_config_error(raw):
    assume(not isinstance(raw, dict) and raw is not None)
    with pytest.raises(ConfigError):
        resolve_config(raw)


@FUZZ
@given(mode=st.sampled_from(sorted(MODES)), data=st.data(), mutation=mutations)
def test_a_shipped_mode_with_one_field_mutated_is_a_config_or_a_config_error(mode, data,
                                                                            mutation):
    doc = MODES[mode]
    path = data.draw(st.sampled_from(paths(doc)))
    cfg = config_or_config_error(resolve_config, mutate(doc, path, *mutation))
    assert cfg is None or isinstance(cfg, ModeConfig)
    assert consistent(cfg)


@FUZZ
@given(venue=st.sampled_from(sorted(VENUES)), data=st.data(), mutation=mutations)
def test_a_shipped_venue_with_one_field_mutated_is_a_config_or_a_config_error(venue, data,
                                                                             mutation):
    doc = VENUES[venue]
    path = data.draw(st.sampled_from(paths(doc)))
    raw = mutate(doc, path, *mutation)
    cfg = config_or_config_error(validate, raw, VenueConfig, f"configs/venues/{venue}.yaml")
    if cfg is not None and cfg.kind == "cex":  # the CEX backend reads its options too
        config_or_config_error(cex_options, cfg)
    # the same override given through a mode's venue_settings (merged over the shipped file)
    mode = config_or_config_error(resolve_config, {"venue_settings": {venue: raw}})
    assert mode is None or isinstance(mode, ModeConfig)


@FUZZ
@given(mode=st.sampled_from(sorted(MODES)), data=st.data())
def test_mutated_yaml_text_loads_or_is_a_config_error(mode, data, tmp_path_factory):
    text = (CONFIG_DIR / "modes" / f"{mode}.yaml").read_bytes()
    at = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 40))
    junk = data.draw(st.binary(max_size=12) | st.sampled_from(
        [b": [", b"\t", b"{{", b"&a [*a]", b"2024-13-45", b"!!python/object:os.system", b"\xff"]))
    path = tmp_path_factory.mktemp("yaml") / "mode.yaml"
    path.write_bytes(text[:at] + junk + text[at + cut:])
    cfg = config_or_config_error(load_mode, path)
    assert cfg is None or isinstance(cfg, ModeConfig)
    assert consistent(cfg, from_file=True)


@FUZZ
@given(data=st.binary(max_size=64))
def test_random_bytes_as_a_mode_file_are_a_config_error_or_a_config(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("bytes") / "mode.yaml"
    path.write_bytes(data)
    cfg = config_or_config_error(load_mode, path)
    assert cfg is None or isinstance(cfg, ModeConfig)
    assert consistent(cfg, from_file=True)


@FUZZ
@given(sets=st.lists(st.one_of(
    st.text(max_size=30),
    st.builds(lambda k, v: f"{k}={v}",
              st.sampled_from(["monitor.deadline_s", "strategy.rebalance", "hedge.splits.binance",
                               "venues", "thresholds", "monitor..x", "nope.deeper", ""]),
              st.sampled_from(["2024-13-45", "[1, 2", "nan", ".inf", "-1", "{a: 1}", "x", ""])),
), max_size=3))
def test_set_overrides_give_a_config_or_a_config_error(sets):
    base = resolve_config(MODES["btc_basis"])
    cfg = config_or_config_error(with_overrides, base, sets)
    assert cfg is None or isinstance(cfg, ModeConfig)
    assert consistent(cfg, from_file=True)


@pytest.mark.parametrize("key", [1, None, ("monitor", "deadline_s")])
def test_an_override_key_that_is_not_a_dotted_string_is_a_config_error(key):
    with pytest.raises(ConfigError, match="dotted string"):
        with_overrides(ModeConfig(), {key: 1})


@pytest.mark.parametrize("text", ["description: 2024-13-45\n",
                                  "monitor: {deadline_s: 2024-02-30}\n"])
def test_an_impossible_date_in_yaml_names_the_file(tmp_path, text):
    path = tmp_path / "mode.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="mode.yaml"):
        load_mode(path)


def test_a_mode_file_that_is_not_utf8_is_a_config_error(tmp_path):
    path = tmp_path / "mode.yaml"
    path.write_bytes(b"mode: \xff\xfe\n")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_mode(path)


NUMERIC_FIELDS = [
    ("monitor", "deadline_s"), ("initial_capital",), ("thresholds", "delta_tolerance"),
    ("thresholds", "funding_threshold"), ("hedge", "splits", "binance"),
    ("reconciliation", "abs_tol"), ("strategy", "fee_rate"),
]


@pytest.mark.parametrize("field", NUMERIC_FIELDS, ids=".".join)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_nan_and_infinity_are_refused_naming_the_field(field, bad):
    doc = copy.deepcopy(MODES["btc_basis"])
    node = doc
    for step in field[:-1]:
        node = node.setdefault(step, {})
    node[field[-1]] = bad
    with pytest.raises(ConfigError) as info:
        resolve_config(doc)
    assert any(".".join(field) in line for line in info.value.problems), info.value.problems


@FUZZ
@given(keys=st.lists(st.sampled_from(["mode", "venues", "positions", "monitor", "hedge"]),
                     min_size=2, max_size=6))
def test_a_key_written_twice_is_never_a_config(keys, tmp_path_factory):
    assume(len(set(keys)) < len(keys))
    path = tmp_path_factory.mktemp("dup") / "mode.yaml"
    path.write_text("".join(f"{k}: {MODES['btc_basis'][k]!r}\n" for k in keys))
    with pytest.raises(ConfigError, match="duplicate key"):
        load_mode(path)


def test_every_shipped_file_still_loads():
    for path in MODE_FILES:
        assert consistent(load_mode(path), from_file=True)
    for venue, doc in VENUES.items():
        assert validate(doc, VenueConfig, venue).venue == venue
