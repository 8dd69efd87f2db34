"""Every path that applies a pattern to text from outside takes time linear in that text (issue 35).

One Telegram message of 4,096 '@' once cost 15-23 s of CPU in a backtracking pattern. Each path
is fed adversarial messages (runs of each special character, alternations of the words the
patterns look for) of growing size, and its time must not grow faster than linearly: from 250
to 1,000 characters, a linear path takes about 4 times as long, a quadratic one 16. The ratio
is taken on the fastest of several runs (others use the CPU too), and the bound is generous
(MAX_GROWTH) yet well below quadratic. Paths that read only a bounded part of the text stay
flat past it, which the ratio from 1,000 to 4,000 characters shows as well.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time

import pytest
from corpus_scoring import SKILLS

import fb
import tg
import web
from chatbot.delivery import tally
from chatbot.engine import chat, time_words, understand
from chatbot.engine.conversation import Conversation
from chatbot.engine.types import Unreadable, Update
from mentor import plan, reminders

SIZES = (250, 1000, 4000)
MAX_GROWTH = 10.0  # x4 of the text: linear is ~4, quadratic ~16 (a loaded machine's noise in between)
RUNS = 3
NOISE = 20e-6  # under this a call's time is the clock's noise, not a growth
_ids = itertools.count()
UNITS = [
    "@", ".", " ", "a", "1", ":", "é", "🙂", "\\", "a@", "@a.", "1 ", "www.", "ok ", "de la ", "1 hour a day ",
    "i want to learn ", "pyhton ",
]  # fmt: skip
DURATIONS = SKILLS.words("en", "durations")
# The engine runs every pattern of skills.json: the units that are special to them, fewer of the rest.
ENGINE_UNITS = ["@", "a", "a@", "ok ", "de la ", "i want to learn ", "pyhton "]


def _engine(context: list[str]):
    conv = Conversation(key="web:cost")
    for payload in context:
        chat.handle(Update(channel="web", user_id="cost", event_id=payload, payload=payload), conv, SKILLS, now=1e6)
    snapshot = conv.to_dict()

    def run(text: str) -> None:
        fresh = Conversation.from_dict(snapshot)
        chat.handle(Update(channel="web", user_id="cost", event_id=str(next(_ids)), text=text), fresh, SKILLS, now=1e6)

    return run


def _tg(text: str) -> None:
    tg.parse({"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"},
                                          "from": {"id": 1}, "text": text}})  # fmt: skip


def _fb(text: str) -> None:
    fb.parse({"object": "page", "entry": [{"messaging": [{"sender": {"id": "1"}, "timestamp": 1,
                                                          "message": {"mid": "m", "text": text}}]}]})  # fmt: skip


def _web(text: str) -> None:
    with contextlib.suppress(Unreadable):  # a message of spaces is refused, in no time
        web.parse({"text": text[: web.TEXT_MAX], "sent_at": 1})


PATHS = {
    "engine, a fresh chat": _engine([]),
    "engine, the level question": _engine(["PICK:python"]),
    "engine, the hours question": _engine(["PICK:python", "LEVEL:beginner"]),
    "engine, a card on screen": _engine(["PICK:git", "LEVEL:beginner", "HOURS:4", "REMIND:off"]),
    "engine, a suggestion": _engine(["SUGGEST"]),
    "hours parser": lambda text: plan.hours_per_week(text, DURATIONS),
    "time parser": lambda text: reminders.parse_clock(text, DURATIONS),
    "time words tokens": lambda text: time_words.tokens(text),
    "typo correction": lambda text: understand.correct(understand.fold(text), SKILLS.names, SKILLS.known_words()),
    "fillers": lambda text: understand.strip_fillers(understand.fold(text), ["ok", "ya", "si", "please"]),
    "language": lambda text: SKILLS.language(text),
    "skill names": lambda text: SKILLS.skills_named(understand.fold(text)),
    "tally phrasing": tally.phrasing,
    "telegram parse": _tg,
    "messenger parse": _fb,
    "web parse": _web,
}


def fastest(path, text: str) -> float:
    """The fastest of RUNS runs, each repeated to last at least a few milliseconds."""
    repeat, best = 1, float("inf")
    for _ in range(RUNS):
        started = time.perf_counter()
        for _ in range(repeat):
            path(text)
        took = (time.perf_counter() - started) / repeat
        best = min(best, took)
        if took * repeat < 0.003:
            repeat = min(repeat * 4, 128)
    return best


@pytest.mark.parametrize("name", list(PATHS))
def test_time_grows_linearly_with_the_text(name):
    path = PATHS[name]
    worst = []
    for unit in ENGINE_UNITS if name.startswith("engine") else UNITS:
        times = [max(fastest(path, (unit * size)[:size]), NOISE) for size in SIZES]
        worst.append((max(times[1] / times[0], times[2] / times[1]), unit, times))
    growth, unit, times = max(worst)
    assert growth <= MAX_GROWTH, f"{name}: {unit!r} x{SIZES}: {[f'{t * 1e3:.2f} ms' for t in times]}"


def test_patterns_the_skills_check_refuses_are_those_that_could_backtrack():
    from chatbot.engine import linear

    assert linear.check(r"\b(remind me(?! later))\b")  # a lookahead: not linear, refused
    assert linear.check(r"(a)\1")  # a backreference
    assert not linear.check(r"\b(learn|study) (?P<skill>python|sql)\b")
    data = json.loads(json.dumps(SKILLS.data))
    data["intents"]["help"]["triggers"]["patterns"]["en"].append(r"^(?=x)help$")
    errors = [
        e for e in __import__("chatbot.engine.skills_check", fromlist=["validate"]).validate(data, SKILLS.actions)
    ]
    assert any("linear time" in e for e in errors)
