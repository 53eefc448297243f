"""No import cycle between the modules of openim, whatever the packages: the contracts in .importlinter
speak of packages (wire, services, api, ...); this speaks of every module, so that two modules of one
package cannot come to need each other either.

Every import counts: at module level, inside a function (a lazy import does not make a loop any easier
to read: it only moves the failure from import time to call time) and under ``TYPE_CHECKING``. grimp,
which import-linter uses, finds them all and does not tell them apart.

``ALLOWED`` names the cycles known today in modules being restructured elsewhere; a cycle that is not
listed there fails the test, and so does a listed one that is gone (the list only shrinks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

import grimp
import pytest

# Each entry: the modules of one strongly connected component, as the test reports it.
ALLOWED: Final[frozenset[frozenset[str]]] = frozenset()


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
    cycles = set(import_cycles(graph.modules, graph.find_modules_directly_imported_by))
    new = [sorted(c) for c in cycles - ALLOWED]
    assert not new, f"import cycles between modules of openim (break each, or see ALLOWED): {new}"
    gone = [sorted(c) for c in ALLOWED - cycles]
    assert not gone, f"cycles listed in ALLOWED that no longer exist (remove them): {gone}"


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
