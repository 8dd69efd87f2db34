"""Progress is never damaged without a word, on every channel and store: typed "done" ticks the
card the person saw, old buttons (chat apps keep them) ask before changing a plan, "drop" asks and
can be undone. Buttons are pressed out of order and twice, through the real routes."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT
from transcript import person_on

from chatbot.delivery import relay

CATALOG = {s["id"]: s for s in json.loads((ROOT / "skills.json").read_text(encoding="utf-8"))["catalog"]}


def title(skill: str, item: str) -> str:
    return next(a["title"] for a in CATALOG[skill]["assignments"] if a["id"] == item)


def plan_size(skill: str, level: str) -> int:
    """How many steps the plan of a level has: progress ("2 of 5") counts them."""
    return sum(1 for a in CATALOG[skill]["assignments"] if a["level"] == level)


@pytest.fixture(params=["messenger", "telegram", "web"])
def person(request, store_app, each_store, graph, telegram):
    return person_on(request.param, store_app, graph, telegram, "psid-safe", 880077, "web-safe", each_store)


def progress(person) -> dict:
    return relay.load_conversation(person.store, person.key).progress


def start(person, skill: str, level: str, hours: int) -> None:
    person.start()
    person.press("x", "quick", f"PICK:{skill}")
    person.press("x", "quick", f"LEVEL:{skill}:{level}")
    person.press("x", "quick", f"HOURS:{skill}:{hours}")
    person.press("x", "quick", "REMIND:off")


def test_typed_done_ticks_the_card_on_screen_and_names_it(person):
    # Python at 1 of 5, SQL started last: "My skills" -> Python's next assignment, then typed "done".
    start(person, "python", "beginner", 4)
    person.press("x", "postback", "DONE:python:py-1")
    start(person, "sql", "beginner", 4)
    person.press("x", "quick", "MY_SKILLS")
    person.press("x", "postback", "NEXT:python")
    said = "\n".join(person.say("done"))
    after = progress(person)
    assert after["python"]["done"] == ["py-1", "py-2"] and after["sql"]["done"] == []
    assert f"Ticked off “{title('python', 'py-2')}”: Python, 2 of {plan_size('python', 'beginner')}" in said


def test_done_with_two_skills_and_no_card_asks_which(person):
    start(person, "python", "beginner", 4)
    start(person, "sql", "beginner", 4)
    person.press("x", "quick", "MY_SKILLS")
    person.press("x", "quick", "HELP")  # nothing on screen says which skill
    person.press("x", "quick", "BROWSE")
    said = "\n".join(person.say("done"))
    assert "Which one do you mean?" in said
    assert all(not p["done"] for p in progress(person).values())
    person.tap("Python")
    assert progress(person)["python"]["done"] == ["py-1"] and progress(person)["sql"]["done"] == []


@pytest.mark.parametrize("old", ["HOURS:python:12", "HOURS:12", "LEVEL:python:advanced", "LEVEL:advanced"])
def test_an_old_plan_button_asks_first_and_keeps_progress(person, old):
    start(person, "python", "beginner", 4)
    for item in ("py-1", "py-2", "py-3"):
        person.press("x", "postback", f"DONE:python:{item}")
    for _ in range(2):  # pressed twice: asked twice, nothing changed
        said = "\n".join(person.press("x", "quick", old))
        assert "Your progress stays" in said or "stays done" in said
        assert progress(person)["python"]["done"] == ["py-1", "py-2", "py-3"]
        assert progress(person)["python"]["hours"] == 4 and progress(person)["python"]["level"] == "beginner"
    person.tap("No, keep it")
    assert progress(person)["python"]["done"] == ["py-1", "py-2", "py-3"]
    person.press("x", "quick", old)
    person.tap("Yes, change it")
    after = progress(person)["python"]
    assert after["done"] == ["py-1", "py-2", "py-3"]
    assert after["hours"] == 12 if old.startswith("HOURS") else after["level"] == "advanced"


def test_drop_asks_first_and_undo_brings_it_back(person):
    start(person, "git", "beginner", 8)
    person.press("x", "postback", "DONE:git:git-1")
    said = "\n".join(person.press("x", "postback", "DROP:git"))
    assert "Drop Git and version control?" in said and "git" in progress(person)
    person.tap("Yes, drop it")
    person.press("x", "quick", "DROP_YES:git")  # the old confirmation pressed again: nothing more happens
    assert "git" not in progress(person)
    person.press("x", "quick", "UNDROP:git")
    assert progress(person)["git"]["done"] == ["git-1"]
    person.press("x", "quick", "UNDROP:git")  # twice: still the same progress
    assert progress(person)["git"]["done"] == ["git-1"]


def test_an_old_done_button_out_of_order_never_counts_twice(person):
    start(person, "git", "beginner", 8)
    person.press("x", "postback", "DONE:git:git-1")
    person.press("x", "postback", "DONE:git:git-2")
    person.press("x", "postback", "DONE:git:git-1")
    person.press("x", "postback", "DONE:git:git-6")  # never handed out
    assert progress(person)["git"]["done"] == ["git-1", "git-2"]


def test_a_returning_learner_hears_where_they_stand(person):
    start(person, "git", "beginner", 8)
    person.press("x", "postback", "DONE:git:git-1")
    said = "\n".join(person.say("hi"))
    assert f"Good to see you, Ana! You're 1 of {plan_size('git', 'beginner')} into Git and version control" in said
    assert f"Next up: “{title('git', 'git-2')}”" in said
