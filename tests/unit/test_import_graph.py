"""No import cycle in openim: neither between two of its modules, whatever the packages, nor between two
of its top-level parts (wire, services, api, ops, config, ...). The contracts in .importlinter name the
directions between the main layers; these tests catch a loop anywhere, including among the parts no
contract names.

Every import counts: at module level, inside a function (a lazy import does not make a loop any easier
to read: it only moves the failure from import time to call time) and under ``TYPE_CHECKING``. grimp,
which import-linter uses, finds them all and does not tell them apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import grimp
import pytest


def import_cycles(modules: Iterable[str], imports_of: Callable[[str], Iterable[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative: the
    graph is deep enough to overflow Python's recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    work: list[tuple[str, list[str]]] = []  # the depth-first path: a module and the imports left to walk
    found: list[frozenset[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        work.append((module, sorted(imports_of(module))))

    for root in sorted(modules):
        if root in index:
            continue
        visit(root)
        while work:
            module, pending = work[-1]
            if pending:
                target = pending.pop()
                if target not in index:
                    visit(target)
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("openim", include_external_packages=False, cache_dir=None)


def test_no_import_cycle_between_modules(graph: grimp.ImportGraph) -> None:
    cycles = [sorted(c) for c in import_cycles(graph.modules, graph.find_modules_directly_imported_by)]
    assert not cycles, f"import cycles between modules of openim (break each): {cycles}"


def part_of(module: str) -> str:
    """The top-level part a module belongs to: ``openim.services.groups.base`` -> ``openim.services``."""
    return ".".join(module.split(".")[:2])


def test_no_import_cycle_between_parts(graph: grimp.ImportGraph) -> None:
    imports: dict[str, set[str]] = {}
    for module in graph.modules:
        imported = {part_of(m) for m in graph.find_modules_directly_imported_by(module)}
        imports.setdefault(part_of(module), set()).update(imported - {part_of(module)})
    cycles = [sorted(c) for c in import_cycles(imports, lambda part: imports.get(part, ()))]
    assert not cycles, f"import cycles between the top-level parts of openim (break each): {cycles}"


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"a": ["b"], "b": ["c"], "c": []}, []),
        ({"a": ["b"], "b": ["a"]}, [{"a", "b"}]),
        ({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}, [{"a", "b", "c"}]),
        ({"a": ["b"], "b": ["a"], "c": ["d"], "d": ["c", "a"]}, [{"a", "b"}, {"c", "d"}]),
        ({"a": ["a"]}, []),  # a module importing itself is no cycle between modules
    ],
)
def test_import_cycles_finds_every_loop(edges: dict[str, list[str]], expected: list[set[str]]) -> None:
    found = import_cycles(edges, lambda m: edges[m])
    assert sorted(sorted(c) for c in found) == sorted(sorted(c) for c in expected)


def test_import_cycles_survives_a_deep_graph() -> None:
    chain = {f"m{i}": [f"m{i + 1}"] for i in range(5000)} | {"m5000": ["m0"]}
    assert import_cycles(chain, lambda m: chain[m]) == [frozenset(chain)]
