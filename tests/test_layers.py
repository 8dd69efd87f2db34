"""The modules' shape: each sits on a layer and imports only from below (or beside, without a circle),
counting imports inside functions; no module over 400 lines, no function over 60 (data tables aside)."""

from __future__ import annotations

import ast

import pytest
from conftest import ROOT

# The README's architecture section draws this table.
LAYERS = {
    "settings": 0,
    "logs": 0,
    "outbound": 0,
    "readahead": 0,
    "texts": 0,
    "plain": 0,
    "skills_check": 1,
    "skills": 1,
    "understand": 1,
    "chat": 1,
    "flood": 1,
    "tally": 1,
    "store": 2,
    "sqlite_store": 2,
    "firestore_store": 2,
    "firestore_support": 2,
    "delivery": 2,
    "relay": 3,
    "fb": 3,
    "tg": 3,
    "web": 3,
    "outreach": 4,
    "tasks_auth": 4,
    "erasure": 4,
    "privacy": 4,
    "stats": 4,
    "admin": 4,
    "catalog": 5,
    "reminders": 5,
    "steps": 5,
    "pace": 5,
    "actions": 5,
    "app": 6,
    "parts": 6,
    "cli": 6,
    "doctor": 6,
}
SERVICE = sorted(p.stem for p in ROOT.glob("*.py") if p.stem != "gunicorn.conf")


def imports_of(name: str) -> set[str]:
    """Every project module ``name`` imports, at the top or inside a function."""
    tree = ast.parse((ROOT / f"{name}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found & set(LAYERS)


def test_every_module_has_a_layer():
    assert set(SERVICE) == set(LAYERS)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_imports_go_down_the_layers(name):
    upward = {other for other in imports_of(name) if LAYERS[other] > LAYERS[name]}
    assert not upward, f"{name} (layer {LAYERS[name]}) imports from above: {upward}"


def test_no_import_circle():
    graph = {name: imports_of(name) - {name} for name in LAYERS}
    visiting, done = set(), set()

    def visit(name: str, path: list[str]) -> None:
        assert name not in visiting, "import circle: " + " -> ".join([*path, name])
        if name in done:
            return
        visiting.add(name)
        for other in sorted(graph[name]):
            visit(other, [*path, name])
        visiting.discard(name)
        done.add(name)

    for name in LAYERS:
        visit(name, [])


@pytest.mark.parametrize("name", SERVICE)
def test_modules_and_functions_stay_small(name):
    source = (ROOT / f"{name}.py").read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 400, f"{name}.py passed 400 lines: split it by job"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = node.end_lineno - node.lineno + 1
            assert length <= 60, f"{name}.{node.name} is {length} lines: two jobs share it"


def test_no_dynamic_imports():
    for name in SERVICE:
        source = (ROOT / f"{name}.py").read_text(encoding="utf-8")
        assert "__import__(" not in source and "importlib" not in source, name
