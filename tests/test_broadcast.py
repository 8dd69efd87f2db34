"""Broadcasts: an announcement from skills.json to an audience, exactly once per person even when two
runs overlap or one is cut short and run again, within each channel's rules; on both stores."""

from __future__ import annotations

import threading

import pytest
from transcript import MessengerUser, TelegramUser, WebUser

import app as app_module
from chatbot.delivery import relay
from chatbot.engine.types import Update
from chatbot.outreach import wakes

HOUR = 3600.0


@pytest.fixture
def bot(make_settings, store_url, each_store, graph, telegram):
    now = [1_900_000_000.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    application = app_module.create_app(
        make_settings(store_url=store_url), store=each_store, clock=lambda: now[0], sleep=sleep
    )
    application.now, application.waits = now, waits
    return application


def telegram_people(bot, telegram, count: int, first: int = 770100) -> list[TelegramUser]:
    people = [
        TelegramUser(bot.test_client(), telegram, first + n, first_name="Ana", language_code="en") for n in range(count)
    ]
    for person in people:
        person.start()
    return people


def announcements(telegram, chat_id: int, words: str = "New in the catalog") -> list[str]:
    """The announcements Telegram accepted for this chat (a refused call is not a message)."""
    calls = [c for c in telegram.calls_for(str(chat_id)) if c.status == 200 and c.path.endswith("/sendMessage")]
    return [c.body["text"] for c in calls if words in c.body.get("text", "")]


def run(bot, *args: str):
    result = bot.test_cli_runner().invoke(args=["broadcast", "announce_new_skills", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_dry_run_counts_per_channel_and_says_why_not(bot, graph, telegram):
    telegram_people(bot, telegram, 3)
    graph.profiles["66100"] = graph.profiles["66101"] = {"first_name": "Bo"}
    MessengerUser(bot.test_client(), graph, "66100").start()
    bot.now[0] += 25 * HOUR  # this one's window closes
    MessengerUser(bot.test_client(), graph, "66101").start()
    WebUser(bot.test_client(), "web-bcast").start()
    TelegramUser(bot.test_client(), telegram, 770199, first_name="Eva", language_code="es").say("sin anuncios")
    before = len(telegram.calls)
    output = run(bot, "--dry-run")
    assert "would get it: 4 (1 on messenger, 3 on telegram)" in output
    assert "skipped on messenger: 1 outside Messenger's 24-hour window" in output
    assert "skipped on telegram: 1 said stop announcements" in output
    assert "skipped on web: 1 the web chat only answers" in output
    assert len(telegram.calls) == before and not [m for m in graph.messages() if "catalog" in str(m)], "nothing sent"

    output = run(bot)
    assert "sent: 4 (1 on messenger, 3 on telegram)" in output
    assert [len(announcements(telegram, 770100 + n)) for n in range(3)] == [1, 1, 1]
    assert len([m for m in graph.messages("66101") if "New in the catalog" in str(m)]) == 1
    assert not [m for m in graph.messages("66100") if "New in the catalog" in str(m)]
    assert bot.test_cli_runner().invoke(args=["stats", "--json"]).output.count('"announcements_sent": 4') == 1


def test_two_overlapping_runs_and_a_rerun_send_once_per_person(bot, telegram, each_store):
    people = 12
    telegram_people(bot, telegram, people)
    services = bot.extensions["chatbot"]
    skills, store = services.skills, each_store

    def update_for(channel: str, user_id: str) -> Update:
        return Update(channel=channel, user_id=user_id, event_id="announce:announce_new_skills", from_bot=True,
                      payload="ANNOUNCE:new_skills")  # fmt: skip

    reports = []

    def one_run():
        reports.append(wakes.broadcast(store, services.channels.get, skills, update_for, "telegram", rate=0))

    runs = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in runs:
        thread.start()
    for thread in runs:
        thread.join()
    assert sum(r.sent.get("telegram", 0) for r in reports) == people
    assert [len(announcements(telegram, 770100 + n)) for n in range(people)] == [1] * people
    again = wakes.broadcast(store, services.channels.get, skills, update_for, "telegram", rate=0)
    assert again.sent == {} and again.skipped == {"telegram": {"got it already": people}}


def test_an_interrupted_run_is_finished_by_the_next_one(bot, telegram):
    telegram_people(bot, telegram, 4)
    telegram.queue(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}, match="sendMessage", times=1)
    first = run(bot)
    assert "failed for now: 1" in first and "sent: 3" in first
    second = run(bot)
    assert "sent: 1 (1 on telegram)" in second and "3 got it already" in second, second
    assert [len(announcements(telegram, 770100 + n)) for n in range(4)] == [1, 1, 1, 1]


def test_a_run_that_died_holding_an_announcement_is_finished_by_a_rerun_after_its_lease(bot, telegram, each_store):
    """A run killed while it sent: the person it held is neither counted as done nor sent to twice."""
    from chatbot.store.base import Change

    telegram_people(bot, telegram, 3)
    key = "telegram:770101"
    update = Update(
        channel="telegram",
        user_id="770101",
        event_id="announce:announce_new_skills",
        from_bot=True,
        payload="ANNOUNCE:new_skills",
    )
    tg = bot.extensions["chatbot"].channels.get("telegram")
    relay.deliver(update, tg, each_store, bot.extensions["chatbot"].skills, queue_only=True)  # recorded, queued

    def held_by_a_dead_run(lease_until: float):
        def step(doc):
            conv, record = relay.read(key, doc)
            for entry in record.outbox.values():
                entry.update(claim="a-run-that-died", lease_until=lease_until)
            return Change(relay.document(conv, record)), None

        each_store.transact(key, step)

    held_by_a_dead_run(each_store.now() + relay.LEASE_SECONDS)
    first = run(bot)
    assert "sent: 2" in first and "still pending: 1" in first, first  # before: counted as "got it already"
    assert announcements(telegram, 770101) == []
    held_by_a_dead_run(each_store.now() - 1)  # its lease ran out
    second = run(bot)
    assert "sent: 1 (1 on telegram)" in second and "2 got it already" in second, second
    assert [len(announcements(telegram, 770100 + n)) for n in range(3)] == [1, 1, 1]


def test_telegram_429_is_waited_out_and_403_marks_the_person_gone(bot, telegram, each_store):
    telegram_people(bot, telegram, 3)
    telegram.queue(429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
                         "parameters": {"retry_after": 7}}, match="sendMessage", times=1)  # fmt: skip
    telegram.blocked.add("770102")
    output = run(bot)
    assert 7 in bot.waits, "retry_after honoured"
    assert [len(announcements(telegram, 770100 + n)) for n in range(2)] == [1, 1]
    assert relay.load_conversation(each_store, "telegram:770102").active is False
    assert "sent: 2 (2 on telegram)" in output and "1 refused by the platform (blocked the bot)" in output
    assert "skipped on telegram: 1 blocked the bot, 2 got it already" in run(bot, "--dry-run")


def test_the_pace_stays_under_telegrams_limit(bot, telegram):
    telegram_people(bot, telegram, 30)
    bot.waits.clear()
    started = bot.now[0]
    output = run(bot)
    assert "sent: 30" in output
    assert bot.now[0] - started >= 29 / wakes.ANNOUNCE_RATE - 1e-3, "at most 25 a second"


def test_people_who_asked_for_a_skill_are_told_when_it_is_added(bot, telegram):
    asked = TelegramUser(bot.test_client(), telegram, 770300, first_name="Kim", language_code="en")
    declined = TelegramUser(bot.test_client(), telegram, 770301, first_name="Lu", language_code="en")
    for person in (asked, declined):
        person.start()
        offered = person.say("suggest kotlin for android")
        assert "text: Shall I tell you when it's in the catalog?" in offered
    asked.say("yes please")
    declined.say("no")
    result = bot.test_cli_runner().invoke(
        args=["broadcast", "announce_skill_added", "--skill", "python", "--to", "suggested:Kotlin"]
    )
    assert result.exit_code == 0 and "sent: 1 (1 on telegram)" in result.output, result.output
    told = announcements(telegram, 770300, "Good news")
    assert len(told) == 1 and "Python" in told[0]
    assert announcements(telegram, 770301, "Good news") == []


def test_bad_names_and_audiences_get_one_line(bot):
    runner = bot.test_cli_runner()
    wrong = runner.invoke(args=["broadcast", "welcome_me"])
    assert wrong.exit_code == 2 and "not an announcement" in wrong.output and "announce_new_skills" in wrong.output
    assert runner.invoke(args=["broadcast", "announce_new_skills", "--to", "martians"]).exit_code == 2
    assert "--skill" in runner.invoke(args=["broadcast", "announce_skill_added"]).output


def test_a_web_message_id_cannot_pose_as_an_announcement(bot, each_store):
    client = bot.test_client()
    reply = client.post(
        "/api/chat", json={"user_id": "poser", "text": "hi", "message_id": "announce:announce_new_skills"}
    )
    assert reply.status_code == 200 and reply.get_json()["replies"], "answered as the person's own message"
    doc = each_store.load("web:poser")
    assert doc["delivery"]["announced"] == [] and not any(
        day.get("n") for k, day in doc["delivery"]["tally"].items() if k.startswith("d")
    )
