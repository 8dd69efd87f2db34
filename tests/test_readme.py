"""The README and docs/ say what the project has: every `flask --app app ...` they show exists,
every `make` target they name is in the Makefile, every file they name and every relative link
resolves (to a heading too, when a link names one), every doc is reachable from the README, and
the README stays a front door. (The skills.json examples of docs/skills.md: test_skills.py.)"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import pytest
from conftest import ROOT

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
MAX_README_LINES = 250
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
# A path in code: `chatbot/core/channels.py`, `mentor/`, `skills.json`; not a route, a URL or `$VAR/x`.
PATH = re.compile(
    r"(?<![\w$/.:<{-])((?:[\w.-]+/)+[\w.-]*|[\w-]+\.(?:py|json|md|yaml|sh|txt|toml|png|svg|in))(?![\w/:{-])"
)
GENERATED = ("test-artifacts/", "bench/results.json")  # written by the tests and by make bench, not kept in git
TOP = {entry.name for entry in ROOT.iterdir()}
SKIPPED_DIRS = ("__pycache__", "test-artifacts")  # and every hidden one: .git, .venv, the caches


@functools.cache
def file_names() -> set[str]:
    """The name of every file and folder kept in the repository."""
    names: set[str] = set()
    for _folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if not d.startswith(".") and d not in SKIPPED_DIRS]
        names.update(subfolders, files)
    return names


def text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def prose(page: Path) -> str:
    """The page without its fenced code blocks (whose `# comments` are not headings)."""
    return FENCE.sub("", text(page))


def code_blocks(page: Path) -> str:
    return "\n".join(FENCE.findall(text(page)))


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", prose(page), re.M):
        base, n = slug(heading), 1
        name = base
        while name in found:  # GitHub numbers a repeated heading: name, name-1, name-2...
            name, n = f"{base}-{n}", n + 1
        found.add(name)
    return found


def links(page: Path) -> list[str]:
    return re.findall(r"\]\(([^)\s]+)\)", prose(page))


def name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def test_the_readme_stays_a_front_door():
    lines = len(text(README).splitlines())
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines: move the detail into docs/"


def test_every_doc_is_linked_from_the_readme():
    linked = {(README.parent / link.split("#")[0]).resolve() for link in links(README)}
    assert [name(doc) for doc in DOCS if doc.resolve() not in linked] == []


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_every_relative_link_points_at_a_file_that_exists(page):
    for link in links(page):
        if re.match(r"[a-z]+:", link):  # https:, mailto:
            continue
        path, _, heading = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), f"{name(page)} links to {link}, which does not exist"
        if heading and target.suffix == ".md":
            assert heading in anchors(target), f"{name(page)} links to {link}: no such heading there"


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_every_flask_command_shown_exists(app, page):
    commands = app.cli.list_commands(None)
    shown = re.findall(r"flask\s+--app\s+app\s+([a-z][a-z-]*(?:\s+[a-z][a-z-]*)?)", text(page))
    for line in sorted({" ".join(found.split()) for found in shown}):  # a code span may wrap a line
        command, _, sub = line.partition(" ")
        assert command in commands, f"{name(page)}: flask --app app {line}: no such command"
        group = app.cli.get_command(None, command)
        subcommands = group.list_commands(None) if hasattr(group, "list_commands") else []
        if sub and subcommands:
            assert sub in subcommands, f"{name(page)}: flask --app app {line}: no such subcommand"


@pytest.mark.parametrize("page", PAGES, ids=name)
def test_every_make_target_named_exists(page):
    targets = set(re.findall(r"^([a-z][a-z-]*):", text(ROOT / "Makefile"), re.M))
    named = set(re.findall(r"`make\s+([a-z][a-z-]*)", prose(page)))
    named |= set(re.findall(r"^\s*make ([a-z][a-z-]*)", code_blocks(page), re.M))
    assert sorted(named - targets) == [], f"{name(page)} names make targets the Makefile lacks"


def named_paths(page: Path) -> set[str]:
    """Paths in the page's code: `chatbot/core/channels.py`, `mentor/`, `skills.json`, `test_web.py`."""
    code = " ".join(re.findall(r"`([^`\n]+)`", prose(page))) + "\n" + code_blocks(page)
    return {p for p in PATH.findall(code) if not p.startswith((".venv", *GENERATED))}


def test_every_file_the_readme_names_exists():
    named = named_paths(README)
    assert named, "the README names the project's files"
    assert sorted(p for p in named if not (ROOT / p).exists()) == []


@pytest.mark.parametrize("page", DOCS, ids=name)
def test_every_project_file_a_doc_names_exists(page):
    """A path from the top of the repository, or a file name found in it (a test renamed, a module
    moved); routes, URLs and collections (`/webhook/telegram`, `conversations/`) are not files."""
    missing = [
        p
        for p in named_paths(page)
        if ("/" in p and p.split("/")[0] in TOP and not (ROOT / p).exists()) or ("/" not in p and p not in file_names())
    ]
    assert missing == [], f"{name(page)} names files the repository lacks"
