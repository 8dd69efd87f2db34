"""The engine on its own: flows, stale buttons, free text, languages. Pure: no network, no store."""

from __future__ import annotations

import itertools

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatbot.engine import chat
from chatbot.engine import skills as skills_module
from chatbot.engine.conversation import Conversation
from chatbot.engine.types import Update
from mentor.actions import ACTIONS, CHECKS

SKILLS = skills_module.load(str(ROOT / "skills.json"), ACTIONS, CHECKS)
_ids = itertools.count()


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
    assert beginner.progress["git"]["next"] == "git-1"
    assert advanced.progress["git"]["next"] == "git-5"


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
    assert "page 1 of 3" in texts(replies)


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


@pytest.mark.parametrize("payload, page", [("BROWSE:2", "2 of 3"), ("BROWSE:99", "3 of 3"), ("BROWSE:0", "1 of 3")])
def test_catalog_pages_clamp(payload, page):
    assert page in texts(send(Conversation(key="web:u"), payload=payload))


def test_a_payload_argument_of_the_wrong_shape_gets_the_fallback():
    assert "I didn't quite get that" in texts(send(Conversation(key="web:u"), payload="BROWSE:x"))


def test_finishing_a_plan_congratulates_and_offers_next_steps():
    conv = started("advanced")
    send(conv, payload="DONE:git:git-5")
    replies = send(conv, payload="DONE:git:git-6")
    assert "finished every assignment" in texts(replies)
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


def test_words_in_another_language_we_speak_are_understood():
    english = {"locale": "en_US"}
    assert "page 1 of 3" in texts(send(Conversation(key="web:u", profile=dict(english)), text="catálogo"))
    assert "Hi " in texts(send(Conversation(key="web:u", profile=dict(english)), text="hola"))


def test_someone_whose_language_is_not_known_yet_is_answered_in_the_language_they_wrote():
    assert "página 1 de 3" in texts(send(Conversation(key="messenger:u"), text="catálogo"))
    assert "¡Hola, amigo!" in texts(send(Conversation(key="messenger:u"), text="¡hola!"))
    assert "page 1 of 3" in texts(send(Conversation(key="messenger:u"), text="browse"))
    # English, the default language, wins whenever it matches too.
    assert "Hi there!" in texts(send(Conversation(key="messenger:u"), text="hi"))
