"""Integration tests share one real local Ray per session (Ray 2.60 has no local_mode)."""

from __future__ import annotations

import os

import pytest

from tests.integration.chain_fixtures import (  # noqa: F401 - sandbox chain fixtures
    anvil_node,
    chain,
    chain_mode,
    desk,
    rpc_proxy,
    sandbox,
    sandbox_env,
)


@pytest.fixture(scope="session")
def ray_session():
    """Start one local Ray for the whole session: 2 CPUs, small object store, no dashboard."""
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not ray.is_initialized():
        ray.init(
            num_cpus=2,
            object_store_memory=200 * 1024 * 1024,
            include_dashboard=False,
            namespace="basis-tests",
            log_to_driver=False,
        )
    yield ray
    ray.shutdown()
