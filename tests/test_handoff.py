"""A person behind the bot: a learner handed to the owner's Telegram forum and back, on each channel,
against the fake platforms on loopback. The flows that change state both ways run on both stores."""

from __future__ import annotations

import json
import threading

import pytest
from payloads import (
    FB_APP_ID,
    PAGE_ID,
    fb_body,
    fb_postback,
    fb_text,
    post_fb,
    post_tg,
    signed_request,
    tg_callback,
    tg_in_topic,
    tg_message,
)

import app as app_module
from chatbot.delivery import relay
from chatbot.outreach import wakes
from chatbot.owner import alerts
from chatbot.store.base import Change

START = 1_795_000_000.0  # a Wednesday, 11:06 UTC
HOUR = 3600.0


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now, self.lock = now, threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


class Inbox:
    """The app with the owner's forum as its handoff inbox, and what each side sees."""

    def __init__(self, app, telegram, graph, clock: Clock, store) -> None:
        self.app, self.client, self.telegram, self.graph = app, app.test_client(), telegram, graph
        self.clock, self.store, self.chat = clock, store, telegram.forum.chat_id

    def learner(self, user: int, text: str, **who) -> int:
        return post_tg(self.client, tg_message(user, text, first_name=who.get("first_name", "Ana"))).status_code

    def owner(self, thread: int, text: str, update_id: int | None = None) -> int:
        return post_tg(self.client, tg_in_topic(self.chat, thread, text, update_id=update_id)).status_code

    def topics(self) -> list[int]:
        return sorted(self.telegram.forum.topics)

    def topic(self) -> int:
        made = self.topics()
        assert len(made) == 1, made
        return made[0]

    def in_topic(self, thread: int) -> list[str]:
        return self.telegram.forum.texts(thread, list(self.telegram.calls))

    def to_learner(self, user: int) -> list[str]:
        """What the learner received (Telegram took it: a refused send is not a message)."""
        calls = self.telegram.calls_for(str(user))
        return [c.body["text"] for c in calls if c.path.endswith("/sendMessage") and c.status == 200]

    def handoff(self, key: str) -> dict:
        return relay.read(key, self.store.load(key))[1].handoff


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def make_inbox(make_settings, telegram, graph, clock, store):
    """An app whose handoff inbox is the fake Telegram's forum (SQLite), with more settings if given."""

    def build(**settings) -> Inbox:
        settings = {
            "handoff_telegram_chat_id": telegram.forum.chat_id,
            "tasks_token": "tasks-token-123",
            "log_level": "INFO",  # every log line made, as in production
        } | settings
        graph.clock = clock
        made = app_module.create_app(make_settings(**settings), store=store, clock=clock)
        return Inbox(made, telegram, graph, clock, store)

    return build


@pytest.fixture
def inbox(make_inbox):
    return make_inbox()


@pytest.fixture
def both(make_settings, store_url, each_store, telegram, graph, clock):
    """The same, on each store (SQLite, the Firestore emulator)."""
    graph.clock = clock
    settings = make_settings(store_url=store_url, handoff_telegram_chat_id=telegram.forum.chat_id, log_level="INFO")
    return Inbox(app_module.create_app(settings, store=each_store, clock=clock), telegram, graph, clock, each_store)


# ---------------------------------------------------------------- the whole way, both ways


def test_a_telegram_learner_and_the_owner_talk_through_a_topic_until_the_owner_is_done(both):
    user = 8101
    assert both.learner(user, "/start") == 200
    assert both.learner(user, "can I talk to a real person?") == 200
    assert "passing you to a person" in both.to_learner(user)[-1]
    thread = both.topic()
    assert both.telegram.forum.topics[thread]["name"] == "Ana · Telegram · 8101"
    intro = both.in_topic(thread)[0]
    assert intro.startswith("Ana on Telegram asks for a person: “can I talk to a real person?”")
    assert "Ana: /start" in intro and "/done ends it" in intro

    quiet = len(both.to_learner(user))
    assert both.learner(user, "my git exercise fails") == 200
    assert both.in_topic(thread)[-1] == "my git exercise fails"
    assert len(both.to_learner(user)) == quiet  # the bot stays out of the way

    both.clock.advance(600)
    assert both.owner(thread, "Hi Ana, which command fails?") == 200
    assert both.to_learner(user)[-1] == "Hi Ana, which command fails?"
    assert both.handoff(f"telegram:{user}")["answered_at"] == START + 600

    assert both.owner(thread, "/done") == 200
    assert "it's me again" in both.to_learner(user)[-1]
    assert both.telegram.forum.topics[thread]["closed"]
    assert both.in_topic(thread)[-1] == "Done: Ana is back with the bot."
    assert both.owner(thread, "one more thing") == 200  # in the closed topic: not passed on, and said so
    assert both.to_learner(user)[-1] != "one more thing"
    assert both.in_topic(thread)[-1] == "Ana is back with the bot: this was not passed on."
    assert both.learner(user, "/help") == 200
    assert both.to_learner(user)[-1].startswith("Here's how I work")


def test_every_message_goes_once_each_way_through_failed_sends_and_redeliveries(both):
    user, telegram = 8102, both.telegram
    both.learner(user, "/start")
    telegram.queue(500, {"ok": False, "error_code": 500, "description": "Internal"}, match="createForumTopic")
    asking = tg_message(user, "I want to talk to someone", first_name="Ana")
    assert post_tg(both.client, asking).status_code == 503  # the topic could not be made yet
    assert both.topics() == []
    assert post_tg(both.client, asking).status_code == 200  # Telegram redelivers: the topic, its first message
    thread = both.topic()
    assert sum("passing you to a person" in text for text in both.to_learner(user)) == 1

    telegram.queue(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}, match="sendMessage")
    said = tg_message(user, "hello? anyone?", first_name="Ana")
    assert post_tg(both.client, said).status_code == 503
    assert post_tg(both.client, said).status_code == 200
    assert post_tg(both.client, said).status_code == 200  # a redelivery after the 200: nothing again
    assert both.in_topic(thread).count("hello? anyone?") == 1

    telegram.queue(500, {"ok": False, "error_code": 500, "description": "Internal"}, match="sendMessage")
    answer = tg_in_topic(both.chat, thread, "Here I am")
    assert post_tg(both.client, answer).status_code == 503
    assert post_tg(both.client, answer).status_code == 200
    assert post_tg(both.client, answer).status_code == 200
    assert both.to_learner(user).count("Here I am") == 1


# ---------------------------------------------------------------- Messenger's window


def test_a_messenger_learner_whose_first_message_asks_for_a_person_is_named_in_the_topic(inbox):
    """Messenger gives no name with a message: asked of the Graph API before the topic is made."""
    psid = "fb-8202"
    inbox.graph.profiles[psid] = {"first_name": "Marta", "locale": "es_ES"}
    assert post_fb(inbox.client, fb_body(fb_text(psid, "I want to talk to a human"))).status_code == 200
    thread = inbox.topic()
    assert inbox.telegram.forum.topics[thread]["name"].startswith("Marta · Messenger")
    first = inbox.in_topic(thread)[0]
    assert first.startswith("Marta on Messenger asks for a person") and "The learner" not in first


def test_a_persons_answer_on_messenger_is_a_reply_then_tagged_human_agent_then_not_allowed(both):
    psid, graph = "fb-8201", both.graph
    assert post_fb(both.client, fb_body(fb_text(psid, "I want to talk to a human"))).status_code == 200
    graph.inbound[psid] = both.clock()
    thread = both.topic()

    def answered(text: str) -> dict | None:
        return next((b for b in graph.messages(psid, accepted=True) if b["message"].get("text") == text), None)

    both.owner(thread, "Within the day")
    assert answered("Within the day") == {
        "recipient": {"id": psid},
        "messaging_type": "RESPONSE",
        "message": {"text": "Within the day"},
    }
    both.clock.advance(30 * HOUR)
    both.owner(thread, "A day and more later")
    tagged = answered("A day and more later")
    assert tagged is not None and tagged["messaging_type"] == "MESSAGE_TAG" and tagged["tag"] == "HUMAN_AGENT"
    both.clock.advance(7 * 24 * HOUR)
    assert both.owner(thread, "Too late") == 200
    assert answered("Too late") is None and not [b for b in graph.messages(psid) if "Too late" in json.dumps(b)]
    assert "Messenger no longer lets anyone answer" in both.in_topic(thread)[-1]
    assert all(
        "tag" not in body for body in graph.messages(psid) if body["message"].get("text") != "A day and more later"
    )


def test_the_fake_graph_refuses_a_tagged_message_after_7_days_and_an_untagged_one_after_24_hours(inbox):
    """The fake holds the bot to Meta's rules, as Meta does: what the test above relies on."""
    graph, psid = inbox.graph, "fb-8202"
    graph.inbound[psid] = inbox.clock() - 2 * 24 * HOUR
    page = inbox.app.extensions["chatbot"].channels.get("messenger")
    plain = {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": "x"}}
    tagged = plain | {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    with pytest.raises(Exception, match="outside of allowed window"):
        page.send(plain)
    page.send(tagged)
    graph.inbound[psid] = inbox.clock() - 8 * 24 * HOUR
    with pytest.raises(Exception, match="outside of allowed window"):
        page.send(tagged)


# ---------------------------------------------------------------- the web chat


def test_a_web_learner_reads_the_persons_answer_in_the_history_the_page_asks_for(inbox):
    client = inbox.client
    client.post("/api/chat", json={"user_id": "w-1", "payload": "GET_STARTED", "first_name": "Wen"})
    asked = client.post("/api/chat", json={"user_id": "w-1", "text": "can I talk to a person?"}).get_json()
    assert "passing you to a person" in asked["replies"][0]["text"]
    thread = inbox.topic()
    quiet = client.post("/api/chat", json={"user_id": "w-1", "text": "is anyone there?"}).get_json()
    assert quiet == {"replies": []}  # nothing from the bot, and nothing sent to the owner comes back here
    assert inbox.in_topic(thread)[-1] == "is anyone there?"
    inbox.owner(thread, "Yes, hello Wen")
    doc = inbox.store.load("web:w-1")
    last = relay.read("web:w-1", doc)[1].transcript[-1]
    assert last == {"from": "bot", "reply": last["reply"], "by": "owner"} and last["reply"]["text"] == "Yes, hello Wen"


# ---------------------------------------------------------------- asking, and nobody there


def test_the_fallback_offers_a_person_after_two_misses_and_the_button_hands_over(inbox):
    user = 8103
    inbox.learner(user, "/start")
    inbox.learner(user, "blorp zzgrx")
    inbox.learner(user, "qwxv plonk")
    keyboard = inbox.telegram.sent("sendMessage", user)[-1][1]["reply_markup"]["inline_keyboard"]
    assert {"text": "Talk to a person", "callback_data": "HUMAN"} in [key for row in keyboard for key in row]
    assert post_tg(inbox.client, tg_callback(user, "HUMAN")).status_code == 200
    assert inbox.topic()


def test_without_anyone_to_answer_the_learner_is_told_so_and_nothing_is_opened(make_settings, telegram, store, clock):
    client = app_module.create_app(make_settings(), store=store, clock=clock).test_client()
    post_tg(client, tg_message(8104, "/start"))
    post_tg(client, tg_message(8104, "blorp zzgrx"))
    post_tg(client, tg_message(8104, "qwxv plonk"))
    keyboard = telegram.sent("sendMessage", 8104)[-1][1]["reply_markup"]["inline_keyboard"]
    assert "HUMAN" not in [key.get("callback_data") for row in keyboard for key in row]
    post_tg(client, tg_message(8104, "/human"))
    assert telegram.sent("sendMessage", 8104)[-1][1]["text"].startswith("I'm a bot, and for now there's no person")
    assert not telegram.forum.topics and relay.read("telegram:8104", store.load("telegram:8104"))[1].handoff == {}


def test_outside_office_hours_the_learner_is_told_when_a_person_is_back(make_inbox):
    inbox = make_inbox(handoff_hours="mon,thu 09:00-17:00 +01:00")  # it is Wednesday
    inbox.learner(8105, "/human")
    assert inbox.to_learner(8105)[-1].endswith(
        "It's outside their hours now, so expect an answer tomorrow from 8:00 UTC."
    )
    inbox.clock.advance(21 * HOUR)  # Thursday, 09:06 there
    inbox.learner(8106, "/human")
    assert "outside their hours" not in inbox.to_learner(8106)[-1]


def test_back_to_the_bot_typed_during_a_handoff_ends_it_and_progress_is_untouched(inbox):
    user = 8106
    for step in ("/start", "/skills"):
        inbox.learner(user, step)
    for data in ("PICK:git", "LEVEL:git:beginner", "HOURS:git:4"):
        post_tg(inbox.client, tg_callback(user, data))
    before = relay.load_conversation(inbox.store, f"telegram:{user}")
    inbox.learner(user, "/human")
    thread = inbox.topic()
    inbox.learner(user, "git push says rejected")
    assert inbox.learner(user, "back to the bot please") == 200
    assert inbox.to_learner(user)[-1].startswith("I'm back. Your progress is just as you left it")
    assert inbox.in_topic(thread)[-1] == "Ana went back to the bot." and inbox.telegram.forum.topics[thread]["closed"]
    after = relay.load_conversation(inbox.store, f"telegram:{user}")
    assert after is not None and before is not None and after.progress == before.progress
    assert "Learning Git and version control: step 1 of 5, “" in inbox.in_topic(thread)[0]

    inbox.learner(user, "/human")  # the next time, the same topic again
    assert inbox.topics() == [thread] and not inbox.telegram.forum.topics[thread]["closed"]


# ---------------------------------------------------------------- only a learner's own topic


def test_nothing_from_another_chat_or_outside_a_learners_topic_reaches_a_learner(inbox):
    user = 8107
    inbox.learner(user, "/human")
    thread = inbox.topic()
    heard = len(inbox.to_learner(user))
    elsewhere = tg_in_topic("-1009999999999", thread, "from another group")
    general = tg_message(4242, "in the General topic")
    general["message"]["chat"] = {"id": int(inbox.chat), "type": "supergroup", "title": "Mentor inbox"}
    for update in (elsewhere, general, tg_in_topic(inbox.chat, 4, "a topic of nobody")):
        assert post_tg(inbox.client, update).status_code == 200
    assert len(inbox.to_learner(user)) == heard
    assert inbox.store.load("telegram:-1001234567890/4242") is None  # the inbox is nobody's conversation


def test_an_owner_writing_as_an_anonymous_admin_reaches_the_learner_and_other_bots_do_not(inbox):
    user = 8111
    inbox.learner(user, "/human")
    thread = inbox.topic()
    # An anonymous admin writes as the group: Telegram's stand-in bot in "from", the group in "sender_chat".
    anonymous = tg_in_topic(inbox.chat, thread, "I'm here, what's up?", user_id=1087968824)
    anonymous["message"]["from"] |= {"is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
    anonymous["message"]["sender_chat"] = {"id": int(inbox.chat), "title": "Mentor inbox", "type": "supergroup"}
    assert post_tg(inbox.client, anonymous).status_code == 200
    assert inbox.to_learner(user)[-1] == "I'm here, what's up?"
    other_bot = tg_in_topic(inbox.chat, thread, "spam from another bot", user_id=5550001)
    other_bot["message"]["from"]["is_bot"] = True
    assert post_tg(inbox.client, other_bot).status_code == 200
    assert "spam from another bot" not in inbox.to_learner(user)


def test_a_name_with_a_right_to_left_override_reaches_the_owner_without_it(inbox):
    user = 8112
    assert inbox.learner(user, "/human", first_name="Eve\u202egnp.exe") == 200
    thread = inbox.topic()
    name = inbox.telegram.forum.topics[thread]["name"]
    assert name.startswith("Evegnp.exe · Telegram") and "\u202e" not in "".join(inbox.in_topic(thread))


def test_a_learner_who_blocked_the_bot_is_reported_in_the_topic_once(inbox):
    user = 8108
    inbox.learner(user, "/human")
    thread = inbox.topic()
    inbox.telegram.blocked.add(str(user))
    assert inbox.owner(thread, "Are you still there?") == 200  # Telegram refuses it: 403, blocked
    assert (
        inbox.in_topic(thread)[-1]
        == "Ana has blocked the bot or left Telegram: nothing reaches them. /done closes this."
    )
    assert inbox.owner(thread, "Hello?") == 200  # known now: not even tried, and said again for this one
    assert sum("has blocked the bot" in text for text in inbox.in_topic(thread)) == 2
    assert [c for c in inbox.telegram.calls_for(str(user)) if (c.body or {}).get("text") == "Hello?"] == []
    # They unblock the bot and write: reachable again, the owner's answers reach them.
    inbox.telegram.blocked.discard(str(user))
    assert inbox.learner(user, "sorry, I was away") == 200
    assert inbox.owner(thread, "Welcome back!") == 200
    assert inbox.to_learner(user)[-1] == "Welcome back!"


def test_a_topic_the_owner_deleted_by_hand_is_made_again_with_what_the_learner_wrote(inbox):
    user = 8109
    inbox.learner(user, "/human")
    first = inbox.topic()
    del inbox.telegram.forum.topics[first]  # the owner deletes the topic in Telegram
    assert inbox.learner(user, "are you there?") == 200  # refused by Telegram: kept for a new topic
    assert inbox.handoff(f"telegram:{user}")["waiting"] == ["are you there?"]
    assert relay.load_conversation(inbox.store, f"telegram:{user}").active  # not taken for the learner gone
    assert inbox.learner(user, "hello?") == 200  # the next message makes the topic again
    again = inbox.topic()
    assert again != first and inbox.in_topic(again)[-2:] == ["are you there?", "hello?"]


def test_a_bot_removed_from_the_owners_group_loses_no_learner_message_and_the_owner_is_told(inbox):
    user = 8110
    inbox.learner(user, "/human")
    thread = inbox.topic()
    inbox.telegram.forum.kicked = True
    assert inbox.learner(user, "my exercise fails") == 200
    assert relay.load_conversation(inbox.store, f"telegram:{user}").active  # the learner is not gone
    for n in range(3):  # no topic can be made: each waits for one, and Telegram is not asked to send them again
        assert inbox.learner(user, f"hello {n}?") == 200
    report = inbox.client.post("/tasks/reminders", json={}, headers={"Authorization": "Bearer tasks-token-123"})
    assert report.status_code == 200
    problems = {p["name"]: p for p in alerts.state(inbox.store)["open"]}  # on the dashboard; told when it can be
    assert "kicked" in problems["handoff inbox"]["detail"]
    inbox.telegram.forum.kicked = False  # the owner adds the bot back
    report = inbox.client.post("/tasks/reminders", json={}, headers={"Authorization": "Bearer tasks-token-123"})
    assert report.status_code == 200  # the scheduled job opens the topic again and posts what waited
    assert inbox.topics() == [thread]  # the topic is still there: used again, without its first message again
    assert inbox.in_topic(thread)[-4:] == ["my exercise fails", "hello 0?", "hello 1?", "hello 2?"]
    assert sum(text.startswith("Ana on Telegram asks for a person") for text in inbox.in_topic(thread)) == 1


# ---------------------------------------------------------------- reminders wait


def test_a_reminder_due_during_a_handoff_is_held_until_the_learner_is_back(inbox):
    user, key = 8109, "telegram:8109"
    inbox.learner(user, "/start")
    inbox.learner(user, "/human")

    def due(doc):
        conv, record = relay.read(key, doc)
        conv.wake_at(inbox.clock() - 60, "REMINDER")
        return Change(relay.document(conv, record)), None

    inbox.store.transact(key, due)
    heard = len(inbox.to_learner(user))
    services = inbox.app.extensions["chatbot"]
    report = wakes.run_due(inbox.store, services.channels.get, services.skills, clock=inbox.clock)
    assert report.due == 1 and len(inbox.to_learner(user)) == heard
    assert relay.load_conversation(inbox.store, key).held == "REMINDER"


# ---------------------------------------------------------------- the owner's other ways


def test_the_dashboard_lists_open_handoffs_answers_and_ends_them_once_per_form(make_inbox):
    inbox = make_inbox(admin_token="admin-token-for-tests")
    client, user = inbox.client, 8110
    inbox.learner(user, "/human")
    thread = inbox.topic()
    bearer = {"Authorization": "Bearer admin-token-for-tests"}
    page = client.get("/admin", headers=bearer).get_data(as_text=True)
    assert 'data-key="telegram:8110"' in page and "waiting for a first answer" in page
    form = {"key": "telegram:8110", "nonce": "n-1", "text": "From the dashboard, hi", "do": "answer"}
    said = [client.post("/admin/handoffs", data=form, headers=bearer).headers["Location"] for _ in range(2)]
    assert "said=sent" in said[0] and "said=again" in said[1]  # the same form sent twice: once, and said so
    assert inbox.to_learner(user).count("From the dashboard, hi") == 1
    assert inbox.in_topic(thread)[-1] == "Answered from the dashboard: From the dashboard, hi"
    nobody = {"key": "telegram:999", "nonce": "n-2", "text": "hi", "do": "answer"}
    assert "said=closed" in client.post("/admin/handoffs", data=nobody, headers=bearer).headers["Location"]
    assert inbox.store.load("telegram:999") is None
    client.post("/admin/handoffs", data={"key": "telegram:8110", "nonce": "n-3", "do": "end"}, headers=bearer)
    assert "it's me again" in inbox.to_learner(user)[-1]
    assert inbox.in_topic(thread)[-1] == "Done: Ana is back with the bot (ended from the dashboard)."
    assert "Nobody is waiting for a person" in client.get("/admin", headers=bearer).get_data(as_text=True)


def test_a_dashboard_answer_messenger_no_longer_allows_says_so(make_inbox):
    inbox = make_inbox(admin_token="admin-token-for-tests")
    psid, bearer = "fb-8203", {"Authorization": "Bearer admin-token-for-tests"}
    assert post_fb(inbox.client, fb_body(fb_text(psid, "I want to talk to a human"))).status_code == 200
    inbox.graph.inbound[psid] = inbox.clock()
    inbox.clock.advance(8 * 24 * HOUR)  # past the 7 days Meta allows a person's answer
    form = {"key": f"messenger:{psid}", "nonce": "late", "text": "Sorry for the wait!", "do": "answer"}
    where = inbox.client.post("/admin/handoffs", data=form, headers=bearer).headers["Location"]
    assert "said=unreachable" in where
    page = inbox.client.get("/admin?said=unreachable", headers=bearer).get_data(as_text=True)
    assert "Not sent: their platform no longer lets anyone write to them" in page
    assert not [b for b in inbox.graph.messages(psid) if "Sorry for the wait" in json.dumps(b)]


def test_a_handoff_nobody_wrote_in_ends_after_the_idle_hours(make_inbox):
    inbox = make_inbox(handoff_idle_hours="2")
    inbox.learner(8111, "/human")
    thread = inbox.topic()
    tasks = {"Authorization": "Bearer tasks-token-123"}
    inbox.clock.advance(HOUR)
    inbox.client.post("/tasks/reminders", headers=tasks)
    assert inbox.handoff("telegram:8111")["open"]
    inbox.clock.advance(1.5 * HOUR)
    for _ in range(2):
        assert inbox.client.post("/tasks/reminders", headers=tasks).status_code == 200
    assert not inbox.handoff("telegram:8111")["open"]
    assert [t for t in inbox.to_learner(8111) if "it's me again" in t] == [inbox.to_learner(8111)[-1]]
    assert inbox.in_topic(thread)[-1] == "Done: Ana is back with the bot (nobody wrote for 2 hours)."


def test_stats_count_handoffs_and_the_time_to_a_persons_first_answer(inbox):
    inbox.learner(8112, "/human")
    inbox.clock.advance(300)
    inbox.owner(inbox.topic(), "hello")
    inbox.owner(inbox.topic(), "/done")
    runner = inbox.app.test_cli_runner()
    numbers = json.loads(runner.invoke(args=["stats", "--json", "--days", "1"]).output)
    assert numbers["handoffs_opened"] == 1 and numbers["handoffs_closed"] == 1 and numbers["handoffs_open"] == 0
    assert numbers["handoffs_answered"] == 1 and numbers["handoff_first_answer_seconds"] == 300


# ---------------------------------------------------------------- privacy


def test_forget_me_during_a_handoff_tells_and_closes_the_topic_and_keeps_nothing_of_it(inbox):
    user = 8113
    inbox.learner(user, "/human")
    thread = inbox.topic()
    inbox.learner(user, "/forget")
    assert post_tg(inbox.client, tg_callback(user, "FORGET_YES")).status_code == 200
    assert inbox.in_topic(thread)[-1].startswith("This learner asked to be forgotten")
    assert inbox.telegram.forum.topics[thread]["closed"]
    doc = inbox.store.load(f"telegram:{user}")
    assert doc.get("forgotten_at") and "handoff" not in json.dumps(doc.get("delivery", {})).replace('"handoff": {}', "")


def test_metas_deletion_request_closes_the_messenger_learners_topic(inbox, graph):
    psid = "8114001"  # page-scoped ids are digits
    post_fb(inbox.client, fb_body(fb_text(psid, "talk to a human")))
    thread = inbox.topic()
    graph.page_ids_of["8114"] = [psid]  # the app-scoped id Meta names, and the page's id for that person
    now = int(inbox.clock())
    form = {"signed_request": signed_request({"algorithm": "HMAC-SHA256", "issued_at": now, "user_id": "8114"})}
    assert inbox.client.post("/webhook/messenger/data-deletion", data=form).status_code == 200
    assert inbox.telegram.forum.topics[thread]["closed"]
    assert inbox.in_topic(thread)[-1].startswith("This learner asked to be forgotten")
    assert inbox.store.load(f"messenger:{psid}").get("forgotten_at")


def test_the_privacy_page_says_a_person_reads_the_conversation_when_asked_for(inbox):
    page = inbox.client.get("/privacy?lang=en").get_data(as_text=True)
    assert "When you ask to talk to a person, a person reads the conversation" in page
    spanish = inbox.client.get("/privacy?lang=es").get_data(as_text=True)
    assert "una persona lee la conversación" in spanish


# ---------------------------------------------------------------- Messenger's Page Inbox


def test_on_messenger_the_page_inbox_takes_the_conversation_and_gives_it_back(make_inbox):
    inbox = make_inbox(handoff_messenger="inbox", handoff_telegram_chat_id="", admin_token="admin-token-for-tests")
    graph, psid = inbox.graph, "fb-8115"
    post_fb(inbox.client, fb_body(fb_text(psid, "I want to talk to a human")))
    bodies = [c for c in graph.calls if c.method == "POST"]
    said = next(n for n, c in enumerate(bodies) if c.path.endswith("/me/messages"))
    passed = next(n for n, c in enumerate(bodies) if c.path.endswith("/me/pass_thread_control"))
    assert said < passed and bodies[passed].body["target_app_id"] == "263902037430900"
    assert graph.thread_owner[psid] == "263902037430900" and inbox.handoff(f"messenger:{psid}")["mode"] == "inbox"
    assert not inbox.telegram.forum.topics

    returned = {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": 1732450999000}
    returned["pass_thread_control"] = {"previous_owner_app_id": "263902037430900", "new_owner_app_id": FB_APP_ID}
    for _ in range(2):  # Meta may deliver it twice
        assert post_fb(inbox.client, fb_body(returned)).status_code == 200
    ended = [b for b in graph.messages(psid) if "it's me again" in b["message"].get("text", "")]
    assert len(ended) == 1 and not inbox.handoff(f"messenger:{psid}")["open"]

    taken = {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": 1732451999000}
    taken["take_thread_control"] = {"previous_owner_app_id": FB_APP_ID, "new_owner_app_id": "263902037430900"}
    post_fb(inbox.client, fb_body(taken))  # a page admin answered from the Page Inbox: it is a handoff again
    assert inbox.handoff(f"messenger:{psid}")["open"]
    bearer = {"Authorization": "Bearer admin-token-for-tests"}
    inbox.client.post("/admin/handoffs", data={"key": f"messenger:{psid}", "nonce": "n", "do": "end"}, headers=bearer)
    assert graph.handovers[-1] == ("take_thread_control", psid) and graph.thread_owner[psid] == FB_APP_ID
    assert "it's me again" in graph.messages(psid)[-1]["message"]["text"]


# ---------------------------------------------------------------- the owner's setup


def test_doctor_checks_the_inbox_is_a_forum_where_the_bot_manages_topics(inbox):
    forum, runner = inbox.telegram.forum, inbox.app.test_cli_runner()

    def line() -> str:
        output = runner.invoke(args=["doctor"]).output
        return next(row for row in output.splitlines() if "handoff inbox" in row)

    assert line().startswith("OK") and "topics on, the bot an admin that manages them" in line()
    forum.member = {"status": "administrator", "can_manage_topics": False}
    assert line().startswith("FAIL") and "may not manage topics" in line()
    forum.member = {"status": "member"}
    assert "is not an admin" in line()
    forum.is_forum = False
    assert "has no topics: turn Topics on" in line()


def test_setup_telegram_explains_how_to_make_the_inbox_when_there_is_none(make_settings, store):
    app = app_module.create_app(make_settings(), store=store)
    output = app.test_cli_runner().invoke(args=["setup", "telegram"]).output
    assert "In the group's settings turn Topics on" in output and "HANDOFF_TELEGRAM_CHAT_ID" in output


def test_office_hours_that_do_not_read_fail_doctor_with_the_fix(make_inbox):
    inbox = make_inbox(handoff_hours="weekdays 9 to 5")
    output = inbox.app.test_cli_runner().invoke(args=["doctor"]).output
    assert "FAIL  handoff hours: HANDOFF_HOURS='weekdays 9 to 5': write days, hours and an offset" in output


def test_a_messenger_postback_during_a_handoff_reaches_the_bot(inbox):
    psid = "fb-8116"
    post_fb(inbox.client, fb_body(fb_text(psid, "talk to a human please")))
    post_fb(inbox.client, fb_body(fb_postback(psid, "Back to the bot", "BOT")))
    assert not inbox.handoff(f"messenger:{psid}")["open"]


def test_an_announcement_skips_someone_talking_with_a_person(inbox):
    inbox.learner(8117, "/start")
    inbox.learner(8118, "/start")
    inbox.learner(8118, "/human")
    result = inbox.app.test_cli_runner().invoke(args=["broadcast", "announce_new_skills", "--to", "telegram"])
    assert "sent: 1 (1 on telegram)" in result.output and "1 talking with a person" in result.output


def test_the_owners_forget_command_closes_the_learners_topic(inbox):
    inbox.learner(8119, "/human")
    thread = inbox.topic()
    result = inbox.app.test_cli_runner().invoke(args=["forget", "telegram", "8119"])
    assert "the conversation with a person" in result.output
    assert inbox.telegram.forum.topics[thread]["closed"]
    assert inbox.owner(thread, "still there?") == 200  # the topic leads nowhere now
    assert inbox.to_learner(8119)[-1] != "still there?"


WEDNESDAY = START - START % 86400  # 00:00 UTC on the day of START


def at(days: int, clock: str) -> float:
    """``days`` after that Wednesday, at ``clock`` UTC."""
    hour, minute = map(int, clock.split(":"))
    return WEDNESDAY + days * 86400 + hour * HOUR + minute * 60


@pytest.mark.parametrize(
    "said, now, around, back",
    [
        ("mon-fri 09:00-17:00 +01:00", (0, "11:06"), True, (0, "11:06")),
        ("mon-fri 09:00-17:00 +01:00", (0, "16:30"), False, (1, "08:00")),  # 17:30 there: tomorrow
        ("mon-fri 9-17 +1", (2, "16:30"), False, (5, "08:00")),  # Friday evening: Monday
        ("sat,sun 10:00-12:30 UTC", (0, "11:06"), False, (3, "10:00")),
        ("daily 00:00-24:00 -05:00", (4, "03:00"), True, (4, "03:00")),
        ("fri-mon 20-22 +2", (4, "21:00"), False, (5, "18:00")),  # a range across the week's end
    ],
)
def test_office_hours_read_as_people_write_them(said, now, around, back):
    from chatbot.delivery import hours

    office = hours.parse(said)
    assert office.around(at(*now)) is around
    assert office.next_start(at(*now)) == at(*back)


@pytest.mark.parametrize("said", ["weekdays 9 to 5", "mon-fri 17-9", "mon-fri 9-17 +15", "someday 9-17", "9-17"])
def test_office_hours_that_do_not_read_say_why(said):
    from chatbot.delivery import hours

    with pytest.raises(ValueError, match="HANDOFF_HOURS"):
        hours.parse(said)
