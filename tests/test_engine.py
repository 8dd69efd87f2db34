"""The engine on its own: flows, stale buttons, free text, languages. Pure: no network, no store."""

from __future__ import annotations

import itertools
import math

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.engine import chat, loader
from chatbot.engine.conversation import Conversation
from chatbot.engine.types import Update
from mentor.actions import ACTIONS, CHECKS

SKILLS = loader.load(str(ROOT / "skills.json"), ACTIONS, CHECKS)
PAGES = math.ceil(len(SKILLS.catalog) / SKILLS.data["bot"]["catalog_page_size"])
_ids = itertools.count()


def steps_of(skill: str, level: str) -> list[str]:
    return [a["id"] for a in SKILLS.skill(skill)["assignments"] if a["level"] == level]


def turn(conv: Conversation, **kwargs) -> chat.Turn:
    update = Update(channel="web", user_id=conv.user_id, event_id=str(next(_ids)), **kwargs)
    return chat.handle(update, conv, SKILLS, now=1_000_000.0)


def send(conv: Conversation, **kwargs) -> list[chat.Reply]:
    return turn(conv, **kwargs).replies


def texts(replies) -> str:
    return " | ".join(r.text for r in replies if r.text)


def choices(replies) -> list[str]:
    return [
        b.payload
        for r in replies
        for b in r.quick_replies + r.buttons + [x for c in r.cards for x in c.buttons]
        if b.payload
    ]


def started(level="beginner", hours="HOURS:4", skill="git") -> Conversation:
    conv = Conversation(key="web:u")
    send(conv, payload=f"PICK:{skill}")
    send(conv, payload=f"LEVEL:{level}")
    send(conv, payload=hours)
    return conv


def test_plan_follows_level():
    beginner, advanced = started("beginner"), started("advanced")
    assert beginner.progress["git"]["next"] == steps_of("git", "beginner")[0] == "git-1"
    assert advanced.progress["git"]["next"] == steps_of("git", "advanced")[0] == "git-10"


def test_a_beginners_plan_is_the_beginner_steps_and_says_where_it_ends_and_how_long_to_it():
    conv = Conversation(key="web:u")
    send(conv, payload="PICK:python")
    send(conv, payload="LEVEL:beginner")
    said = texts(send(conv, payload="HOURS:python:2"))
    beginner = [a for a in SKILLS.skill("python")["assignments"] if a["level"] == "beginner"]
    weeks = max(1, math.floor(sum(a["minutes"] for a in beginner) / 120 + 0.5))
    milestone = SKILLS.skill("python")["milestones"]["beginner"]["en"]
    assert (
        f"Your plan for Python is ready: {len(beginner)} assignments, about {weeks} weeks at 2 h a week, "
        f"to the Beginner milestone: “{milestone}” Here's the first one:"
    ) in said
    assert "advanced" not in said.lower()
    # Progress counts the level's plan: its 5 steps, not the skill's 15.
    assert f"Python: 0 of {len(beginner)} done (0%). Up next:" in texts(send(conv, payload="NEXT:python"))


def test_the_plan_message_in_spanish_says_the_milestone_and_the_time_to_it():
    conv = Conversation(key="web:u", profile={"language": "es"})
    for payload in ("PICK:git", "LEVEL:git:intermediate", "HOURS:git:8"):
        said = texts(send(conv, payload=payload))
    milestone = SKILLS.skill("git")["milestones"]["intermediate"]["es"]
    assert (
        f"Tu plan para Git y control de versiones está listo: 4 tareas, más o menos una semana con 8 h por semana, "
        f"hasta la meta del nivel Intermedio: «{milestone}» Aquí va la primera:"
    ) in said


def test_the_last_step_of_a_level_reaches_its_milestone_and_offers_the_next_level_keeping_what_was_done():
    conv = started("beginner")
    beginner = steps_of("git", "beginner")
    for n, step in enumerate(beginner, start=1):
        replies = send(conv, payload=f"DONE:git:{step}")
        if n < len(beginner):
            assert f"Git and version control, {n} of {len(beginner)} done" in texts(replies)
    milestone = SKILLS.skill("git")["milestones"]["beginner"]["en"]
    intermediate = [a for a in SKILLS.skill("git")["assignments"] if a["level"] == "intermediate"]
    weeks = max(1, math.floor(sum(a["minutes"] for a in intermediate) / 240 + 0.5))
    duration = "about a week" if weeks == 1 else f"about {weeks} weeks"
    assert texts(replies) == (
        f"You've reached the Beginner milestone in Git and version control: “{milestone}” Well done! "
        f"Next comes the Intermediate plan: {len(intermediate)} assignments, {duration} at 4 h a week. Shall we go on?"
    )
    assert choices(replies) == ["SETLEVEL:git:intermediate", "RESTART:git", "BROWSE"]
    assert conv.progress["git"]["finished_at"] == 1_000_000.0
    my_skills = send(conv, payload="MY_SKILLS")  # the skill's card offers the next level too
    assert "Git and version control · 100%" in [c.title for r in my_skills for c in r.cards]
    assert {"SETLEVEL:git:intermediate", "RESTART:git", "DROP:git"} <= set(choices(my_skills))
    replies = send(conv, payload="SETLEVEL:git:intermediate")
    assert f"now at Intermediate: 0 of {len(intermediate)} done in the new plan" in texts(replies)
    assert conv.progress["git"]["done"] == beginner and "finished_at" not in conv.progress["git"]
    assert conv.progress["git"]["next"] == intermediate[0]["id"]


def test_yes_to_the_milestone_goes_on_to_the_next_level():
    conv = started("intermediate")
    for step in steps_of("git", "intermediate"):
        replies = send(conv, payload=f"DONE:git:{step}")
    assert "Intermediate milestone" in texts(replies)
    replies = send(conv, text="yes")
    assert conv.progress["git"]["level"] == "advanced" and conv.progress["git"]["next"] == "git-10"
    assert "now at Advanced: 0 of 4 done" in texts(replies)


@pytest.mark.parametrize(
    "text, ok",
    [
        ("8", True),
        ("about 3 hours", True),
        ("12h", True),
        ("zero", False),
        ("0", False),
        ("100", False),
        ("lots", False),
    ],
)
def test_hours_from_text(text, ok):
    conv = Conversation(key="web:u")
    send(conv, payload="PICK:sql")
    send(conv, payload="LEVEL:beginner")
    replies = send(conv, text=text)
    assert ("sql" in conv.progress) is ok
    if not ok:
        assert conv.state == "choosing_hours" and "HOURS:sql:4" in choices(replies)


def test_unclear_level_asks_again_and_keeps_the_state():
    conv = Conversation(key="web:u")
    send(conv, payload="PICK:sql")
    replies = send(conv, text="purple")
    assert conv.state == "choosing_level" and "LEVEL:beginner" in choices(replies)


def test_typed_button_title_counts_as_pressing_it():
    conv = Conversation(key="web:u")
    send(conv, payload="GET_STARTED")
    replies = send(conv, text="  browse SKILLS ")
    assert f"page 1 of {PAGES}" in texts(replies)


def test_done_twice_is_counted_once():
    conv = started()
    send(conv, payload="DONE:git:git-1")
    replies = send(conv, payload="DONE:git:git-1")
    assert conv.progress["git"]["done"] == ["git-1"]
    assert "already behind you" in texts(replies)


@pytest.mark.parametrize(
    "payload", ["DONE:nope:x", "NEXT:nope", "DROP:nope", "RESTART:nope", "PICK:nope", "DONE:git:nope"]
)
def test_stale_or_unknown_buttons_get_a_way_forward(payload):
    conv = started()
    replies = send(conv, payload=payload)
    assert replies and choices(replies)


def test_next_without_skills_says_so():
    replies = send(Conversation(key="web:u"), text="next")
    assert "haven't started a skill" in texts(replies)


def test_picking_a_started_skill_continues_it():
    conv = started()
    replies = send(conv, payload="PICK:git")
    assert "Up next" in texts(replies) and conv.state is None


@pytest.mark.parametrize("payload, page", [("BROWSE:2", 2), ("BROWSE:99", PAGES), ("BROWSE:0", 1)])
def test_catalog_pages_clamp(payload, page):
    assert f"page {page} of {PAGES}" in texts(send(Conversation(key="web:u"), payload=payload))


def test_a_payload_argument_of_the_wrong_shape_gets_the_fallback():
    assert "I didn't quite get that" in texts(send(Conversation(key="web:u"), payload="BROWSE:x"))


def test_finishing_a_plan_congratulates_and_offers_next_steps():
    conv = started("advanced")
    for step in steps_of("git", "advanced"):
        replies = send(conv, payload=f"DONE:git:{step}")
    milestone = SKILLS.skill("git")["milestones"]["advanced"]["en"]
    assert f"You've reached the last milestone in Git and version control: “{milestone}”" in texts(replies)
    assert {"RESTART:git", "BROWSE", "PICK:shell"} <= set(choices(replies))
    assert conv.progress["git"]["finished_at"] == 1_000_000.0


def test_suggestion_is_captured_even_if_it_looks_like_a_command():
    conv = Conversation(key="web:u")
    send(conv, payload="SUGGEST")
    filed = turn(conv, text="help desk skills").filed  # would match help and skills anywhere else
    assert filed[-1][0] == "suggestions" and filed[-1][1]["text"] == "help desk skills" and conv.state is None


def test_too_short_suggestion_asks_again():
    conv = Conversation(key="web:u")
    send(conv, payload="SUGGEST")
    assert turn(conv, text="x").filed == [] and conv.state == "suggesting"


def test_language_comes_from_platform_then_from_choice():
    conv = Conversation(key="web:u")
    assert "¡Hola" in texts(send(conv, payload="GET_STARTED", locale="es_MX"))
    send(conv, payload="LANG:en")
    assert texts(send(conv, payload="GET_STARTED", locale="es_MX")).startswith("Hi")


def test_unknown_language_asks_which():
    replies = send(Conversation(key="web:u"), payload="LANG:xx")
    assert {"LANG:en", "LANG:es"} <= set(choices(replies))


def test_name_is_text_never_a_template():
    conv = Conversation(key="web:u")
    replies = send(conv, payload="GET_STARTED", first_name="{0.__class__} {first_name}")
    assert texts(replies).startswith("Hi {0.__class__} {first_name}!")


PAYLOADS = [
    "GET_STARTED", "BROWSE", "BROWSE:2", "PICK:git", "PICK:ml", "LEVEL:beginner", "LEVEL:advanced", "LEVEL:zzz",
    "HOURS:3", "HOURS:0", "NEXT", "NEXT:git", "DONE:git:git-1", "DONE:git:git-5", "DONE:ml:ml-1", "MY_SKILLS",
    "DROP:git", "RESTART:git", "SUGGEST", "CANCEL", "LANG:es", "LANG:en", "HELP", "GARBAGE", "~deadbeef", "",
]  # fmt: skip
inputs = st.one_of(
    st.sampled_from(PAYLOADS).map(lambda p: {"payload": p} if p else {"text": "?"}),
    st.text(min_size=1, max_size=40).map(lambda t: {"text": t}),
    st.sampled_from(["start", "help", "skills", "next", "bogus"]).map(lambda c: {"command": c}),
    st.just({"attachment": "image"}),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(inputs, min_size=1, max_size=25))
def test_any_sequence_gets_an_answer_with_a_way_forward(sequence):
    conv = Conversation(key="web:prop")
    for kwargs in sequence:
        replies = send(conv, **kwargs)
        assert replies, kwargs
        assert choices(replies) or any(c.buttons for r in replies for c in r.cards), kwargs
        assert conv.state in (None, *SKILLS.states)
        for entry in conv.progress.values():
            assert len(entry["done"]) == len(set(entry["done"]))


def test_words_in_another_language_we_speak_are_understood_and_answered_in_it():
    # The browser says English; the message says Spanish: the message wins (issue 36).
    english = {"locale": "en_US"}
    assert f"página 1 de {PAGES}" in texts(send(Conversation(key="web:u", profile=dict(english)), text="catálogo"))
    assert "¡Hola" in texts(send(Conversation(key="web:u", profile=dict(english)), text="hola"))
    assert "Hi " in texts(send(Conversation(key="web:u", profile=dict(english)), text="hello"))


def test_a_short_word_both_languages_use_does_not_switch_the_language():
    conv = Conversation(key="web:u", profile={"locale": "en_US"})
    send(conv, text="hola, quiero aprender python")
    for word in ("ok", "si", "no", "python"):
        assert turn(conv, text=word).locale == "es", word
    assert turn(conv, text="thanks, I want to learn git now").locale == "en"
    assert turn(conv, text="ok").locale == "en"


def test_someone_whose_language_is_not_known_yet_is_answered_in_the_language_they_wrote():
    assert f"página 1 de {PAGES}" in texts(send(Conversation(key="messenger:u"), text="catálogo"))
    assert "¡Hola, amigo!" in texts(send(Conversation(key="messenger:u"), text="¡hola!"))
    assert f"page 1 of {PAGES}" in texts(send(Conversation(key="messenger:u"), text="browse"))
    # English, the default language, wins whenever it matches too.
    assert "Hi there!" in texts(send(Conversation(key="messenger:u"), text="hi"))


def test_the_pattern_set_agrees_with_each_pattern_searched_alone():
    """One pass over a message for all of skills.json's patterns (RE2's set) finds exactly the
    patterns that, searched one by one, match it: every typed message of the corpora."""
    from corpus_scoring import SKILLS, read

    from chatbot.engine import understand

    texts = [understand.fold(c.text) for f in sorted((ROOT / "tests" / "corpus").glob("typed*.txt")) for c in read(f)]
    texts += ["", "@" * 5000, "ok " * 400, "quiero aprender python " * 60]
    checked = 0
    for locale, patterns in SKILLS.text_intents.items():
        pattern_set = SKILLS._set_of(locale)
        for text in texts:
            said = pattern_set.matching(text)
            if said is None:
                assert len(text) > pattern_set.SURE_WITHIN  # unsure only of long texts: searched one by one
                continue
            alone = {n for n, (p, _, _) in enumerate(patterns) if not p.needs and p.search(text)}
            assert {n for n in said if not patterns[n][0].needs} == alone, text
            checked += 1
    assert checked > 5000


def test_a_pattern_naming_a_skill_finds_the_same_with_only_the_names_said():
    """A pattern that names {skill} is run with the names the message holds, not all of them: on
    every corpus message, the same match (where, and which skill) as with every name."""
    from corpus_scoring import SKILLS, read

    from chatbot.engine import understand

    texts = [understand.fold(c.text) for f in sorted((ROOT / "tests" / "corpus").glob("typed*.txt")) for c in read(f)]
    compared = 0
    for patterns in SKILLS.text_intents.values():
        for pattern, _, _ in patterns:
            if not pattern.needs:
                continue
            for text in texts:
                present = SKILLS.names_in(text)
                if not all(present.get(entity) for entity in pattern.needs):
                    continue
                full, narrow = pattern.compiled().search(text), pattern.search(text, present)
                assert (full is None) == (narrow is None), (pattern.template, text)
                if full is not None and narrow is not None:
                    assert (full.start(), full.end(), full.groupdict()) == (
                        narrow.start(),
                        narrow.end(),
                        narrow.groupdict(),
                    )
                    compared += 1
    assert compared > 300
