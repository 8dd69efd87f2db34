"""The README's commands are the project's: every `flask --app app ...` it shows exists, every
`make` target it names is in the Makefile, and every link inside it points at a heading."""

from __future__ import annotations

import re

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_flask_command_in_the_readme_exists(app):
    shown = set(re.findall(r"flask --app app ([a-z][a-z-]*(?: [a-z][a-z-]*)?)", README))
    assert shown, "the README shows the commands"
    commands = app.cli.list_commands(None)
    for line in sorted(shown):
        name, _, sub = line.partition(" ")
        assert name in commands, f"README: flask --app app {line}: no such command"
        group = app.cli.get_command(None, name)
        if sub and hasattr(group, "list_commands") and group.list_commands(None):
            assert sub in group.list_commands(None) or sub in ("CHANNEL",), f"README: flask --app app {line}"


def test_every_make_target_in_the_readme_exists():
    targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))
    for target in set(re.findall(r"`make ([a-z][a-z-]*)", README)):
        assert target in targets, f"README names make {target}"


def test_links_inside_the_readme_point_at_headings():
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", README, re.M)
    }
    for link in re.findall(r"\]\(#([^)]+)\)", README):
        assert link in anchors, f"README links to #{link}, which is not a heading"
