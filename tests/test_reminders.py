"""Reminders: the schedule, the authenticated task route, platform rules, and exactly-once at scale."""

from __future__ import annotations

import datetime
import threading
import time
from pathlib import Path

import pytest
from fakes import FakeGoogleCerts
from payloads import fb_body, fb_text, post_fb, post_tg, tg_message, tg_too_many

import app as app_module
from chatbot.delivery import relay
from chatbot.outreach import wakes
from chatbot.store.base import Change
from mentor import reminders

DAY = 86400.0
START = 1_795_000_000.0  # a fixed "now" for the injected clock
TASKS_TOKEN = "tasks-token-for-tests-123"
AUDIENCE = "https://bot.example.test/tasks/reminders"
INVOKER = "mentor-bot-scheduler@demo-mentor.iam.gserviceaccount.com"


def first_step(skill: str) -> dict:
    """The first step of a beginner's plan of ``skill``, as the catalog has it."""
    import json

    catalog = json.loads((Path(__file__).resolve().parent.parent / "skills.json").read_text(encoding="utf-8"))
    return next(a for s in catalog["catalog"] if s["id"] == skill for a in s["assignments"] if a["level"] == "beginner")


class Clock:
    """The time the app sees; ``sleep`` moves it forward instead of waiting."""

    def __init__(self, now: float = START) -> None:
        self.now = now
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def make_app(make_settings, clock, store):
    def build(**overrides):
        settings = {"tasks_token": TASKS_TOKEN} | overrides
        return app_module.create_app(make_settings(**settings), store=store, clock=clock, sleep=clock.sleep)

    return build


def run(client, budget: float = 600, headers: dict | None = None):
    headers = headers if headers is not None else {"Authorization": f"Bearer {TASKS_TOKEN}"}
    return client.post("/tasks/reminders", json={"budget_seconds": budget}, headers=headers)


# ---------------------------------------------------------------- schedule


@pytest.mark.parametrize("hours, minutes, days", [(4, 240, 7), (4, 60, 2), (12, 60, 1), (1, 900, 7), (8, 120, 2)])
def test_cadence_follows_hours_per_week(hours, minutes, days):
    assert reminders.cadence_days(hours, minutes) == days


def test_next_due_at_a_sensible_local_hour():
    now = datetime.datetime(2026, 11, 24, 9, 30, tzinfo=datetime.UTC).timestamp()
    due = reminders.next_due(now, 2, tz_offset_hours=-5, last_active_at=0)
    local = datetime.datetime.fromtimestamp(due, tz=datetime.timezone(datetime.timedelta(hours=-5)))
    assert (local.day, local.hour, local.minute) == (26, reminders.LOCAL_HOUR, 0)


def test_next_due_near_the_hour_last_active_without_a_time_zone():
    now = datetime.datetime(2026, 11, 24, 9, 30, tzinfo=datetime.UTC).timestamp()
    last = datetime.datetime(2026, 11, 23, 21, 15, tzinfo=datetime.UTC).timestamp()
    due = datetime.datetime.fromtimestamp(reminders.next_due(now, 3, None, last), tz=datetime.UTC)
    assert (due.day, due.hour, due.minute) == (27, 21, 15)


# ---------------------------------------------------------------- who may run the task


@pytest.fixture(scope="module")
def signing_key():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    def make():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
        now = datetime.datetime.now(datetime.UTC)
        day = datetime.timedelta(days=1)
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - day).not_valid_after(now + day)
            .sign(key, hashes.SHA256())
        )  # fmt: skip
        pem_key = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return pem_key.decode(), cert.public_bytes(serialization.Encoding.PEM).decode()

    (good_key, good_cert), (other_key, _) = make(), make()
    certs = FakeGoogleCerts({"kid-1": good_cert})
    yield {"good": good_key, "other": other_key, "certs": certs}
    certs.close()


def oidc(private_pem: str, **claims) -> str:
    from google.auth import crypt, jwt

    now = int(time.time())
    payload = {"iss": "https://accounts.google.com", "aud": AUDIENCE, "email": INVOKER, "email_verified": True,
               "sub": "1234", "iat": now, "exp": now + 3600} | claims  # fmt: skip
    return jwt.encode(crypt.RSASigner.from_string(private_pem, "kid-1"), payload).decode()


@pytest.mark.parametrize(
    "case, status",
    [
        ("valid", 200),
        ("wrong-audience", 403),
        ("wrong-account", 403),
        ("expired", 403),
        ("other-key", 403),
        ("wrong-issuer", 403),
        ("no-header", 401),
        ("garbage", 403),
    ],
)
def test_scheduler_oidc_token(make_app, signing_key, case, status):
    app = make_app(
        tasks_token=None, tasks_audience=AUDIENCE, tasks_invoker=INVOKER, tasks_certs_url=signing_key["certs"].url
    )
    tokens = {
        "valid": oidc(signing_key["good"]),
        "wrong-audience": oidc(signing_key["good"], aud="https://elsewhere.example/tasks/reminders"),
        "wrong-account": oidc(signing_key["good"], email="someone@evil.example"),
        "expired": oidc(signing_key["good"], iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
        "other-key": oidc(signing_key["other"]),
        "wrong-issuer": oidc(signing_key["good"], iss="https://evil.example"),
        "garbage": "not.a.jwt",
    }
    headers = {} if case == "no-header" else {"Authorization": f"Bearer {tokens[case]}"}
    response = run(app.test_client(), headers=headers)
    assert response.status_code == status
    if status == 200:
        assert set(response.get_json()) >= {"due", "sent", "skipped", "failed"}


def test_certs_are_fetched_once_not_per_token(make_app, signing_key):
    signing_key["certs"].reset()
    app = make_app(
        tasks_token=None, tasks_audience=AUDIENCE, tasks_invoker=INVOKER, tasks_certs_url=signing_key["certs"].url
    )
    client = app.test_client()
    for token in ("not.a.jwt", oidc(signing_key["other"]), oidc(signing_key["good"]), oidc(signing_key["good"])):
        run(client, headers={"Authorization": f"Bearer {token}"})
    assert len(signing_key["certs"].calls) == 1


def test_local_bearer_token(make_app):
    client = make_app().test_client()
    assert run(client).status_code == 200
    assert run(client, headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert run(client, headers={}).status_code == 401


def test_tasks_are_off_without_any_credential(make_app):
    assert run(make_app(tasks_token=None).test_client()).status_code == 404


# ---------------------------------------------------------------- in the conversation and on the platforms


def start_plan(send) -> None:
    send("/start")
    for step in ("PICK:git", "LEVEL:beginner", "HOURS:8", "REMIND:on"):
        send(step)


def telegram_sender(client, user_id: int):
    from payloads import tg_callback

    def send(what: str):
        body = tg_message(user_id, what) if what.startswith("/") else tg_callback(user_id, what)
        assert post_tg(client, body).status_code == 200

    return send


def test_telegram_reminder_goes_out_once_then_reschedules(make_app, clock, telegram, store):
    app = make_app()
    client = app.test_client()
    start_plan(telegram_sender(client, 8801))
    conversation = relay.load_conversation(store, "telegram:8801")
    assert conversation.reminder["enabled"] and conversation.wake["at"] > clock()
    telegram.reset()
    assert run(client).get_json()["due"] == 0  # not yet
    clock.advance(conversation.wake["at"] - clock() + 1)
    report = run(client).get_json()
    assert report["sent"] == 1 and report["due"] == 1
    sent = telegram.sent(None, 8801)
    first = first_step("git")
    assert len(sent) == 1 and sent[0][0] == "sendPhoto" and f"Next up: {first['title']}" in sent[0][1]["caption"]
    keys = [
        k["callback_data"] for row in sent[0][1]["reply_markup"]["inline_keyboard"] for k in row if "callback_data" in k
    ]
    assert keys == [f"DONE:git:{first['id']}", "SNOOZE:1"]
    assert run(client).get_json()["due"] == 0  # rescheduled, not sent twice
    after = relay.load_conversation(store, "telegram:8801")
    assert after.wake["at"] > clock() and after.reminder["last_sent_at"] == pytest.approx(clock())


def test_stop_in_any_language_and_slash_stop(make_app, clock, telegram, store):
    app = make_app()
    client = app.test_client()
    send = telegram_sender(client, 8802)
    start_plan(send)
    send("/stop")
    assert not relay.load_conversation(store, "telegram:8802").reminder["enabled"]
    clock.advance(30 * DAY)
    assert run(client).get_json()["due"] == 0
    web = client.post("/api/chat", json={"user_id": "w1", "text": "para los recordatorios", "locale": "es"}).get_json()[
        "replies"
    ]
    assert web[0]["text"].startswith("Recordatorios desactivados")


def test_blocked_user_is_marked_inactive_and_never_reminded_again(make_app, clock, telegram, store):
    app = make_app()
    client = app.test_client()
    start_plan(telegram_sender(client, 8803))
    telegram.blocked.add("8803")
    clock.advance(8 * DAY)
    report = run(client).get_json()
    assert report["due"] == 1 and report["sent"] == 0
    assert relay.load_conversation(store, "telegram:8803").active is False
    clock.advance(30 * DAY)
    assert run(client).get_json()["due"] == 0


def test_messenger_outside_24_hours_waits_for_the_user(make_app, clock, graph, store):
    app = make_app()
    client = app.test_client()
    graph.profiles["psid-rem"] = {"first_name": "Ana"}
    for text in ("hi",):
        post_fb(client, fb_body(fb_text("psid-rem", text)))
    from payloads import fb_quick_reply

    for payload in ("PICK:sql", "LEVEL:beginner", "HOURS:8", "REMIND:on"):
        assert post_fb(client, fb_body(fb_quick_reply("psid-rem", payload, payload))).status_code == 200
    graph.reset()
    clock.advance(3 * DAY)  # more than a day since their last message
    report = run(client).get_json()
    assert report["due"] == 1 and report["sent"] == 0 and report["skipped"] == 1
    assert graph.messages() == []  # nothing outside the window, and no message tag
    assert relay.load_conversation(store, "messenger:psid-rem").held == "REMINDER"
    assert run(client).get_json()["due"] == 0  # it waits; no run retries it
    post_fb(client, fb_body(fb_text("psid-rem", "hi")))
    texts = [m["message"].get("text", "") for m in graph.messages("psid-rem")]
    assert texts[0].startswith("Hi Ana!") and "Welcome back! Here's the reminder I held for you:" in texts
    elements = [
        e
        for m in graph.messages("psid-rem")
        for e in m["message"].get("attachment", {}).get("payload", {}).get("elements", [])
    ]
    assert elements[-1]["title"] == f"Next up: {first_step('sql')['title']}"
    conv = relay.load_conversation(store, "messenger:psid-rem")
    assert not conv.held and conv.wake["at"] > clock()


def test_snooze_moves_the_reminder_a_day(make_app, clock, telegram, store):
    app = make_app()
    client = app.test_client()
    send = telegram_sender(client, 8804)
    start_plan(send)
    send("SNOOZE:1")
    due = relay.load_conversation(store, "telegram:8804").wake["at"]
    assert due == pytest.approx(clock() + DAY)


# ---------------------------------------------------------------- exactly once, at scale


def seed(store, now: float, telegram_users: int, messenger_users: int) -> dict:
    """Conversations with a due reminder; a quarter of the Messenger users are outside the window."""
    groups = {"telegram": [], "messenger_in": [], "messenger_out": []}

    def make(key: str, last_message_at: float):
        def step(doc):
            conv, record = relay.read(key, doc)
            conv.progress["git"] = {"level": "beginner", "hours": 4, "done": [], "started_at": now - 9 * DAY}
            conv.reminder = {"enabled": True, "skill": "git", "every_days": 2}
            conv.wake_at(now - 60, "REMINDER")
            conv.last_message_at = last_message_at
            conv.profile["looked_up"] = True
            return Change(relay.document(conv, record)), None

        store.transact(key, step)

    for n in range(telegram_users):
        key = f"telegram:{600000 + n}"
        make(key, now - 3600)
        groups["telegram"].append(key)
    for n in range(messenger_users):
        outside = n % 4 == 0
        key = f"messenger:psid-bulk-{n}"
        make(key, now - (3 * DAY if outside else 3600))
        groups["messenger_out" if outside else "messenger_in"].append(key)
    return groups


@pytest.mark.slow
def test_a_thousand_reminders_three_concurrent_runs_exactly_once(make_app, store_url, clock, telegram, graph, store):
    app = make_app(store_url=store_url)
    store = store
    groups = seed(store, clock(), telegram_users=500, messenger_users=500)
    blocked = {key.split(":")[1] for key in groups["telegram"][:20]}
    telegram.blocked.update(blocked)
    body = tg_too_many(1)
    telegram.queue(429, body, match="sendPhoto", times=15)

    reports, started = [], time.perf_counter()

    def one_run():
        reports.append(run(app.test_client()).get_json())

    threads = [threading.Thread(target=one_run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    # Whatever the first runs could not finish (a long 429 would leave some) the next run picks up.
    reports.append(run(app.test_client()).get_json())

    # Exactly once: every reachable Telegram user had one card accepted. Requests Telegram refused
    # (the 429s, answered by waiting and sending again) are not deliveries.
    accepted: dict[str, int] = {}
    for call in telegram.calls:
        if call.path.endswith("/sendPhoto") and call.status == 200:
            chat = str(call.body["chat_id"])
            accepted[chat] = accepted.get(chat, 0) + 1
    assert sum(1 for c in telegram.calls if c.status == 429) == 15
    for key in groups["telegram"]:
        chat = key.split(":")[1]
        if chat in blocked:
            assert relay.load_conversation(store, key).active is False and chat not in accepted
        else:
            assert accepted.get(chat) == 1, key
    for key in groups["messenger_in"]:
        assert len(graph.messages(key.split(":")[1])) == 1, key
    for key in groups["messenger_out"]:
        assert graph.messages(key.split(":")[1]) == []
        assert relay.load_conversation(store, key).held == "REMINDER"
    total = {k: sum(r[k] for r in reports) for k in ("due", "sent", "skipped", "failed")}
    assert total["due"] == 1000 + total["failed"]
    assert total["sent"] == len(groups["telegram"]) - len(blocked) + len(groups["messenger_in"])
    assert store.due(clock(), 10) == []
    clock.advance(wakes.LEASE_SECONDS + 60)  # leases over: nothing may come back due (blocked users included)
    assert store.due(clock(), 10) == []
    rate = (total["sent"] + total["skipped"]) / elapsed
    out = Path(__file__).resolve().parent.parent / "test-artifacts"
    out.mkdir(exist_ok=True)
    backend = store_url.split(":")[0]
    (out / f"reminders-{backend}.txt").write_text(f"{total} in {elapsed:.2f}s with 3 runs: {rate:.0f} reminders/s\n")


def test_a_refused_task_token_is_never_written_to_the_log(make_app, signing_key):
    import logging

    app = make_app(
        tasks_token=None, tasks_audience=AUDIENCE, tasks_invoker=INVOKER, tasks_certs_url=signing_key["certs"].url
    )
    records: list = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("chatbot").addHandler(handler)
    rotated_out = "tasks-token-rotated-out-0123456789"
    for token in (rotated_out, "a.b.c", "my own words in the log"):
        assert run(app.test_client(), headers={"Authorization": f"Bearer {token}"}).status_code == 403
    logging.getLogger("chatbot").removeHandler(handler)
    logged = " ".join(f"{r.getMessage()} {vars(r)}" for r in records)
    assert rotated_out not in logged and "my own words" not in logged
    reasons = {r.reason for r in records if r.getMessage() == "task token refused"}
    assert reasons and all(reason.isidentifier() for reason in reasons)  # an exception's class name, nothing more


def test_oidc_without_the_invoker_is_refused_as_misconfigured(make_app, signing_key):
    app = make_app(tasks_token=None, tasks_audience=AUDIENCE, tasks_certs_url=signing_key["certs"].url)
    # A valid token from any Google account for this audience: without TASKS_INVOKER it proves nothing.
    stranger = oidc(signing_key["good"], email="anyone@some-project.iam.gserviceaccount.com")
    assert run(app.test_client(), headers={"Authorization": f"Bearer {stranger}"}).status_code == 503


# ---------------------------------------------------------------- Messenger's window, the hour, the time zone

QUARTER = 900.0


class MessengerLearner:
    """A person on Messenger, as the fake Graph API sees them: it refuses a send more than 24 hours
    after their last message (code 10, subcode 2018278), as Meta does."""

    def __init__(self, client, graph, clock, psid: str, profile: dict | None = None):
        self.client, self.graph, self.clock, self.psid = client, graph, clock, psid
        graph.profiles[psid] = profile or {"first_name": "Ana"}
        graph.clock = clock

    def tap(self, payload: str) -> None:
        from payloads import fb_quick_reply

        self.graph.inbound[self.psid] = self.clock()
        assert post_fb(self.client, fb_body(fb_quick_reply(self.psid, payload, payload))).status_code == 200

    def say(self, text: str) -> None:
        self.graph.inbound[self.psid] = self.clock()
        assert post_fb(self.client, fb_body(fb_text(self.psid, text))).status_code == 200

    def reminders(self) -> list:
        return [c for c in self.graph.calls_for(self.psid) if c.status == 200 and "Next up" in json_text(c.body)]

    def refused(self) -> list:
        return [c for c in self.graph.calls_for(self.psid) if c.status == 400]


def json_text(body) -> str:
    import json

    return json.dumps(body or {}, ensure_ascii=False)


def run_for(client, clock, seconds: float, every: float = QUARTER, on_run=None) -> None:
    """The scheduler every quarter hour for ``seconds`` of the injected clock."""
    end = clock() + seconds
    while clock() < end:
        clock.advance(every)
        assert run(client).status_code == 200
        if on_run:
            on_run()


def test_a_silent_messenger_learner_gets_one_nudge_inside_the_window(make_app, clock, graph, store):
    app = make_app()
    client = app.test_client()
    ana = MessengerLearner(client, graph, clock, "psid-quiet")
    ana.say("hi")
    for payload in ("PICK:git", "LEVEL:beginner", "HOURS:2", "REMIND:on"):  # a slow pace: a reminder every few days
        ana.tap(payload)
    last_message = clock()
    run_for(client, clock, 10 * DAY)  # past the next reminder's due time too (a slow pace: a week)
    assert len(ana.reminders()) == 1 and ana.refused() == []
    conversation = relay.load_conversation(store, "messenger:psid-quiet")
    assert conversation.held == "REMINDER"  # nothing more until they write
    # Sent inside the window, with room to spare: by an hour before it closed.
    assert last_message < conversation.reminder["last_sent_at"] <= last_message + DAY - 3600
    ana.say("hi")
    said = [json_text(c.body) for c in graph.calls_for("psid-quiet")][-3:]
    assert any("Welcome back" in text for text in said) and any("Next up" in text for text in said)


def test_a_messenger_learner_who_answers_keeps_getting_reminders_and_none_is_refused(make_app, clock, graph):
    app = make_app()
    client = app.test_client()
    bo = MessengerLearner(client, graph, clock, "psid-keen")
    bo.say("hi")
    for payload in ("PICK:sql", "LEVEL:beginner", "HOURS:2", "REMIND:on"):
        bo.tap(payload)
    answered: set = set()

    def answer_within_an_hour():
        for call in bo.reminders():
            if id(call) not in answered:
                answered.add(id(call))
                bo.tap("SNOOZE:1")  # "Tomorrow, please": an answer that reopens the window

    run_for(client, clock, 7 * DAY, on_run=answer_within_an_hour)
    assert len(bo.reminders()) >= 5 and bo.refused() == []  # about one a day, each inside the window


def test_turning_reminders_on_explains_the_window_on_messenger_only(make_app, clock, graph, telegram):
    app = make_app()
    client = app.test_client()
    cy = MessengerLearner(client, graph, clock, "psid-how", profile={"first_name": "Cy", "timezone": -5})
    for payload in ("PICK:git", "LEVEL:beginner", "HOURS:8", "REMIND:on"):
        cy.tap(payload)
    texts = [json_text(c.body) for c in graph.calls_for("psid-how")]
    assert sum("One thing about Messenger" in t for t in texts) == 1
    assert not any("what time is it where you are" in t for t in texts)  # the profile gave the time zone
    send = telegram_sender(client, 8810)
    start_plan(send)
    assert not any("One thing about Messenger" in p.get("text", "") for _, p in telegram.sent("sendMessage", 8810))


def test_the_time_zone_from_a_typed_time_and_the_chosen_hour(make_app, clock, telegram, store):
    from payloads import tg_message as message

    app = make_app()
    client = app.test_client()
    start_plan(telegram_sender(client, 8811))  # asked what time it is, since Telegram does not say
    asked = [p["text"] for _, p in telegram.sent("sendMessage", 8811)]
    assert any("what time is it where you are" in t for t in asked)
    utc = datetime.datetime.fromtimestamp(clock(), tz=datetime.UTC)
    local = utc + datetime.timedelta(hours=5, minutes=30)  # a learner in India
    assert post_tg(client, message(8811, local.strftime("%H:%M"))).status_code == 200
    conversation = relay.load_conversation(store, "telegram:8811")
    assert conversation.profile["timezone"] == 5.5
    telegram_sender(client, 8811)("REMIND_AT:8")
    conversation = relay.load_conversation(store, "telegram:8811")
    assert reminders.local_hour(conversation.wake["at"], 5.5) == 8.0


def test_the_browser_says_its_time_zone(make_app, clock):
    client = make_app().test_client()
    body = {"payload": "GET_STARTED", "utc_offset_minutes": -180}
    assert client.post("/api/chat", json=body).status_code == 200
    for payload in ("PICK:git", "LEVEL:beginner", "HOURS:8", "REMIND:on"):
        replies = client.post("/api/chat", json={"payload": payload, "utc_offset_minutes": -180}).get_json()["replies"]
    assert "at 19:00 your time" in replies[0]["text"]


@pytest.mark.parametrize(
    "want_hours, until_hours, tz, expected_hours",
    [
        (48, 24, None, 23),  # cannot wait two days: an hour before the window closes
        (10, 24, None, 10),  # inside the window: as wanted
        (48, 24 + 3, 0, 21),  # the window closes at 03:00 local: the evening before, not the night
        (48, 24 + 23, 0, 45),  # closes at 23:00 on day two: 22:00 would be late; 21:00 that evening
        (48, 0.5, None, 48),  # too late to fit: as wanted, and the channel holds it
    ],
)
def test_fit_window(want_hours, until_hours, tz, expected_hours):
    now = datetime.datetime(2026, 12, 1, 0, 0, tzinfo=datetime.UTC).timestamp()
    at = reminders.fit_window(now + want_hours * 3600, now, now + until_hours * 3600, tz)
    assert (at - now) / 3600 == expected_hours


@pytest.mark.parametrize(
    "said, clock",
    [("18:30", (18, 30)), ("6:30 pm", (18, 30)), ("6pm", (18, 0)), ("7 a.m.", (7, 0)), ("son las 9.15", (9, 15)),
     ("nope", None)],
)  # fmt: skip
def test_parse_clock(said, clock):
    assert reminders.parse_clock(said) == clock


def test_a_run_paces_its_sends_under_telegrams_limit(clock):
    pacer = wakes.Pacer(wakes.SEND_RATE, clock, clock.sleep)
    started = clock()
    for _ in range(101):
        pacer.wait()
    # 101 sends at most SEND_RATE a second take at least 100 intervals; Telegram allows about 30 a second.
    assert clock() - started == pytest.approx(100 / wakes.SEND_RATE) and wakes.SEND_RATE <= 30
