"""Compile the sandbox's own Solidity sources offline with the npm ``solc`` (solcjs).

Sources are ``factory/sandbox/contracts/*.sol``; imports resolve from ``node_modules``
(OpenZeppelin).
The output (ABI and creation bytecode per contract) is cached on disk under
``<cache_dir>/solc/<hash>.json``, keyed by the sources, the compiler settings and the versions of
solc and OpenZeppelin, so a second run costs a file read.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factory.errors import BackendNotAvailableError
from factory.sandbox.chain.paths import CONTRACTS_DIR, cache_dir, node_modules

__all__ = ["CompiledContract", "SolcError", "compile_sandbox_contracts"]

SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}

# solcjs standard-JSON driver: input on stdin, imports read from node_modules.
_DRIVER = r"""
const fs = require('fs');
const path = require('path');
const solc = require('solc');
const modules = process.argv[1];
const input = fs.readFileSync(0, 'utf8');
function findImports(p) {
  try { return { contents: fs.readFileSync(path.join(modules, p), 'utf8') }; }
  catch (e) { return { error: 'not found: ' + p }; }
}
process.stdout.write(solc.compile(input, { import: findImports }));
"""


class SolcError(BackendNotAvailableError):
    """The sandbox contracts did not compile."""


@dataclass(frozen=True)
class CompiledContract:
    """One compiled contract: its ABI, creation and runtime bytecode (hex, no 0x)."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    runtime: str


def _version(modules: Path, package: str) -> str:
    try:
        return json.loads((modules / package / "package.json").read_text())["version"]
    except (OSError, KeyError, ValueError):
        return "unknown"


def _cache_key(sources: dict[str, str], modules: Path) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(SETTINGS, sort_keys=True).encode())
    h.update(_version(modules, "solc").encode())
    h.update(_version(modules, "@openzeppelin/contracts").encode())
    for name in sorted(sources):
        h.update(name.encode())
        h.update(sources[name].encode())
    return h.hexdigest()[:32]


def _run_solc(sources: dict[str, str], modules: Path) -> dict[str, Any]:
    request = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": SETTINGS,
    }
    try:
        proc = subprocess.run(
            ["node", "-e", _DRIVER, str(modules)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=modules.parent,
            check=False,
        )
    except FileNotFoundError as exc:
        raise SolcError("sandbox chain: node not found; install Node.js >= 18") from exc
    if proc.returncode != 0:
        raise SolcError(f"sandbox chain: solcjs failed: {proc.stderr.strip()[:2000]}")
    out = json.loads(proc.stdout)
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        text = "\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors)
        raise SolcError(f"sandbox chain: contracts do not compile:\n{text[:4000]}")
    return out


def compile_sandbox_contracts(
    contracts_dir: Path | None = None, *, use_cache: bool = True
) -> dict[str, CompiledContract]:
    """Compile every ``*.sol`` of the sandbox and return its contracts by name.

    Args:
        contracts_dir: where the sources are (default: ``factory/sandbox/contracts``).
        use_cache: read and write the on-disk cache.

    Raises:
        SolcError: node or solc is missing, or a source does not compile.
    """
    src_dir = contracts_dir or CONTRACTS_DIR
    sources = {p.name: p.read_text() for p in sorted(src_dir.glob("*.sol"))}
    if not sources:
        raise SolcError(f"sandbox chain: no Solidity sources in {src_dir}")
    modules = node_modules()
    cache_file = cache_dir() / "solc" / f"{_cache_key(sources, modules)}.json"
    if use_cache and cache_file.is_file():
        raw = json.loads(cache_file.read_text())
    else:
        out = _run_solc(sources, modules)
        raw = {
            name: {
                "abi": c["abi"],
                "bytecode": c["evm"]["bytecode"]["object"],
                "runtime": c["evm"]["deployedBytecode"]["object"],
            }
            for file in sources
            for name, c in out.get("contracts", {}).get(file, {}).items()
        }
        if use_cache:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(raw))
            tmp.replace(cache_file)
    return {
        name: CompiledContract(name, c["abi"], c["bytecode"], c["runtime"])
        for name, c in raw.items()
    }
