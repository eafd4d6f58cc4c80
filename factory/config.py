"""Configuration: frozen pydantic models for configs/venues/*.yaml and configs/modes/*.yaml.

Secrets never live in these files: a venue config names the environment variables that hold its
credentials, and `Credentials.read` fetches them lazily as `SecretStr`. Loading reports the file,
the field path and what was expected, one line per problem (`ConfigError.problems`).
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from factory.accounts import AccountConfig, account_problems, exchange_of, expand_accounts
from factory.errors import ConfigError, MissingCredentialError
from factory.models import FiniteFrozenModel
from factory.positions import PositionKey
from factory.yamlfile import StrictLoader, read_yaml

__all__ = [
    "CONFIG_DIR",
    "DEFAULT_HISTORY_PATH",
    "MIN_INTERVAL_S",
    "VENUE_ALIASES",
    "Credentials",
    "EndpointCost",
    "HedgeConfig",
    "ModeConfig",
    "MonitorSettings",
    "RateLimitPool",
    "RateLimits",
    "ReconciliationConfig",
    "RetrySettings",
    "StrategyFamily",
    "StrategySettings",
    "Thresholds",
    "TokenConfig",
    "UsedWeightHeader",
    "VenueConfig",
    "config_dir",
    "env_name",
    "load_mode",
    "load_venue",
    "load_yaml_model",
    "read_mapping",
    "resolve_config",
    "shipped_venue_ids",
    "supported_venues",
    "venue_defaults",
    "with_overrides",
]

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def config_dir() -> Path:
    """Return the configs directory: ``$BASIS_CONFIG_DIR`` or the one beside the packages."""
    return Path(os.environ.get("BASIS_CONFIG_DIR", CONFIG_DIR))


def env_name(venue: str, suffix: str) -> str:
    """Return the fixed environment variable name, e.g. ``BASIS_BINANCE_API_KEY``.

    The venue id is upper-cased with every other character than a letter or digit written as
    ``_``: the account ``binance.sub1`` reads ``BASIS_BINANCE_SUB1_API_KEY``.
    """
    return f"BASIS_{re.sub(r'[^A-Za-z0-9]', '_', venue).upper()}_{suffix}"


#: The credential fields an account instance renames, with their variable suffixes.
_ACCOUNT_CREDENTIALS = (
    ("api_key_env", "API_KEY"), ("api_secret_env", "API_SECRET"),
    ("passphrase_env", "API_PASSPHRASE"),
)


#: Other names a venue may be given in a mode (``aave`` is ``aave_v3``): alias -> venue id.
VENUE_ALIASES = {"aave": "aave_v3"}


# ---------------------------------------------------------------------------------------------
# venues


class RateLimitPool(FiniteFrozenModel):
    """A weighted budget shared by some endpoints: ``limit`` weight per ``window_s`` seconds."""

    name: str
    limit: float = Field(gt=0)
    window_s: float = Field(gt=0)
    scope: Literal["ip", "uid", "endpoint"] = "ip"
    source: str = ""


class EndpointCost(FiniteFrozenModel):
    """What one REST endpoint costs, in the venue's published weight, and from which pools."""

    name: str
    method: Literal["GET", "POST", "DELETE", "PUT"] = "GET"
    path: str
    weight: float = Field(ge=0)
    pools: list[str]
    source: str = ""


class UsedWeightHeader(FiniteFrozenModel):
    """A response header in which the venue reports the weight it counted in one window.

    The header's name is ``prefix`` followed by the window: a whole number and a unit letter
    (binance ``X-MBX-USED-WEIGHT-1M``: 1 x 60 s). Names compare case-insensitively. The count is
    adopted, when higher than the limiter's own, into the answering endpoint's pools that are in
    ``pools`` (all of them when empty) and whose ``window_s`` is that window.
    """

    prefix: str = Field(min_length=1)
    units_s: dict[str, float] = Field(min_length=1)
    pools: list[str] = Field(default_factory=list)
    source: str = ""

    @field_validator("units_s")
    @classmethod
    def _unit_letters(cls, v: dict[str, float]) -> dict[str, float]:
        for unit, seconds in v.items():
            if len(unit) != 1 or not unit.isalpha():
                raise ValueError(f"unit {unit!r} must be one letter (S, M, H, D)")
            if seconds <= 0:
                raise ValueError(f"unit {unit!r}: seconds must be > 0, got {seconds:g}")
        return v

    def window_s(self, header: str) -> float | None:
        """Return the window a header name reports on, or None when it is not this header."""
        name, prefix = header.lower(), self.prefix.lower()
        if not name.startswith(prefix):
            return None
        count, unit = name[len(prefix):-1], name[-1:]
        units = {u.lower(): s for u, s in self.units_s.items()}
        if not count.isdigit() or unit not in units:
            return None
        return int(count) * units[unit]


class RateLimits(FiniteFrozenModel):
    """Pools plus endpoint weights; ``scale`` shrinks every pool (sandbox tests).

    ``used_weight_headers`` name the headers in which the venue reports its own count (none:
    the limiter keeps its own count only).
    """

    pools: list[RateLimitPool] = Field(default_factory=list)
    endpoints: list[EndpointCost] = Field(default_factory=list)
    ban_after_violations: int | None = Field(default=None, ge=1)
    ban_s: float | None = Field(default=None, gt=0)
    used_weight_headers: list[UsedWeightHeader] = Field(default_factory=list)

    @model_validator(mode="after")
    def _pools_exist(self) -> RateLimits:
        names = {p.name for p in self.pools}
        if len(names) != len(self.pools):
            raise ValueError("pool names must be unique")
        for ep in self.endpoints:
            for pool in ep.pools:
                if pool not in names:
                    raise ValueError(f"endpoint {ep.name!r} uses unknown pool {pool!r}")
        for header in self.used_weight_headers:
            for pool in header.pools:
                if pool not in names:
                    raise ValueError(f"used-weight header {header.prefix!r} names unknown "
                                     f"pool {pool!r}")
        return self

    def endpoint(self, name: str) -> EndpointCost | None:
        return next((e for e in self.endpoints if e.name == name), None)


class RetrySettings(FiniteFrozenModel):
    """Exponential backoff with full jitter, bounded attempts, capped delay."""

    max_attempts: int = Field(default=4, ge=1)
    base_delay_s: float = Field(default=0.1, gt=0)
    max_delay_s: float = Field(default=2.0, gt=0)


class Credentials(FiniteFrozenModel):
    """Names of the environment variables holding a venue's credentials (never the values)."""

    api_key_env: str | None = None
    api_secret_env: str | None = None
    passphrase_env: str | None = None
    rpc_url_env: str | None = None
    addresses_env: str | None = None

    def read(self, venue: str, field: str, environ: dict[str, str] | None = None) -> SecretStr:
        """Read one credential from the environment.

        Raises:
            MissingCredentialError: naming the variable to set.
        """
        name = getattr(self, field)
        if not name:
            raise MissingCredentialError(venue, f"<{field} not configured>")
        value = (os.environ if environ is None else environ).get(name)
        if not value:
            raise MissingCredentialError(venue, name)
        return SecretStr(value)


class TokenConfig(FiniteFrozenModel):
    """An ERC-20 token: address and decimals."""

    address: str
    decimals: int = Field(ge=0, le=36)

    @field_validator("address")
    @classmethod
    def _hex(cls, v: str) -> str:
        if not (v.startswith("0x") and len(v) == 42):
            raise ValueError("must be a 0x-prefixed 20-byte hex address")
        int(v, 16)
        return v


class VenueConfig(FiniteFrozenModel):
    """One venue: how to reach it, what it costs, which credentials it needs.

    ``api_base_url`` (or ``BASIS_<VENUE>_API_BASE_URL``) re-roots every REST URL of the venue at
    that scheme+host, keeping each URL's path: testnets, proxies, the sandbox.
    """

    venue: str
    kind: Literal["cex", "onchain", "transfer"]
    description: str = ""
    ccxt_id: str | None = None
    egress: str | None = Field(
        default=None, min_length=1, pattern=r"^[A-Za-z0-9_.-]+$",
        description="egress group: instances of one exchange in one group share its ip pools "
                    "(None: the exchange's default group)",
    )
    urls: dict[str, str] = Field(default_factory=dict)
    api_base_url: str | None = None
    chain: str | None = None
    chain_id: int | None = None
    contracts: dict[str, str] = Field(default_factory=dict)
    tokens: dict[str, TokenConfig] = Field(default_factory=dict)
    reserves: list[str] = Field(default_factory=list)
    quote: str = "USDT"
    timeout_s: float = Field(default=10.0, gt=0)
    max_response_bytes: int = Field(
        default=8 * 1024 * 1024, gt=0,
        description="largest answer read from the venue; the read stops there (typed error)",
    )
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    credentials: Credentials = Field(default_factory=Credentials)
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("api_base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/") if v else v

    def base_url(self, environ: dict[str, str] | None = None) -> str | None:
        """Return the effective base-URL override: environment first, then config.

        Every account of an exchange shares the exchange's ``BASIS_<EXCHANGE>_API_BASE_URL``.
        """
        env = os.environ if environ is None else environ
        return env.get(env_name(exchange_of(self.venue), "API_BASE_URL")) or self.api_base_url

    def rpc_url(self, environ: dict[str, str] | None = None) -> str:
        """Return the chain RPC URL from ``BASIS_<CHAIN>_RPC_URL``."""
        return self.credentials.read(self.venue, "rpc_url_env", environ).get_secret_value()

    def for_account(self, venue: str) -> VenueConfig:
        """Return this exchange's settings for one of its accounts (``binance.sub1``).

        The account keeps every setting but its venue id and its credential variables, which
        become ``BASIS_<EXCHANGE>_<ACCOUNT>_API_KEY`` and so on (only those the exchange uses).
        The default account (the plain venue id) is this config unchanged.
        """
        if venue == self.venue:
            return self
        names = {field: env_name(venue, suffix) for field, suffix in _ACCOUNT_CREDENTIALS
                 if getattr(self.credentials, field)}
        return self.model_copy(update={
            "venue": venue, "ccxt_id": self.ccxt_id or self.venue,
            "credentials": self.credentials.model_copy(update=names),
        })


# ---------------------------------------------------------------------------------------------
# modes


class HedgeConfig(FiniteFrozenModel):
    """How the hedge leg is split across venues (fractions summing to 1)."""

    splits: dict[str, float] = Field(default_factory=dict)

    @field_validator("splits")
    @classmethod
    def _sum_to_one(cls, v: dict[str, float]) -> dict[str, float]:
        if v:
            if any(x < 0 for x in v.values()):
                raise ValueError("hedge splits must be >= 0")
            if abs(sum(v.values()) - 1.0) > 1e-9:
                raise ValueError(f"hedge splits must sum to 1, got {sum(v.values()):.6g}")
        return v


class Thresholds(FiniteFrozenModel):
    """Alert and rebalance thresholds (fractions, not percent)."""

    delta_tolerance: float = Field(default=0.005, ge=0)
    position_deviation: float = Field(default=0.02, ge=0)
    min_health_factor: float = Field(default=1.5, gt=1)
    target_margin_ratio: float = Field(default=0.5, gt=0)
    min_margin_ratio: float = Field(default=0.2, gt=0)
    max_staleness_s: float = Field(default=30.0, gt=0)
    funding_threshold: float = 0.0


class ReconciliationConfig(FiniteFrozenModel):
    """Tolerances: mismatch when |expected - real| > max(abs_tol, rel_tol x |expected|)."""

    abs_tol: float = Field(default=1e-8, ge=0)
    rel_tol: float = Field(default=1e-4, ge=0)
    per_key: dict[PositionKey, float] = Field(default_factory=dict)

    @field_validator("per_key")
    @classmethod
    def _nonneg(cls, v: dict[PositionKey, float]) -> dict[PositionKey, float]:
        for k, tol in v.items():
            if tol < 0:
                raise ValueError(f"tolerance for {k} must be >= 0")
        return v


#: The shortest refresh interval of the live monitor (config and ``--interval``), in seconds.
MIN_INTERVAL_S = 1.0
#: The history database of a mode that names none (relative to the working directory).
DEFAULT_HISTORY_PATH = "var/history.sqlite"


class MonitorSettings(FiniteFrozenModel):
    """The supervising monitor: deadline, refresh interval, history file."""

    deadline_s: float = Field(default=2.0, gt=0)
    interval_s: float = Field(default=5.0, ge=MIN_INTERVAL_S)
    history_path: str = DEFAULT_HISTORY_PATH
    max_consecutive_failures: int = Field(default=3, ge=1)


#: The backtest strategy families; ``strategy.family`` picks one (a mode's name never does).
#: Each family has one module under ``actors/backtest/strategies/`` that registers it.
StrategyFamily = Literal["lending", "staking", "basis", "hedged_staking"]


class StrategySettings(FiniteFrozenModel):
    """Strategy parameters used by backtests (and rebalance alerts live).

    ``family`` (required) names the strategy a backtest runs, so renaming a mode never changes
    which strategy it runs and a config cannot silently run another one.
    """

    family: StrategyFamily
    spot_venue: str | None = None
    underlying: str | None = None
    lst_share: float = Field(default=0.5, ge=0, le=1)
    target_ltv: float = Field(default=0.0, ge=0, lt=1)
    max_ltv: float = Field(default=0.93, ge=0, lt=1)
    rebalance: bool = True
    rebalance_interval_h: float = Field(default=24.0, gt=0)
    fee_rate: float = Field(default=0.0005, ge=0)
    leverage: float = Field(default=1.0, gt=0)
    liquidation_threshold: float = Field(
        default=0.95, gt=0, le=1, description="AAVE liquidation threshold (eMode ETH: 0.95)"
    )
    ltv_band: float = Field(
        default=0.02, ge=0, description="re-target the AAVE loop when |LTV - target_ltv| exceeds it"
    )


class ModeConfig(FiniteFrozenModel):
    """A strategy mode: venues, subscribed positions, hedge split, thresholds, tolerances.

    ``allocation`` is the initial position per key used by the simulated backend (backtest); it
    also serves as the expected positions for reconciliation until execution records exist.
    ``venue_settings`` overrides the shipped venue configs (partially: fields given replace
    the defaults). ``strategy`` is None for a mode that only monitors (no backtest, no net-delta
    alert); when given, its ``family`` is required.

    ``accounts`` lists several accounts per exchange (`factory.accounts`); once validated,
    ``venues`` holds every venue instance to monitor: the venues as written, then one per
    account (``binance``, ``binance.sub1``). A dump writes ``venues`` back as written, so a
    dumped mode validates to the same mode.
    """

    mode: str = "adhoc"
    description: str = ""
    share_class: Literal["USDT", "ETH", "BTC"] = "USDT"
    initial_capital: float = Field(default=100_000.0, gt=0)
    venues: list[str] = Field(default_factory=list)
    accounts: dict[str, list[AccountConfig]] = Field(default_factory=dict)
    positions: list[PositionKey] = Field(default_factory=list)
    allocation: dict[PositionKey, float] = Field(default_factory=dict)
    hedge: HedgeConfig = Field(default_factory=HedgeConfig)
    strategy: StrategySettings | None = None
    thresholds: Thresholds = Field(default_factory=Thresholds)
    reconciliation: ReconciliationConfig = Field(default_factory=ReconciliationConfig)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    venue_settings: dict[str, VenueConfig] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _no_account_settings(cls, raw: Any) -> Any:
        # an account has no settings of its own: say so before its entry fails as a venue's
        settings = raw.get("venue_settings") if isinstance(raw, dict) else None
        if isinstance(settings, dict):
            problems = [
                f"venue_settings.{v}: an account shares its exchange's settings; set "
                f"venue_settings.{exchange_of(v)}"
                for v in settings if isinstance(v, str) and exchange_of(v) != v
            ]
            if problems:
                raise ValueError("\n".join(problems))
        return raw

    @model_validator(mode="after")
    def _expand_accounts(self) -> ModeConfig:
        # runs before _consistent (declared first): positions on an account's venue id are
        # checked against the venues with the accounts added
        if not self.accounts:
            return self
        kinds = {v: c.kind for v, c in {**venue_defaults(), **self.venue_settings}.items()}
        problems = account_problems(self.accounts, self.venues, kinds)
        if problems:
            raise ValueError("\n".join(problems))
        added = [v for v in expand_accounts(self.accounts) if v not in self.venues]
        object.__setattr__(self, "venues", [*self.venues, *added])  # frozen after validation
        return self

    @field_serializer("venues")
    def _venues_as_written(self, venues: list[str]) -> list[str]:
        added = set(expand_accounts(self.accounts))
        return [v for v in venues if v not in added]

    def account_venues(self) -> list[str]:
        """Return the venue ids of the mode's accounts (``binance``, ``binance.sub1``)."""
        return list(expand_accounts(self.accounts))

    def venue_tags(self) -> dict[str, list[str]]:
        """Return the roll-up tags per venue id (only accounts carry tags)."""
        return {v: tags for v, tags in expand_accounts(self.accounts).items() if tags}

    @model_validator(mode="after")
    def _consistent(self) -> ModeConfig:
        # one line per problem, each starting with its field path (see _format_errors)
        problems: list[str] = []
        enabled: set[str] = set()
        for i, venue in enumerate(self.venues):
            canonical = VENUE_ALIASES.get(venue, venue)
            if canonical in enabled:
                problems.append(f"venues.{i}: venue {venue!r} is listed twice")
            enabled.add(canonical)
        listed = f"[{', '.join(self.venues)}]"
        for i, key in enumerate(self.positions):
            if VENUE_ALIASES.get(key.venue, key.venue) not in enabled:
                problems.append(f"positions.{i}: position {key} is on venue {key.venue!r}, "
                                f"not in venues {listed}")
        for key in self.allocation:
            if VENUE_ALIASES.get(key.venue, key.venue) not in enabled:
                problems.append(f"allocation.{key}: position {key} is on venue {key.venue!r}, "
                                f"not in venues {listed}")
        for venue in self.hedge.splits:
            if VENUE_ALIASES.get(venue, venue) not in enabled:
                problems.append(f"hedge.splits.{venue}: hedge split venue {venue!r} is not in "
                                f"venues {listed}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def venue_config(self, venue: str) -> VenueConfig:
        """Return this mode's settings for a venue (override or shipped default).

        An account's venue id (``binance.sub1``) gets its exchange's settings with its own
        credential variables (`VenueConfig.for_account`).

        Raises:
            KeyError: the venue is neither shipped, in ``venue_settings``, nor an account.
        """
        exchange = exchange_of(venue)
        if exchange != venue:
            if venue not in self.account_venues():
                raise KeyError(venue)
            return self.venue_config(exchange).for_account(venue)
        venue = VENUE_ALIASES.get(venue, venue)
        if venue in self.venue_settings:
            return self.venue_settings[venue]
        return venue_defaults()[venue]


# ---------------------------------------------------------------------------------------------
# loading


def _format_errors(source: str, err: ValidationError) -> list[str]:
    lines: list[str] = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "<root>"
        msg = e["msg"]
        if e["type"] == "value_error" and not e["loc"]:
            # a model-level check: its message is one "field.path: text" line per problem
            ctx_error = (e.get("ctx") or {}).get("error")
            text = str(ctx_error) if ctx_error is not None else msg
            lines.extend(f"{source}: {line}" for line in text.splitlines())
            continue
        if e["type"] == "extra_forbidden":
            msg = "unknown field (misspelt?)"
        got = e.get("input")
        shown = "" if isinstance(got, (dict, list)) or e["type"] == "missing" else f" (got {got!r})"
        lines.append(f"{source}: {loc}: {msg}{shown}")
    return lines


def load_yaml_model(path: str | Path, model: type[BaseModel]) -> Any:
    """Load a YAML file into ``model``; raise `ConfigError` naming file, field and expectation."""
    return validate(read_mapping(Path(path)), model, str(path))


def validate(raw: dict, model: type[BaseModel], source: str) -> Any:
    """Validate a dict into ``model``, raising `ConfigError` with one line per problem."""
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(_format_errors(source, e)) from None


def load_venue(path: str | Path) -> VenueConfig:
    """Load one venue config file."""
    return validate(read_mapping(Path(path)), VenueConfig, str(path))


_VENUE_CACHE: dict[Path, dict[str, VenueConfig]] = {}


def venue_defaults(directory: str | Path | None = None) -> dict[str, VenueConfig]:
    """Return the shipped venue configs by venue id (read once per directory)."""
    d = Path(directory) if directory else config_dir() / "venues"
    d = d.resolve()
    if d not in _VENUE_CACHE:
        found: dict[str, VenueConfig] = {}
        problems: list[str] = []
        for f in sorted(d.glob("*.yaml")):
            try:
                cfg = load_venue(f)
            except ConfigError as e:
                problems.extend(e.problems)
                continue
            if cfg.venue != f.stem:
                problems.append(f"{f}: venue: must equal the file name {f.stem!r}")
            found[cfg.venue] = cfg
        if problems:
            raise ConfigError(problems)
        _VENUE_CACHE[d] = found
    return dict(_VENUE_CACHE[d])


def shipped_venue_ids() -> list[str]:
    """Return the ids of the shipped venues."""
    return sorted(venue_defaults())


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _with_venue_defaults(raw: dict, source: str) -> dict:
    """Merge partial ``venue_settings`` over the shipped defaults before validation."""
    settings = raw.get("venue_settings")
    if not isinstance(settings, dict):
        return raw
    defaults = venue_defaults()
    merged = {}
    for venue, override in settings.items():
        base = defaults.get(VENUE_ALIASES.get(venue) or venue)
        if base is not None and isinstance(override, dict):
            merged[venue] = _merge(base.model_dump(mode="json"), override)
        else:
            merged[venue] = override
    return {**raw, "venue_settings": merged}


def load_mode(path: str | Path) -> ModeConfig:
    """Load a mode config file; venue settings it gives are merged over the shipped defaults.

    A mode file must enable at least one venue: an empty file or ``venues: []`` would monitor
    nothing and read as a complete, flat book; every venue must be one an interface exists for.
    (`resolve_config` of a dict keeps the empty ``adhoc`` default for code that builds configs
    itself; the monitor reports a venue it cannot build as missing.)

    Raises:
        ConfigError: one line per problem, naming the file and the field.
    """
    path = Path(path)
    raw = read_mapping(path)
    if not raw:
        raise ConfigError(f"{path}: empty mode file: a mode needs at least one venue in venues")
    mode = validate(_with_venue_defaults(raw, str(path)), ModeConfig, str(path))
    _require_venues(mode, str(path))
    return mode


def supported_venues(mode: ModeConfig) -> list[str]:
    """Return the venue ids a mode may enable: the shipped ones, its own, and aliases."""
    return sorted(set(venue_defaults()) | set(mode.venue_settings) | set(VENUE_ALIASES))


def _require_venues(mode: ModeConfig, source: str) -> None:
    """Refuse a mode that monitors nothing (it would read as a complete, flat book) or names
    a venue no interface exists for."""
    if not mode.venues:
        raise ConfigError(f"{source}: venues: a mode needs at least one venue")
    known = supported_venues(mode)
    accounts = set(mode.account_venues())
    unknown = [
        f"{source}: venues.{i}: unsupported venue {v!r} (supported: {', '.join(known)})"
        for i, v in enumerate(mode.venues) if v not in known and v not in accounts
    ]
    if unknown:
        raise ConfigError(unknown)


def read_mapping(path: Path) -> dict:
    """Read a YAML file whose root is a mapping (an empty file reads as ``{}``).

    Raises:
        ConfigError: the file is unreadable, is not YAML, or its root is not a mapping.
    """
    raw = read_yaml(path)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: <root>: expected a mapping, got {type(raw).__name__}")
    return raw


def resolve_config(config: ModeConfig | dict | None) -> ModeConfig:
    """Accept a loaded mode config or a plain dict (validated) and return a `ModeConfig`."""
    if config is None:
        return ModeConfig()
    if isinstance(config, ModeConfig):
        return config
    if isinstance(config, dict):
        return validate(_with_venue_defaults(config, "<config dict>"), ModeConfig, "<config dict>")
    raise ConfigError(f"<config>: expected a ModeConfig or a dict, got {type(config).__name__}")


def _parse_scalar(text: str) -> Any:
    """Read a --set value as YAML (numbers, booleans, lists), falling back to the string."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # StrictLoader is a SafeLoader
    # ValueError: e.g. an impossible date 2024-13-45; RecursionError: nesting without end
    except (yaml.YAMLError, ValueError, RecursionError):
        return text


def with_overrides(config: ModeConfig, overrides: dict[str, Any] | list[str]) -> ModeConfig:
    """Return a copy of ``config`` with dotted-path overrides applied and re-validated.

    Args:
        config: the mode config.
        overrides: ``{"strategy.rebalance": False}`` or CLI-style ``["strategy.rebalance=false"]``.

    Raises:
        ConfigError: a malformed ``KEY=VALUE``, an unknown path or an invalid value.
    """
    pairs: dict[str, Any] = {}
    if isinstance(overrides, list):
        for item in overrides:
            if "=" not in item:
                raise ConfigError(f"--set {item!r}: expected KEY=VALUE with a dotted KEY")
            k, v = item.split("=", 1)
            pairs[k.strip()] = _parse_scalar(v)
    else:
        pairs = dict(overrides)
    raw = config.model_dump(mode="json")
    for path, value in pairs.items():
        if not isinstance(path, str):
            raise ConfigError(f"--set {path!r}: the KEY must be a dotted string")
        node = raw
        parts = path.split(".")
        for part in parts[:-1]:
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(f"--set {path}: unknown field {part!r}")
            node = node[part]
        if not isinstance(node, dict):
            raise ConfigError(f"--set {path}: {parts[-2] if len(parts) > 1 else path} is not a mapping")
        node[parts[-1]] = value
    out = validate(raw, ModeConfig, "--set")
    if config.venues:  # a mode loaded from a file keeps at least one venue
        _require_venues(out, "--set")
    return out
