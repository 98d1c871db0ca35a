"""The tree reads as STYLE.md draws it: no import cycles, pure segmentation rules, domains that
never import the HTTP layer, and arrows between domains that point one way."""

from collections.abc import Iterable

import grimp
import pytest

DOMAINS = (
    "analytics",
    "assessments",
    "audit",
    "care",
    "catalog",
    "clients",
    "consents",
    "exports",
    "idempotency",
    "imports",
    "keyring",
    "ops",
)
HTTP_LAYER = (
    "app.main",
    "app.routing",
    "app.handler",
    "app.protocol",
    "app.deps",
    "app.runtime",
    "app.cli",
)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("app", include_external_packages=True)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def app_modules(graph: grimp.ImportGraph) -> Iterable[str]:
    return (m for m in graph.modules if m == "app" or m.startswith("app."))


def test_no_module_imports_itself_through_others(graph: grimp.ImportGraph) -> None:
    edges = {
        module: {m for m in graph.find_modules_directly_imported_by(module) if m.startswith("app.")}
        for module in app_modules(graph)
    }
    assert cycles(edges) == []


def test_the_segmentation_rules_depend_on_nothing_but_their_own_data(
    graph: grimp.ImportGraph,
) -> None:
    for module in graph.find_descendants("app.segmentation"):
        for imported in graph.find_modules_directly_imported_by(module):
            assert imported.startswith("app.segmentation") or "." not in imported, (
                module,
                imported,
            )
            assert imported not in {"fastapi", "sqlalchemy", "sqlmodel", "pydantic", "starlette"}


def test_domains_never_import_the_http_layer(graph: grimp.ImportGraph) -> None:
    for domain in DOMAINS:
        for module in graph.find_descendants(f"app.{domain}"):
            if module.endswith(".router"):
                continue
            imported = graph.find_modules_directly_imported_by(module)
            upward = {m for m in imported if m in HTTP_LAYER or m.endswith(".router")}
            assert upward == set(), module


def test_arrows_between_domains_point_one_way(graph: grimp.ImportGraph) -> None:
    """Routers may import any domain; what the domains' own modules import forms no cycle."""
    edges: dict[str, set[str]] = {domain: set() for domain in DOMAINS}
    for domain in DOMAINS:
        for module in graph.find_descendants(f"app.{domain}"):
            if module.endswith(".router"):
                continue
            for imported in graph.find_modules_directly_imported_by(module):
                parts = imported.split(".")
                target = parts[1] if len(parts) > 1 and parts[0] == "app" else None
                if target in DOMAINS and target != domain:
                    edges[domain].add(target)
    assert cycles(edges) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
