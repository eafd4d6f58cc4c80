"""The public names of the two packages are pinned: changing them is a deliberate act."""

import actors
import factory
import factory.interfaces

FACTORY = {
    "BasePositionInterface", "BasisError", "CEXPositionInterface", "ConfigError",
    "ExecutionInterfaceFactory", "MissingCredentialError", "ModeConfig",
    "OnChainPositionInterface", "PortfolioSnapshot", "Position", "PositionKey",
    "TransferPositionInterface", "VenueConfig", "VenueError", "VenueSnapshot", "load_mode",
    "load_venue", "resolve_config",
}
ACTORS = {
    "EventDrivenStrategyEngine", "LocalVenueClient", "PositionMonitor", "PositionMonitorActor",
    "VenueClient", "aggregate", "net_exposure", "reconcile", "spawn_monitor",
}


def test_factory_public_names_are_pinned():
    assert set(factory.__all__) == FACTORY
    assert all(hasattr(factory, n) for n in factory.__all__)


def test_actors_public_names_are_pinned():
    assert set(actors.__all__) == ACTORS
    assert all(hasattr(actors, n) for n in actors.__all__)


def test_the_interfaces_are_importable_from_factory_interfaces():
    for name in ("CEXPositionInterface", "OnChainPositionInterface", "TransferPositionInterface",
                 "BasePositionInterface"):
        assert getattr(factory.interfaces, name) is getattr(factory, name)


def test_the_seed_api_has_its_fixed_names():
    f = factory.ExecutionInterfaceFactory
    assert callable(f.create_position_interface) and callable(f.get_position_interfaces)
    base = factory.BasePositionInterface
    for method in ("get_positions", "get_balance", "get_position_history"):
        assert callable(getattr(base, method))
