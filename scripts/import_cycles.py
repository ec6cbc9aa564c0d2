"""List the import cycles between haoka's domains (and the module imports that make them).

    .venv/bin/python scripts/import_cycles.py          # exit 1 when there is a cycle

Every import counts, at module level or inside a function (grimp reads them all). Two domains
are in a cycle when each reaches the other through imports; the script prints each cycle's
domains and, for every pair of them, the direct imports from one to the other. The layers in
``.importlinter`` (checked by ``lint-imports`` in ``make lint``) forbid these; this script is the
plain answer to "are there any?".
"""

from __future__ import annotations

import sys
from collections import defaultdict

import grimp

ROOT = "haoka"


def domain_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def domain_graph(graph: grimp.ImportGraph) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """domain -> imported domain -> [(importer, imported)] for every direct import."""
    edges: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for importer in graph.modules:
        if not importer.startswith(ROOT + "."):
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            if not imported.startswith(ROOT + "."):
                continue
            a, b = domain_of(importer), domain_of(imported)
            if a != b:
                edges[a][b].append((importer, imported))
    return edges


def strongly_connected(nodes: set[str], edges) -> list[list[str]]:
    """Tarjan's algorithm: the groups of domains that all reach each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            groups.append(sorted(group))

    for node in sorted(nodes):
        if node not in index:
            visit(node)
    return [g for g in groups if len(g) > 1]


def main() -> int:
    graph = grimp.build_graph(ROOT, cache_dir=None)
    edges = domain_graph(graph)
    nodes = set(edges) | {b for targets in edges.values() for b in targets}
    cycles = strongly_connected(nodes, edges)
    print(f"{len(nodes)} packages, {sum(len(t) for t in edges.values())} dependencies between them")
    if not cycles:
        print("no import cycle between domains")
        return 0
    for group in cycles:
        print(f"\ncycle: {' <-> '.join(group)}")
        for a in group:
            for b in group:
                for importer, imported in sorted(edges.get(a, {}).get(b, [])):
                    print(f"  {importer} -> {imported}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
