"""A learner mid-plan when the catalog is renumbered (issue 36): their stored progress, written with
the first catalog's step ids, moves to the steps that cover the same resources, and they are told.

The conversation below is a document as the first catalog's code stored it (version 2, no
``"catalog"`` in its progress): Ana read the whole Python Tutorial and was handed Automate the
Boring Stuff, a book the new catalog hands out by chapters; in the command line she did The Linux
Command Line (gone from the catalog) and BashGuide, skipped The Art of Command Line and was handed
Missing Semester's Shell Tools; she had dropped SQL after Select Star SQL.
"""

from __future__ import annotations

import copy
import itertools

import pytest
from conftest import ROOT
from transcript import WebUser

from chatbot.delivery import relay
from chatbot.engine import chat, loader
from chatbot.engine.conversation import Conversation
from chatbot.engine.types import Update
from chatbot.store.base import Change
from mentor.actions import ACTIONS, CHECKS
from mentor.upgrade import CATALOG_VERSION, FIRST_CATALOG, covers

SKILLS = loader.load(str(ROOT / "skills.json"), ACTIONS, CHECKS)
DAY = 86400.0
NOW = 1_700_000_000.0
_ids = itertools.count()

STORED = {
    "version": 2,
    "state": None,
    "slots": {"skill": "python", "skill_title": "Python", "shown": "python:py-2", "item": "py-2", "screen": "card"},
    "profile": {"first_name": "Ana", "locale": "en_US"},
    "progress": {
        "python": {
            "level": "beginner",
            "hours": 4,
            "done": ["py-1"],  # The Python Tutorial, whole
            "offered": ["py-1", "py-2"],
            "next": "py-2",  # Automate the Boring Stuff with Python, whole
            "started_at": NOW - 30 * DAY,
            "last_done_at": NOW - 9 * DAY,
        },
        "shell": {
            "level": "intermediate",
            "hours": 2,
            "done": ["sh-3", "sh-4"],  # The Linux Command Line (gone), BashGuide
            "skipped": ["sh-6"],  # The Art of Command Line, "too easy"
            "offered": ["sh-3", "sh-4", "sh-5", "sh-6"],
            "next": "sh-5",  # Missing Semester: Shell Tools
            "started_at": NOW - 20 * DAY,
        },
    },
    "dropped": {
        "sql": {"level": "beginner", "hours": 2, "done": ["sql-2"], "offered": ["sql-2"], "started_at": NOW - 40 * DAY}
    },
    "reminder": {"enabled": True, "skill": "python", "every_days": 7},
    "choices": [
        {"title": "Skip", "payload": "SKIP:python:py-2", "means": []},
        {"title": "Too hard", "payload": "HARD:python:py-2", "means": []},
    ],
    "created_at": NOW - 40 * DAY,
    "updated_at": NOW - 9 * DAY,
    "last_message_at": NOW - 9 * DAY,
}


def stored() -> Conversation:
    return Conversation.from_dict({**copy.deepcopy(STORED), "key": "web:ana"})


def turn(conv: Conversation, **kwargs) -> chat.Turn:
    update = Update(channel="web", user_id=conv.user_id, event_id=str(next(_ids)), **kwargs)
    return chat.handle(update, conv, SKILLS, now=NOW)


def texts(replies) -> list[str]:
    return [r.text for r in replies if r.text]


def titles(skill: str, ids: list[str]) -> list[str]:
    steps = {a["id"]: a for a in SKILLS.skill(skill)["assignments"]}
    return [steps[i]["title"] for i in ids]


def test_the_first_catalogs_links_name_the_resources_that_moved():
    # The rule: the same link, or a page under it (a chapter of the book handed out whole).
    assert covers("https://docs.python.org/3/tutorial/", "https://docs.python.org/3/tutorial/classes.html")
    assert covers("https://automatetheboringstuff.com/", "https://automatetheboringstuff.com/2e/chapter1/")
    assert covers("https://www.example.org/a/", "https://example.org/a")
    assert not covers("https://docs.python.org/3/tutorial/", "https://docs.python.org/3/tutorial-old/x.html")
    assert not covers("https://www.youtube.com/watch?v=aaa", "https://www.youtube.com/watch?v=bbb")
    assert not covers("https://example.org/a", "https://example.com/a")
    assert sum(len(steps) for steps in FIRST_CATALOG.values()) == 60 and len(FIRST_CATALOG) == 10


def test_progress_moves_to_the_steps_covering_what_the_learner_had_and_the_rest_is_dropped():
    conv = stored()
    turn(conv, payload="MY_SKILLS")
    python, shell, sql = conv.progress["python"], conv.progress["shell"], conv.dropped["sql"]
    assert {python["catalog"], shell["catalog"], sql["catalog"]} == {CATALOG_VERSION}
    # The whole tutorial, done: its chapters are done, the beginner ones and those of later levels.
    assert python["done"] == ["py-1", "py-2", "py-3", "py-4", "py-5", "py-6", "py-7", "py-8"]
    # Automate the Boring Stuff was in her hands: the chapter still ahead of her comes next, as the
    # resource she had (the step's alternative); the ones whose step is done are behind her.
    assert python["next"] == "py-9" and python["alt"] == ["py-9"]
    assert titles("python", ["py-9"]) == ["Regular expression HOWTO"]
    assert "py-9" in python["offered"]
    assert (python["level"], python["hours"], python["started_at"]) == ("beginner", 4, NOW - 30 * DAY)
    # BashGuide is still a step; The Linux Command Line is not in the catalog any more.
    assert shell["done"] == ["sh-10"] and titles("shell", ["sh-10"]) == ["BashGuide"]
    assert shell["skipped"] == ["sh-8"]  # The Art of Command Line is sh-8's alternative now
    assert shell["next"] == "sh-7" and set(shell["alt"]) == {"sh-7", "sh-8"}  # Missing Semester, as she had it
    assert sql["done"] == ["sql-5"] and sql["alt"] == ["sql-5"]  # Select Star SQL, kept for "undo"


def test_she_is_told_once_and_her_plans_read_in_the_new_catalogs_terms():
    conv = stored()
    replies = turn(conv, payload="MY_SKILLS").replies
    assert texts(replies)[0] == (
        "The catalog has been updated: steps are shorter now, and each level ends at a milestone. "
        "I've moved your progress over to the new steps."
    )
    cards = {c.title: c.subtitle for r in replies for c in r.cards}
    assert cards == {
        "Python · 100%": "5 of 5 done · Beginner · 4 h/week",
        "The command line · 25%": "1 of 4 done · Intermediate · 2 h/week",
    }
    assert "catalog has been updated" not in " ".join(texts(turn(conv, payload="MY_SKILLS").replies))
    # Her beginner plan is behind her: the next step is the milestone, and the next level offered.
    replies = turn(conv, payload="NEXT:python").replies
    assert texts(replies)[0].startswith("You've reached the Beginner milestone in Python: “You can write")
    assert "Next comes the Intermediate plan: 2 assignments" in texts(replies)[0]
    assert replies[-1].quick_replies[0].payload == "SETLEVEL:python:intermediate"
    replies = turn(conv, payload="SETLEVEL:python:intermediate").replies
    assert "Python is now at Intermediate: 3 of 5 done in the new plan" in texts(replies)[0]
    card = next(c for r in replies for c in r.cards)
    assert card.title == "Automate the Boring Stuff, ch. 7: Pattern Matching with Regular Expressions"


def test_typed_done_in_the_turn_that_upgrades_means_the_card_she_saw():
    conv = stored()
    conv.progress["python"]["level"] = "intermediate"
    replies = turn(conv, text="done").replies
    assert texts(replies)[0].startswith("The catalog has been updated")
    assert texts(replies)[1].startswith("Ticked off “Automate the Boring Stuff, ch. 7")
    assert conv.progress["python"]["done"][-1] == "py-9"


@pytest.mark.parametrize(
    "payload, ticked",
    [
        ("DONE:shell:sh-5", "Missing Semester: shell tools and scripting"),  # old sh-5 reads as sh-7 now
        ("DONE:python:py-2", "Automate the Boring Stuff, ch. 7: Pattern Matching with Regular Expressions"),
    ],
)
def test_a_button_of_an_old_card_pressed_as_the_catalog_changes_ticks_off_the_same_resource(payload, ticked):
    conv = stored()
    conv.progress["python"]["level"] = "intermediate"
    replies = turn(conv, payload=payload).replies
    assert texts(replies)[1].startswith(f"Ticked off “{ticked}”")


def test_a_button_of_an_old_card_whose_resource_is_gone_says_so_and_shows_the_way_on():
    conv = stored()
    conv.progress["python"]["offered"].append("py-3")  # Python for Everybody: not in the new catalog
    conv.progress["python"]["level"] = "intermediate"
    replies = turn(conv, payload="DONE:python:py-3").replies
    assert texts(replies)[:2] == [
        "The catalog has been updated: steps are shorter now, and each level ends at a milestone. "
        "I've moved your progress over to the new steps.",
        "That card is from before the catalog changed, and its resource isn't in it any more. Here's where you are:",
    ]
    assert texts(replies)[2] == "Python: 3 of 5 done (60%). Up next:"  # nothing ticked off
    assert next(c for r in replies for c in r.cards).title.startswith("Automate the Boring Stuff, ch. 7")


def test_a_reminder_upgrades_quietly_and_she_hears_of_it_when_she_writes():
    conv = stored()
    conv.reminder["skill"] = "shell"
    conv.wake_at(NOW - 60, "REMINDER")
    update = Update(channel="web", user_id="ana", event_id="wake", payload="REMINDER", from_bot=True)
    replies = chat.handle(update, conv, SKILLS, now=NOW).replies
    (card,) = [c for r in replies for c in r.cards]
    assert card.title.endswith("Missing Semester: shell tools and scripting")  # what she had, as sh-7
    assert not texts(replies) and conv.progress["shell"]["catalog"] == CATALOG_VERSION
    assert texts(turn(conv, text="next").replies)[0].startswith("The catalog has been updated")


def test_undo_of_a_skill_dropped_before_the_change_brings_it_back_on_the_new_ids():
    conv = stored()
    turn(conv, payload="UNDROP:sql")
    assert conv.progress["sql"]["done"] == ["sql-5"] and conv.progress["sql"]["catalog"] == CATALOG_VERSION


def test_progress_on_this_catalog_is_left_as_it_is():
    conv = Conversation(key="web:new")
    for payload in ("PICK:python", "LEVEL:beginner", "HOURS:python:4", "DONE:python:py-1"):
        turn(conv, payload=payload)
    before = copy.deepcopy(conv.progress)
    assert before["python"]["catalog"] == CATALOG_VERSION
    replies = turn(conv, payload="MY_SKILLS").replies
    assert conv.progress == before and "catalog has been updated" not in " ".join(texts(replies))


def test_a_stored_conversation_of_the_first_catalog_is_upgraded_through_the_store(app, store):
    store.transact("web:ana-stored", lambda _: (Change(copy.deepcopy(STORED)), None))
    ana = WebUser(app.test_client(), "ana-stored", first_name="Ana")
    lines = ana.say("my skills")
    assert lines[0].startswith("text: The catalog has been updated")
    assert "card: Python · 100% | 5 of 5 done · Beginner · 4 h/week [python.png]" in lines
    kept = relay.load_conversation(store, "web:ana-stored")
    assert kept.progress["python"]["catalog"] == CATALOG_VERSION and kept.progress["python"]["next"] == "py-9"
    assert kept.dropped["sql"]["done"] == ["sql-5"]
    lines = ana.say("my skills")  # stored upgraded: said once, never applied twice
    assert not any("catalog has been updated" in line for line in lines)
    assert relay.load_conversation(store, "web:ana-stored").progress == kept.progress
