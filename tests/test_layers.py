"""The shape the folders promise: the runtime's layers import only downwards, the runtime never
imports a door (app.py, a channel module) or the bot in the box, the bot in the box imports only
the engine, and no import circle exists, counting imports inside functions.

The layers, as chatbot/__init__.py and docs/architecture.md draw them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import ROOT

LAYERS = {"core": 0, "engine": 1, "store": 2, "delivery": 3, "outreach": 4, "owner": 5, "service": 6}
DOORS = {"app", "fb", "tg", "web"}
# What the bot in the box may use: the engine's types and actions' context, and text as platforms count it.
MENTOR_MAY_IMPORT = ("chatbot.engine", "chatbot.core.text", "mentor")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


SERVICE_FILES = sorted(
    [ROOT / f"{door}.py" for door in DOORS]
    + list((ROOT / "chatbot").rglob("*.py"))
    + list((ROOT / "mentor").rglob("*.py"))
)
MODULES = {module_name(path): path for path in SERVICE_FILES}


def imports_of(name: str) -> set[str]:
    """Every project module ``name`` imports, at the top or inside a function (a package's own
    ``__init__`` counts as the package)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            # ``from pkg import submodule`` imports the submodule; ``from pkg import name``, the package.
            named = {f"{node.module}.{alias.name}" for alias in node.names}
            found |= (named & MODULES.keys()) or {node.module}
            if named - MODULES.keys():
                found.add(node.module)
    return {target for target in found if target in MODULES} - {name}


def layer(name: str) -> int | None:
    parts = name.split(".")
    return LAYERS.get(parts[1]) if parts[0] == "chatbot" and len(parts) > 1 else None


def test_every_runtime_module_sits_on_a_layer():
    stray = [n for n in MODULES if n.startswith("chatbot.") and layer(n) is None]
    assert stray == [], "modules of chatbot/ outside its layer packages"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer(n) is not None))
def test_the_runtime_imports_only_downwards(name):
    above = {other for other in imports_of(name) if layer(other) is None or layer(other) > layer(name)}
    assert not above, f"{name} (layer {layer(name)}) imports {sorted(above)}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("mentor")))
def test_the_bot_in_the_box_uses_only_the_engine(name):
    other = {m for m in imports_of(name) if not m.startswith(MENTOR_MAY_IMPORT)}
    assert not other, f"{name} imports {sorted(other)}"


@pytest.mark.parametrize("door", sorted(DOORS - {"app"}))
def test_a_channel_module_imports_no_other_door(door):
    assert not imports_of(door) & DOORS


def test_no_import_circle():
    graph = {name: imports_of(name) for name in MODULES}
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        assert name not in visiting, "import circle: " + " -> ".join([*path, name])
        if name in done:
            return
        visiting.add(name)
        for other in sorted(graph[name]):
            visit(other, [*path, name])
        visiting.discard(name)
        done.add(name)

    for name in MODULES:
        visit(name, [])


@pytest.mark.parametrize("package", sorted({p.parent for p in SERVICE_FILES if p.name == "__init__.py"}))
def test_each_package_says_what_it_holds_and_what_it_may_import(package):
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8"))) or ""
    assert len(doc) > 80 and "import" in doc.lower(), f"{package.name}/__init__.py needs its docstring"


def test_no_dynamic_imports_and_no_formatter_escapes():
    for name, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        assert "__import__(" not in source and "importlib" not in source, name
        assert "fmt: skip" not in source and "fmt: off" not in source, f"{name}: split by job, never squeeze"
