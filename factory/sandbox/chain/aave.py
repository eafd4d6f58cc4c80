"""Deploy the real AAVE v3 core (npm ``@aave/core-v3`` artifacts) on the sandbox chain.

Order (each step needs the previous ones):

1. PoolAddressesProvider (owner = deployer), ``setACLAdmin(deployer)``, then ACLManager and
   ``setACLManager``; the deployer becomes pool admin.
2. The external logic libraries, linked into Pool (FlashLoanLogic itself links BorrowLogic) and
   PoolConfigurator (ConfiguratorLogic); ``setPoolImpl`` / ``setPoolConfiguratorImpl`` create the
   proxies and initialise them.
3. AaveOracle fed by the sandbox's mock aggregators (USD base currency, 8 decimals) and the
   AaveProtocolDataProvider.
4. AToken / VariableDebtToken / StableDebtToken implementations bound to the Pool proxy, one
   interest-rate strategy per reserve, ``initReserves`` for every reserve, then collateral
   parameters, borrowing and reserve factor per reserve, and the eMode categories.

The risk parameters are data (`ReserveParams`, `EModeParams`); supply, borrow, interest and
health factor all come from the protocol's own code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from eth_utils import to_checksum_address

from factory.sandbox.chain.client import ChainClient
from factory.sandbox.chain.paths import aave_artifacts_dir

__all__ = [
    "AaveDeployment",
    "EModeParams",
    "ReserveParams",
    "ReserveTokens",
    "aave_abi",
    "deploy_aave",
]

RAY = 10**27
ZERO = "0x0000000000000000000000000000000000000000"

ARTIFACTS = {
    "PoolAddressesProvider": "protocol/configuration/PoolAddressesProvider.sol",
    "ACLManager": "protocol/configuration/ACLManager.sol",
    "Pool": "protocol/pool/Pool.sol",
    "PoolConfigurator": "protocol/pool/PoolConfigurator.sol",
    "AaveOracle": "misc/AaveOracle.sol",
    "AaveProtocolDataProvider": "misc/AaveProtocolDataProvider.sol",
    "AToken": "protocol/tokenization/AToken.sol",
    "VariableDebtToken": "protocol/tokenization/VariableDebtToken.sol",
    "StableDebtToken": "protocol/tokenization/StableDebtToken.sol",
    "DefaultReserveInterestRateStrategy": "protocol/pool/DefaultReserveInterestRateStrategy.sol",
    "SupplyLogic": "protocol/libraries/logic/SupplyLogic.sol",
    "BorrowLogic": "protocol/libraries/logic/BorrowLogic.sol",
    "LiquidationLogic": "protocol/libraries/logic/LiquidationLogic.sol",
    "EModeLogic": "protocol/libraries/logic/EModeLogic.sol",
    "BridgeLogic": "protocol/libraries/logic/BridgeLogic.sol",
    "FlashLoanLogic": "protocol/libraries/logic/FlashLoanLogic.sol",
    "PoolLogic": "protocol/libraries/logic/PoolLogic.sol",
    "ConfiguratorLogic": "protocol/libraries/logic/ConfiguratorLogic.sol",
}
# Libraries in dependency order (FlashLoanLogic links BorrowLogic).
LIBRARIES = (
    "SupplyLogic", "BorrowLogic", "LiquidationLogic", "EModeLogic", "BridgeLogic",
    "PoolLogic", "ConfiguratorLogic", "FlashLoanLogic",
)


@dataclass(frozen=True)
class ReserveParams:
    """Risk and rate parameters of one reserve (bps for ltv/threshold/bonus/factor)."""

    ltv_bps: int
    liquidation_threshold_bps: int
    liquidation_bonus_bps: int
    reserve_factor_bps: int = 1000
    borrowing: bool = True
    optimal_usage: float = 0.80
    base_rate: float = 0.0
    slope1: float = 0.04
    slope2: float = 0.75
    emode_category: int = 0


@dataclass(frozen=True)
class EModeParams:
    """An eMode category (bps); liquidation threshold x bonus must stay <= 100%."""

    category_id: int
    ltv_bps: int
    liquidation_threshold_bps: int
    liquidation_bonus_bps: int
    label: str


@dataclass(frozen=True)
class ReserveTokens:
    """The tokens AAVE created for one reserve."""

    underlying: str
    a_token: str
    variable_debt_token: str
    stable_debt_token: str


@dataclass(frozen=True)
class AaveDeployment:
    """Addresses of one AAVE v3 market on the sandbox chain."""

    pool_addresses_provider: str
    acl_manager: str
    pool: str
    pool_configurator: str
    oracle: str
    data_provider: str
    reserves: dict[str, ReserveTokens] = field(default_factory=dict)
    emode_categories: dict[str, int] = field(default_factory=dict)


@cache
def _artifact(name: str) -> dict[str, Any]:
    path = aave_artifacts_dir() / ARTIFACTS[name] / f"{name}.json"
    return json.loads(path.read_text())


def aave_abi(name: str) -> list[dict[str, Any]]:
    """Return the ABI of an AAVE v3 core contract, e.g. ``aave_abi("Pool")``."""
    return _artifact(name)["abi"]


def _linked_bytecode(name: str, libraries: dict[str, str]) -> str:
    """Return the creation bytecode of ``name`` with its library placeholders replaced."""
    art = _artifact(name)
    chars = list(art["bytecode"].removeprefix("0x"))
    for libs in art["linkReferences"].values():
        for lib, refs in libs.items():
            if lib not in libraries:
                raise KeyError(f"{name} needs library {lib}, not deployed yet")
            addr = libraries[lib].lower().removeprefix("0x")
            for ref in refs:
                start = ref["start"] * 2
                chars[start:start + ref["length"] * 2] = addr
    return "".join(chars)


def _deploy(client: ChainClient, sender: str, name: str, *args: Any,
            libraries: dict[str, str] | None = None) -> str:
    return client.deploy(
        sender, aave_abi(name), _linked_bytecode(name, libraries or {}), *args, name=name
    )


def deploy_aave(
    client: ChainClient,
    deployer: str,
    tokens: dict[str, tuple[str, int]],
    price_feeds: dict[str, str],
    reserves: dict[str, ReserveParams],
    emodes: list[EModeParams],
    treasury: str,
) -> AaveDeployment:
    """Deploy and configure an AAVE v3 market.

    Args:
        client: the chain.
        deployer: an unlocked account; becomes owner, ACL admin and pool admin.
        tokens: ``{symbol: (address, decimals)}`` of the underlying tokens.
        price_feeds: ``{symbol: aggregator address}`` (USD, 8 decimals).
        reserves: parameters per reserve symbol (each must be in ``tokens``).
        emodes: eMode categories; reserves join one with ``ReserveParams.emode_category``.
        treasury: receives the reserve factor's share of interest.
    """
    provider = _deploy(client, deployer, "PoolAddressesProvider", "Basis Sandbox Market", deployer)
    p_abi = aave_abi("PoolAddressesProvider")
    client.send(deployer, provider, p_abi, "setACLAdmin", deployer)
    acl = _deploy(client, deployer, "ACLManager", provider)
    client.send(deployer, provider, p_abi, "setACLManager", acl)
    client.send(deployer, acl, aave_abi("ACLManager"), "addPoolAdmin", deployer)

    libs: dict[str, str] = {}
    for lib in LIBRARIES:
        libs[lib] = _deploy(client, deployer, lib, libraries=libs)
    pool_impl = _deploy(client, deployer, "Pool", provider, libraries=libs)
    client.send(deployer, provider, p_abi, "setPoolImpl", pool_impl)
    pool = to_checksum_address(client.call(provider, p_abi, "getPool"))
    conf_impl = _deploy(client, deployer, "PoolConfigurator", libraries=libs)
    client.send(deployer, provider, p_abi, "setPoolConfiguratorImpl", conf_impl)
    configurator = to_checksum_address(client.call(provider, p_abi, "getPoolConfigurator"))

    assets = [tokens[s][0] for s in reserves]
    sources = [price_feeds[s] for s in reserves]
    oracle = _deploy(client, deployer, "AaveOracle", provider, assets, sources, ZERO, ZERO, 10**8)
    client.send(deployer, provider, p_abi, "setPriceOracle", oracle)
    data_provider = _deploy(client, deployer, "AaveProtocolDataProvider", provider)
    client.send(deployer, provider, p_abi, "setPoolDataProvider", data_provider)

    a_impl = _deploy(client, deployer, "AToken", pool)
    v_impl = _deploy(client, deployer, "VariableDebtToken", pool)
    s_impl = _deploy(client, deployer, "StableDebtToken", pool)
    inputs = []
    for sym, rp in reserves.items():
        strategy = _deploy(
            client, deployer, "DefaultReserveInterestRateStrategy", provider,
            int(rp.optimal_usage * RAY), int(rp.base_rate * RAY), int(rp.slope1 * RAY),
            int(rp.slope2 * RAY), 0, 0, 0, 0, int(0.2 * RAY),
        )
        address, decimals = tokens[sym]
        inputs.append((
            a_impl, s_impl, v_impl, decimals, strategy, address, treasury, ZERO,
            f"Aave Sandbox {sym}", f"a{sym}",
            f"Aave Sandbox Variable Debt {sym}", f"variableDebt{sym}",
            f"Aave Sandbox Stable Debt {sym}", f"stableDebt{sym}", b"",
        ))
    c_abi = aave_abi("PoolConfigurator")
    client.send(deployer, configurator, c_abi, "initReserves", inputs)

    for sym, rp in reserves.items():
        asset = tokens[sym][0]
        client.send(deployer, configurator, c_abi, "configureReserveAsCollateral", asset,
                    rp.ltv_bps, rp.liquidation_threshold_bps, rp.liquidation_bonus_bps)
        if rp.borrowing:
            client.send(deployer, configurator, c_abi, "setReserveBorrowing", asset, True)
        client.send(deployer, configurator, c_abi, "setReserveFactor", asset, rp.reserve_factor_bps)
    for em in emodes:
        client.send(deployer, configurator, c_abi, "setEModeCategory", em.category_id, em.ltv_bps,
                    em.liquidation_threshold_bps, em.liquidation_bonus_bps, ZERO, em.label)
    for sym, rp in reserves.items():
        if rp.emode_category:
            client.send(deployer, configurator, c_abi, "setAssetEModeCategory",
                        tokens[sym][0], rp.emode_category)

    pool_abi = aave_abi("Pool")
    out: dict[str, ReserveTokens] = {}
    for sym in reserves:
        data = client.call(pool, pool_abi, "getReserveData", tokens[sym][0])
        out[sym] = ReserveTokens(
            underlying=tokens[sym][0],
            a_token=to_checksum_address(data[8]),
            stable_debt_token=to_checksum_address(data[9]),
            variable_debt_token=to_checksum_address(data[10]),
        )
    return AaveDeployment(
        pool_addresses_provider=provider, acl_manager=acl, pool=pool,
        pool_configurator=configurator, oracle=oracle, data_provider=data_provider,
        reserves=out, emode_categories={em.label: em.category_id for em in emodes},
    )
