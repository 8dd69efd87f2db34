"""The owner's stats, counted exactly on both stores: a known number of people on each channel, their
messages, what the bot did not understand; days rolled up; no write of their own per message."""

from __future__ import annotations

import json
import sqlite3

import pytest
from payloads import fb_body, fb_text, post_fb
from transcript import MessengerUser, TelegramUser, WebUser

import app as app_module
from chatbot.owner import stats

DAY = 86400.0


@pytest.fixture
def bot(make_settings, store_url, each_store, graph, telegram):
    now = [20_000 * DAY + 10 * 3600]  # 10:00 UTC on a fixed day
    application = app_module.create_app(make_settings(store_url=store_url), store=each_store, clock=lambda: now[0])
    application.now = now
    return application


def people(bot, graph, telegram) -> dict[str, list]:
    client = bot.test_client()
    for n in range(2):
        graph.profiles[f"{n}7701"] = {"first_name": "Ana", "locale": "en_US"}
    return {
        "messenger": [MessengerUser(client, graph, f"{n}7701") for n in range(2)],
        "telegram": [TelegramUser(client, telegram, 880100 + n, first_name="Bo", language_code="en") for n in range(3)],
        "web": [WebUser(client, "stats-web-0")],
    }


def journey(person) -> int:
    """Six messages: start, a skill, level, hours, one step done, and one the bot does not understand."""
    person.start()
    person.press("x", "quick", "PICK:git")
    person.press("x", "quick", "LEVEL:git:beginner")
    person.press("x", "quick", "HOURS:git:4")
    person.press("x", "postback", "DONE:git:git-1")
    person.say("Call me at 555 0199, purple elephants")
    return 6


def stats_json(bot, *args) -> dict:
    result = bot.test_cli_runner().invoke(args=["stats", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_stats_count_people_per_channel_and_their_messages_exactly(bot, graph, telegram):
    everyone = people(bot, graph, telegram)
    sent = sum(journey(person) for group in everyone.values() for person in group)
    numbers = stats_json(bot)
    assert numbers["users"] == {"messenger": 2, "telegram": 3, "web": 1} and numbers["users_total"] == 6
    assert numbers["messages"] == sent == 36
    assert numbers["fallbacks"] == 6 and numbers["skills_started"] == 6 and numbers["assignments_done"] == 6
    assert numbers["new_users"] == 6 and numbers["active"] == {"1": 6, "7": 6, "30": 6}
    assert numbers["funnel"] == {"people": 6, "started_a_skill": 6, "did_an_assignment": 6, "finished_a_skill": 0}
    assert numbers["unmatched"] == [{"text": "call me at # #, purple elephants", "people": 6}]
    assert numbers["messages_per_day"][numbers["period"]["to"]] == 36 and len(numbers["messages_per_day"]) == 30
    text = json.dumps(numbers)
    assert "7701" not in text and "880100" not in text and "555" not in text, "no user id, no number"


def test_redeliveries_and_dropped_events_are_not_counted(bot, graph, telegram):
    client = bot.test_client()
    graph.profiles["27701"] = {"first_name": "Ana"}
    event = fb_text("27701", "hello", mid="m_counted_once")
    for _ in range(3):
        assert post_fb(client, fb_body(event)).status_code == 200
    assert stats_json(bot)["messages"] == 1


def test_days_are_rolled_up_and_the_period_keeps_them(bot, graph, telegram, each_store):
    person = TelegramUser(bot.test_client(), telegram, 880200, first_name="Eva", language_code="en")
    person.start()
    person.say("what is the meaning of life")
    bot.now[0] += DAY
    person.say("hello again")
    store = each_store
    assert stats.collect(store, 7, bot.now[0])["messages"] == 3
    bot.now[0] += 4 * DAY  # the conversation keeps only a few days; the roll-ups keep the rest
    later = stats.collect(store, 7, bot.now[0])
    days = later["messages_per_day"]
    assert later["messages"] == 3 and list(days.values())[-6:-4] == [2, 1]
    assert later["unmatched"] == [{"text": "what is the meaning of life", "people": 1}]
    assert store.load(f"stats:d{int((bot.now[0] - 5 * DAY) // DAY)}")["messages"] == 2
    assert stats.collect(store, 7, bot.now[0])["messages"] == 3, "reading twice changes nothing"


def test_the_stats_cost_no_write_of_their_own(make_settings, tmp_path, telegram):
    """The counters ride in the message's own write: the conversation is written once for the
    message and once for each message sent (recorded as it goes out), nothing more."""
    path = tmp_path / "writes.db"
    application = app_module.create_app(make_settings(store_url=f"sqlite:///{path}"))
    person = TelegramUser(application.test_client(), telegram, 880300, first_name="Al", language_code="en")
    person.start()
    with sqlite3.connect(path) as db:
        db.executescript(
            "CREATE TABLE counted (n INTEGER);"
            "CREATE TRIGGER count_updates AFTER UPDATE ON conversations BEGIN INSERT INTO counted VALUES (1); END;"
        )
    calls = len(telegram.calls)
    person.press("x", "callback", "PICK:git")
    sent = len(telegram.calls) - calls  # the button's answer and the replies
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM counted").fetchone()[0] == 1 + sent
        others = db.execute("SELECT COUNT(*) FROM conversations WHERE key NOT LIKE 'telegram:%'").fetchone()[0]
    assert others == 0, "no counter document of its own"


def test_stats_in_words_and_a_bad_period(bot, graph, telegram):
    journey(people(bot, graph, telegram)["web"][0])
    result = bot.test_cli_runner().invoke(args=["stats", "--days", "7"])
    assert result.exit_code == 0 and "people: 1 (0 on messenger, 0 on telegram, 1 on web)" in result.output
    assert "not understood (1): call me at # #, purple elephants" in result.output
    assert bot.test_cli_runner().invoke(args=["stats", "--days", "0"]).exit_code == 2


def test_the_owner_sees_the_reported_links(bot, graph, telegram):
    person = people(bot, graph, telegram)["telegram"][0]
    journey(person)
    person.press("x", "callback", "BROKEN:git:git-2")
    result = bot.test_cli_runner().invoke(args=["reports"])
    assert result.exit_code == 0 and "git/git-2  https://" in result.output, result.output


def test_a_forgotten_person_leaves_no_phrasing_in_the_rolled_up_days(bot, telegram, each_store):
    store = each_store
    gone = TelegramUser(bot.test_client(), telegram, 880210, first_name="Eva", language_code="en")
    stays = TelegramUser(bot.test_client(), telegram, 880211, first_name="Leo", language_code="en")
    for person, said in ((gone, "purple elephants dancing"), (stays, "orange giraffes singing")):
        person.start()
        person.say(said)
    yesterday = int(bot.now[0] // DAY)
    bot.now[0] += DAY
    assert stats.roll_up(store, bot.now[0]) >= 1  # the scheduled job keeps yesterday as one document
    seen = [row["text"] for row in stats.collect(store, 7, bot.now[0])["unmatched"]]
    assert "purple elephants dancing" in seen and "orange giraffes singing" in seen
    gone.say("delete my data")
    gone.say("yes")
    numbers = stats_json(bot, "--days", "7")
    assert [row["text"] for row in numbers["unmatched"]] == ["orange giraffes singing"]
    assert "purple" not in json.dumps(store.load(f"stats:d{yesterday}"))  # nor kept anywhere else
    assert numbers["messages_per_day"][stats.date_of(yesterday)] == 4, "the counts stay: they name nobody"


def test_a_day_rolled_up_with_phrasings_before_is_cleaned_when_read(bot, telegram, each_store):
    day = int(bot.now[0] // DAY) - 1
    older = {"rollup_day": day, "messages": 3, "unmatched": [{"text": "a forgotten phrase", "people": 1}]}
    each_store.transact(f"stats:d{day}", lambda doc: (stats.Change(older), None))
    assert stats_json(bot, "--days", "7")["unmatched"] == []
    assert "unmatched" not in each_store.load(f"stats:d{day}")


def test_what_the_owner_reads_carries_no_control_or_direction_characters(bot, telegram, each_store, make_settings):
    import unicodedata

    person = TelegramUser(bot.test_client(), telegram, 880220, first_name="Eva", language_code="en")
    person.start()
    person.say("abc\u202edcba\u2066 ok\u0085\u009b31m red\u200b done")
    (row,) = stats_json(bot, "--days", "7")["unmatched"]
    assert not [c for c in row["text"] if unicodedata.category(c) in ("Cc", "Cf")], repr(row["text"])
    assert row["text"] == "abcdcba ok #m red done"
    owner = app_module.create_app(make_settings(admin_token="t" * 24), store=each_store, clock=lambda: bot.now[0])
    page = owner.test_client().get("/admin", headers={"Authorization": "Bearer " + "t" * 24}).get_data(as_text=True)
    assert "abcdcba ok #m red done" in page and "\u202e" not in page and "\u009b" not in page
