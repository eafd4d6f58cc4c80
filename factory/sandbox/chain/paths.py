"""Where the sandbox chain's tools live: node_modules (anvil, solc, OpenZeppelin, AAVE), caches.

Every location can be overridden from the environment so an installed package (no repository
beside it) still finds the tools:

- ``BASIS_NODE_MODULES``: the ``node_modules`` directory (default: the repository's).
- ``BASIS_ANVIL_BIN``: the anvil executable (default: the npm package's native binary, then PATH).
- ``BASIS_CACHE_DIR``: cache root (default: ``$XDG_CACHE_HOME/basis-monitor`` or
  ``~/.cache/basis-monitor``).
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
from pathlib import Path

from factory.errors import BackendNotAvailableError

__all__ = [
    "CONTRACTS_DIR",
    "aave_artifacts_dir",
    "anvil_binary",
    "cache_dir",
    "node_modules",
]

CONTRACTS_DIR = Path(__file__).resolve().parent.parent / "contracts"
_REPO = Path(__file__).resolve().parents[3]
_PLATFORM = {("Linux", "x86_64"): "linux-amd64", ("Linux", "aarch64"): "linux-arm64",
             ("Darwin", "arm64"): "darwin-arm64", ("Darwin", "x86_64"): "darwin-amd64"}


def node_modules() -> Path:
    """Return the node_modules directory holding the sandbox's npm packages.

    Raises:
        BackendNotAvailableError: it does not exist (run ``npm ci``).
    """
    path = Path(os.environ.get("BASIS_NODE_MODULES", _REPO / "node_modules"))
    if not path.is_dir():
        raise BackendNotAvailableError(
            f"sandbox chain: {path} not found; run `npm ci` in the repository "
            "or set BASIS_NODE_MODULES"
        )
    return path


def anvil_binary() -> str:
    """Return the anvil executable: ``BASIS_ANVIL_BIN``, the npm native binary, then PATH.

    Raises:
        BackendNotAvailableError: no anvil found.
    """
    explicit = os.environ.get("BASIS_ANVIL_BIN")
    if explicit:
        return explicit
    candidates: list[Path] = []
    suffix = _PLATFORM.get((platform.system(), platform.machine()))
    modules = Path(os.environ.get("BASIS_NODE_MODULES", _REPO / "node_modules"))
    if suffix:
        candidates.append(modules / "@foundry-rs" / f"anvil-{suffix}" / "bin" / "anvil")
    candidates.append(modules / ".bin" / "anvil")
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    found = shutil.which("anvil")
    if found:
        return found
    raise BackendNotAvailableError(
        "sandbox chain: anvil not found; run `npm ci` (package @foundry-rs/anvil) "
        "or set BASIS_ANVIL_BIN"
    )


def aave_artifacts_dir() -> Path:
    """Return the compiled AAVE v3 core contracts (hardhat artifacts of ``@aave/core-v3``)."""
    path = node_modules() / "@aave" / "core-v3" / "artifacts" / "contracts"
    if not path.is_dir():
        raise BackendNotAvailableError(f"sandbox chain: {path} not found; run `npm ci`")
    return path


def cache_dir() -> Path:
    """Return (and create) the cache root for compiled contracts."""
    root = os.environ.get("BASIS_CACHE_DIR")
    if root:
        path = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        path = (Path(xdg) if xdg else Path.home() / ".cache") / "basis-monitor"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:  # read-only home (some CI sandboxes): fall back to the temp directory
        path = Path(tempfile.gettempdir()) / "basis-monitor"
        path.mkdir(parents=True, exist_ok=True)
    return path
