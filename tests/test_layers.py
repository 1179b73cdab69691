"""edgekit's packages form layers: every import, lazy ones included, points down or sideways.

The import graph is read from the source (the AST of every module), so an import inside a
function, or one only for type checking, counts like one at the top of a module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import edgekit

ROOT = Path(edgekit.__file__).parent

# Bottom to top. A unit is a subpackage, a top-level module, or "edgekit" (the package's own
# __init__, the facade of lazy names). A unit may import units of its own layer or below.
LAYERS: tuple[frozenset[str], ...] = tuple(
    frozenset(layer)
    for layer in (
        {"errors", "atomic", "_lazy", "_quiet", "runtime"},
        {"audio"},
        {"data"},
        {"models"},
        {"plan"},
        {"export"},
        {"budget"},
        {"device"},
        {"demo"},
        {"cli"},
        {"edgekit"},
    )
)
LEVEL = {unit: level for level, layer in enumerate(LAYERS) for unit in layer}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit_of(module: str) -> str:
    """``edgekit.plan.spec`` -> ``plan``; ``edgekit.errors`` -> ``errors``; ``edgekit`` itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "edgekit"


def imported_modules(path: Path) -> Iterator[tuple[str, int]]:
    """``(module, line)`` of every edgekit import in the file at ``path``, wherever it sits."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names = [".".join([*base, *([node.module] if node.module else [])])]
            else:
                names = [node.module or ""]
        else:
            continue
        for name in names:
            if name == "edgekit" or name.startswith("edgekit."):
                yield name, node.lineno


def unit_edges() -> dict[tuple[str, str], list[str]]:
    """``(importer unit, imported unit) -> ["module:line imports module", ...]``."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        importer = module_name(path)
        for imported, line in imported_modules(path):
            pair = (unit_of(importer), unit_of(imported))
            if pair[0] != pair[1]:
                edges.setdefault(pair, []).append(f"{importer}:{line} imports {imported}")
    return edges


def find_cycle(edges: dict[tuple[str, str], list[str]]) -> list[str] | None:
    """One cycle of the unit graph as ``[a, b, ..., a]``, or None."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_graph_sees_lazy_imports() -> None:
    # Prepare / Execute: the graph of the current source
    edges = unit_edges()
    # Assert: imports inside functions count (the CLI imports its commands' code lazily)
    assert ("cli", "device") in edges
    assert any("edgekit.cli" in why for why in edges[("cli", "device")])


def test_every_unit_has_a_layer() -> None:
    # Prepare
    units = {unit_of(module_name(p)) for p in ROOT.rglob("*.py")}
    # Assert: a new package or top-level module must be given its place
    assert units <= set(LEVEL), sorted(units - set(LEVEL))


def test_no_import_cycle_between_packages() -> None:
    # Execute
    cycle = find_cycle(unit_edges())
    # Assert
    assert cycle is None, " -> ".join(cycle or [])


def test_no_import_goes_up_a_layer() -> None:
    # Execute
    upward = [
        why
        for (a, b), whys in sorted(unit_edges().items())
        if LEVEL.get(b, -1) > LEVEL.get(a, -1)
        for why in whys
    ]
    # Assert
    assert upward == [], "\n".join(upward)


def test_the_cycle_finder_finds_a_cycle() -> None:
    # Prepare: a graph with a loop through three units and a branch off it
    edges = {("a", "b"): [], ("b", "c"): [], ("c", "a"): [], ("c", "d"): []}
    # Execute / Assert
    assert find_cycle(edges) == ["a", "b", "c", "a"]
    assert find_cycle({("a", "b"): [], ("b", "c"): []}) is None
