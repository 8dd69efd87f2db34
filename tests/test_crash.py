"""Exactly once while processes die, the store fails and clocks are wrong, on both stores: the
real server (gunicorn) with faults at every point of a delivery, Telegram redelivering every
update that was not answered 200, each person's messages held against a run with no fault
(tests/crashworld.py states the rule). `make loadtest` does the same under load, killing a worker
every few seconds."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import require
from crashworld import HANDOFF_CHAT, World, clockshift_library, problems, reference, threads_of

import app as app_module

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
