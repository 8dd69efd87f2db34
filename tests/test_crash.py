"""Exactly once while processes die, the store fails and clocks are wrong, on both stores: the
real server (gunicorn) with faults at every point of a delivery, Telegram redelivering every
update that was not answered 200, each person's messages held against a run with no fault
(tests/crashworld.py states the rule). `make loadtest` does the same under load, killing a worker
every few seconds."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from conftest import require
from crashworld import (
    HANDOFF_CHAT,
    TASKS_TOKEN,
    World,
    clockshift_library,
    problems,
    reference,
    threads_of,
)
from payloads import tg_callback

import app as app_module
from chatbot.delivery import relay
from chatbot.service.parts import open_store
from chatbot.store.base import Change

pytestmark = pytest.mark.slow
# Each point of a delivery once (chatbot/core/faults.py), on updates well into the conversations.
EVERY_POINT = ("before-write", "after-write", "after-send", "after-progress")


def plan(action: str) -> str:
    return ",".join(f"{point}:{action}@{4 + 5 * n}" for n, point in enumerate(EVERY_POINT))


@pytest.fixture
def expected(make_settings, tmp_path, telegram):
    """What everyone receives with no fault at all (an app in this process, on its own SQLite file)."""

    def run(world: World, **more) -> dict:
        settings = make_settings(
            store_url=f"sqlite:///{tmp_path}/reference.db", public_url="https://bot.example.test", **more
        )
        found = reference(telegram, lambda: app_module.create_app(settings), world.people)
        telegram.reset()
        return found

    return run


@pytest.fixture(scope="session")
def clockshift(tmp_path_factory):
    library = clockshift_library(tmp_path_factory.mktemp("clockshift"))
    require(library is not None, "a C compiler (gcc) builds tests/clockshift/clockshift.c, a clock a test can move")
    return library


@pytest.fixture
def world(telegram, store_url, tmp_path, clockshift):
    made = World(telegram, store_url, tmp_path, clockshift=clockshift)
    yield made
    made.stop()


@pytest.mark.parametrize("action", ["kill", "fail"])
def test_a_worker_killed_or_its_store_failing_at_every_point_loses_nothing(world, expected, action):
    wanted = expected(world)
    world.start(faults=plan(action))
    world.talk()
    fired = world.faults()
    assert len(fired) == len(EVERY_POINT), fired  # every point was hit, once
    assert problems(world, wanted, allowed_doubles=len(fired)) == []


@pytest.fixture
def handoff_world(telegram, store_url, tmp_path, clockshift):
    made = World(telegram, store_url, tmp_path, people=0, clockshift=clockshift, handoffs=4)
    yield made
    made.stop()


def test_learners_and_the_owner_talking_through_a_killed_worker_get_every_message_once(handoff_world, expected):
    """Four learners ask for a person and talk with the owner in their topics, the worker killed at
    every point of a delivery and between making a topic and recording it: every message reaches the
    other side once, in order (the one in flight at a kill may arrive twice), never 200 before it did.
    A kill restarts the counts, so each point fires early in a worker's life: within the talk."""
    wanted = expected(handoff_world, handoff_telegram_chat_id=HANDOFF_CHAT)
    points = {"after-topic": 2, "before-write": 4, "after-write": 4, "after-send": 5, "after-progress": 5}
    handoff_world.start(faults=",".join(f"{point}:kill@{nth}" for point, nth in points.items()))
    handoff_world.talk()
    fired = handoff_world.faults()
    assert len(fired) == len(points), fired
    assert problems(handoff_world, wanted, allowed_doubles=len(fired)) == []
    # A kill between making a topic and recording it leaves that topic empty; the learner's talk is in one.
    telegram = handoff_world.telegram
    posted = {(c.body or {}).get("message_thread_id") for c in telegram.calls_for(HANDOFF_CHAT) if c.status == 200}
    for person in handoff_world.people:
        assert len(threads_of(telegram, person.user) & posted) == 1


def test_a_wall_clock_that_jumps_at_every_point_changes_nothing(world, expected):
    """The worker pauses at each point while its wall clock jumps ahead: 90 s, a day, back again."""
    wanted = expected(world)
    world.start(faults=plan("pause"), clock_offset=0.0)
    jumps = iter(["90", "86400", "-3600", "0"])

    def move_the_clock() -> None:
        seen = 0
        while seen < len(EVERY_POINT):
            fired = world.faults()
            if len(fired) > seen:
                seen = len(fired)
                world.clocks[0].write_text(next(jumps))
            time.sleep(0.05)

    mover = threading.Thread(target=move_the_clock, daemon=True)
    world.talk(during=mover.start)
    assert len(world.faults()) == len(EVERY_POINT)
    assert problems(world, wanted, allowed_doubles=0) == []


def test_two_instances_whose_clocks_are_150_s_apart_deliver_everything_once(world, expected):
    """Updates go to either instance, some to both at once (twins); one instance is killed once."""
    wanted = expected(world)
    world.start(clock_offset=0.0)
    world.start(clock_offset=150.0, faults="after-send:kill@6")
    world.talk(twins=True)
    assert problems(world, wanted, allowed_doubles=len(world.faults())) == []


def test_two_instances_whose_clocks_are_150_s_apart_remind_everyone_on_time_and_once(world):
    """Reminders are due by the store's clock: an instance 150 s ahead, fresh (nothing read from the
    store yet), finds none early, and both running the scheduled job at once once they are due remind
    each person once."""
    for n, person in enumerate(world.people):
        person.updates = person.updates[:5] + [tg_callback(person.user, "REMIND:on", update_id=790000 + n)]
    on_time = world.start(clock_offset=0.0)
    world.talk()
    store = open_store(world.store_url)
    due = store.now() + 6.0

    def soon(doc):
        conv, record = relay.read(conv_key, doc)
        assert conv.reminder.get("enabled")
        conv.wake_at(due, conv.wake["payload"])
        return Change(relay.document(conv, record)), None

    for person in world.people:
        conv_key = f"telegram:{person.user}"
        store.transact(conv_key, soon)
    world.telegram.reset()
    ahead = world.start(clock_offset=150.0)  # fresh: its first request is the scheduled job's
    headers = {"Authorization": f"Bearer {TASKS_TOKEN}"}
    early = requests.post(ahead + "/tasks/reminders", json={"budget_seconds": 20}, headers=headers, timeout=30)
    assert early.status_code == 200 and early.json()["sent"] == 0, early.text  # 150 s ahead, yet not due
    time.sleep(max(0.0, due - store.now()) + 1.5)  # by the store's clock (on SQLite, the first process's)
    store.close()
    answers: list = []
    runs = [
        threading.Thread(
            target=lambda base=base: answers.append(
                requests.post(base + "/tasks/reminders", json={"budget_seconds": 20}, headers=headers, timeout=30)
            )
        )
        for base in (ahead, on_time)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert [answer.status_code for answer in answers] == [200, 200]
    assert sum(answer.json()["sent"] for answer in answers) == len(world.people)
    for person in world.people:
        reminders = [c for c in world.telegram.calls_for(str(person.user)) if c.status == 200]
        assert len(reminders) == 1, [c.body for c in reminders]
