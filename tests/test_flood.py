"""The flood limit: a person typing never meets it; a script gets one "slow down" and then its
messages are acknowledged and dropped without a write, on every channel and both stores."""

from __future__ import annotations

import pytest
from transcript import MessengerUser, TelegramUser, WebUser

import app as app_module
from chatbot.core.settings import Settings
from chatbot.delivery import flood

SLOW_DOWN = "text: You're writing faster than I can keep up. Give me a minute, then carry on."


def test_the_buckets_let_a_person_through_and_stop_a_script():
    limit, state, now = flood.Limit(per_minute=20, per_day=500), {}, 1000.0
    verdicts = [flood.take(state, limit, now + n * 0.1)[0] for n in range(25)]
    assert verdicts == [flood.OK] * 20 + [flood.WARN] + [flood.DROP] * 4
    assert flood.take(state, limit, now + 59.0)[0] == flood.DROP, "quiet until the minute bucket is full again"
    assert flood.take(state, limit, now + 62.5)[0] == flood.OK
    # Someone typing one message every 4 seconds all day long never hears about it.
    calm, verdicts = {}, []
    for n in range(450):
        verdicts.append(flood.take(calm, limit, now + n * 4.0)[0])
    assert set(verdicts) == {flood.OK}


def test_the_defaults_are_twenty_a_minute_and_five_hundred_a_day():
    settings = Settings.from_env({})
    assert (settings.flood_per_minute, settings.flood_per_day) == (20, 500) == (flood.Limit().per_minute, 500)


def test_the_day_bucket_says_tomorrow():
    limit, state = flood.Limit(per_minute=1000, per_day=30), {}
    verdicts = [flood.take(state, limit, 5000.0 + n * 10)[0] for n in range(32)]
    assert verdicts[:30] == [flood.OK] * 30 and verdicts[30] == flood.WARN and state["over"] == "day"
    assert state["quiet_until"] > 5000.0 + 31 * 10 + 20 * 3600


@pytest.fixture(params=["messenger", "telegram", "web"])
def flooder(request, make_settings, store_url, each_store, graph, telegram):
    now = [1_800_000_000.0]
    application = app_module.create_app(
        make_settings(store_url=store_url, flood_per_minute="5", flood_per_day="500"),
        store=each_store,
        clock=lambda: now[0],
    )
    client = application.test_client()
    if request.param == "messenger":
        graph.profiles["psid-flood"] = {"first_name": "Bo", "locale": "en_US"}
        person, key = MessengerUser(client, graph, "psid-flood"), "messenger:psid-flood"
    elif request.param == "telegram":
        person, key = TelegramUser(client, telegram, 990011, first_name="Bo", language_code="en"), "telegram:990011"
    else:
        person, key = WebUser(client, "web-flood"), "web:web-flood"
    person.now, person.key, person.store = now, key, each_store
    return person


def test_a_flood_gets_one_slow_down_and_no_writes(flooder):
    answered = [flooder.say(f"hello {n}") for n in range(5)]
    assert all(answered), "under the limit every message is answered"
    flooder.now[0] += 1
    assert flooder.say("hello 5") == [SLOW_DOWN]
    before = flooder.store.load(flooder.key)
    for n in range(20):
        assert flooder.say(f"more {n}") == []
    assert set(flooder.statuses) == {200}, "dropped messages are acknowledged: the platform must not resend them"
    assert flooder.store.load(flooder.key) == before, "dropped without a write"

    flooder.now[0] += 61  # the bucket is full again
    assert flooder.say("hi") != []
    flood_state = flooder.store.load(flooder.key)["delivery"]["flood"]
    assert flood_state["dropped"] == 20, "the count rides along with the next accepted message"


def test_spanish_speakers_are_asked_in_spanish(make_settings, telegram):
    application = app_module.create_app(make_settings(flood_per_minute="2"))
    person = TelegramUser(application.test_client(), telegram, 990012, first_name="Eva", language_code="es")
    person.say("hola")
    person.say("hola")
    assert person.say("hola") == ["text: Escribes más rápido de lo que puedo leer. Dame un minuto y sigue."]
