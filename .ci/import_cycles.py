"""Fail when the modules of ``actors`` and ``factory`` import one another in a cycle.

Every import counts, including the ones inside functions and ``TYPE_CHECKING`` blocks: a lazy
import hides a cycle from the interpreter, not from the design. The graph comes from grimp
(import-linter's graph library). Each cycle is printed as a chain of modules that leads back
to its first one; the exit status is 1 when there is any, 0 otherwise.

Usage: ``python .ci/import_cycles.py [package ...]`` (default: ``actors factory``).
"""

from __future__ import annotations

import sys
from collections import deque
from pathlib import Path

import grimp

__all__ = ["find_cycles", "main"]

DEFAULT_PACKAGES = ("actors", "factory")


def _components(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges.get(node, [])
            if i < len(targets):
                work.append((node, i + 1))
                nxt = targets[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return sorted(out)


def _shortest_cycle(graph: grimp.ImportGraph, start: str, members: set[str]) -> list[str]:
    """The shortest chain ``start -> ... -> start`` inside one component."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph.find_modules_directly_imported_by(node) & members):
            if nxt == start:
                chain = [node]
                while chain[-1] != start:
                    chain.append(previous[chain[-1]])
                return [*reversed(chain), start]
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return [start]


def find_cycles(*packages: str) -> list[list[str]]:
    """Return one import cycle per tangle of modules in ``packages``, each ending where it starts.

    A tangle (strongly connected component) may hold several cycles; each of its modules that
    no printed cycle passes through yet starts one more, so every module in a tangle is named.
    """
    graph = grimp.build_graph(*packages, include_external_packages=False, cache_dir=None)
    cycles: list[list[str]] = []
    for component in _components(graph):
        members, covered = set(component), set()
        for module in component:
            if module in covered:
                continue
            cycle = _shortest_cycle(graph, module, members)
            covered.update(cycle)
            cycles.append(cycle)
    return cycles


def main(argv: list[str]) -> int:
    """Print every import cycle among the given packages; return 1 when there is one."""
    packages = tuple(argv) or DEFAULT_PACKAGES
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    cycles = find_cycles(*packages)
    for cycle in cycles:
        print("import cycle: " + " -> ".join(cycle))
    if cycles:
        print(f"{len(cycles)} import cycle(s) among {', '.join(packages)}", file=sys.stderr)
        return 1
    print(f"no import cycle among {', '.join(packages)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
