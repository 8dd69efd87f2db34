"""The owner hears when the bot is broken: the platforms' own words (Telegram's getWebhookInfo, the Graph
API's error 190 and subscribed apps, from the fake servers that answer as the real ones document),
asked by the scheduled job at most every 10 minutes across instances, told to the owner's Telegram
chat once when a problem appears and once when it is fixed, and shown on the dashboard with the 5xx
share of the last hour and when each channel last heard and answered. SQLite and the Firestore
emulator; two app instances share one store the way two Cloud Run instances do."""

from __future__ import annotations

import html
import threading
import time

import pytest
from payloads import FB_SECRET, FB_TOKEN, FB_VERIFY, TG_SECRET, TG_TOKEN, fb_body, fb_text, post_fb, post_tg, tg_message

import app as app_module
import tg
from chatbot.owner import alerts, traffic
from chatbot.store.url import open_store

OWNER_CHAT = "-1001234567890"
TASKS = "tasks-token-for-alerts-123"
ADMIN = "admin-token-for-alerts-123"
SECRETS = [FB_TOKEN, FB_SECRET, FB_VERIFY, TG_TOKEN, TG_SECRET, TASKS, ADMIN]
WEBHOOK_503 = "Wrong response from the webhook: 503 Service Unavailable"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def instances(make_settings, store_url, telegram, clock):
    """Build app instances on one store, each with a connection of its own, as Cloud Run instances."""
    telegram.webhook = {"url": tg.webhook_url("https://bot.example.test", TG_SECRET)}  # set up, and ours
    opened = []

    def build(**overrides):
        store = open_store(store_url)
        opened.append(store)
        settings = {"tasks_token": TASKS, "admin_token": ADMIN, "handoff_telegram_chat_id": OWNER_CHAT}
        settings = make_settings(store_url=store_url, **(settings | overrides))
        return app_module.create_app(settings, store=store, clock=clock)

    yield build
    for store in opened:
        store.close()


def run_job(application) -> None:
    response = application.test_client().post("/tasks/reminders", headers={"Authorization": f"Bearer {TASKS}"})
    assert response.status_code == 200, response.get_data(as_text=True)


def told(telegram) -> list[str]:
    """What the owner's chat received (Telegram took it), as the owner reads it; never a secret."""
    calls = [call for call in telegram.calls_for(OWNER_CHAT) if call.path.endswith("/sendMessage")]
    texts = [html.unescape(call.body["text"]) for call in calls if call.status == 200]
    for text in texts:
        assert not any(secret in text for secret in SECRETS), text
    return texts


def health(application) -> dict:
    response = application.test_client().get("/admin/health.json", headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 200
    return response.get_json()


def asked(server, path_end: str) -> int:
    return sum(1 for call in server.calls if call.path.endswith(path_end))


def test_a_refused_page_token_is_told_once_and_once_more_when_fixed(instances, graph, telegram, clock):
    one, two = instances(), instances()
    graph.token_refused = 463  # expired
    run_job(one)
    [problem] = told(telegram)
    assert "The bot has a problem on Messenger: messenger page token" in problem
    assert "it expired" in problem and "Error validating access token: Session has expired" in problem
    assert "generate a page access token" in problem and "one more message when it is fixed" in problem
    assert "Dashboard: https://bot.example.test/admin" in problem
    for instance in (two, one, two):  # checked again on each instance, 10 minutes apart: nothing new to say
        clock.advance(601)
        before = asked(graph, "/me")
        run_job(instance)
        assert asked(graph, "/me") == before + 1 and len(told(telegram)) == 1
    page = health(one)
    assert not page["healthy"] and [p["name"] for p in page["problems"]] == ["messenger page token"]
    graph.token_refused = None
    clock.advance(601)
    run_job(one)
    assert len(told(telegram)) == 2 and told(telegram)[1].startswith("Fixed on Messenger: messenger page token")
    assert "Now: the page is Mentor Test Page" in told(telegram)[1]
    for instance in (two, one):
        clock.advance(601)
        run_job(instance)
    assert len(told(telegram)) == 2
    assert health(two)["problems"] == [] and health(two)["healthy"]


def test_the_platforms_are_asked_at_most_every_ten_minutes(instances, graph, telegram, clock):
    one, two = instances(), instances()
    for instance in (one, two, one, two):  # the job every couple of minutes, on whichever instance
        run_job(instance)
        clock.advance(120)
    assert asked(telegram, "/getWebhookInfo") == 1 and asked(graph, "/me") == 1
    clock.advance(600)
    run_job(two)
    assert asked(telegram, "/getWebhookInfo") == 2 and asked(graph, "/me") == 2
    assert told(telegram) == []  # nothing wrong, nothing said


def test_two_instances_running_the_job_at_once_check_and_tell_once(instances, graph, telegram):
    pair = [instances(), instances()]
    graph.token_refused = 460
    threads = [threading.Thread(target=run_job, args=(instance,)) for instance in pair]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert asked(graph, "/me") == 1 and len(told(telegram)) == 1


@pytest.mark.parametrize("subcode, said", [(460, "password of the person who made it changed"), (467, "revoked")])
def test_doctor_and_the_owner_read_the_same_check(instances, graph, telegram, subcode, said):
    one = instances()
    graph.token_refused = subcode
    run_job(one)
    [problem] = told(telegram)
    result = one.test_cli_runner().invoke(args=["doctor"])
    line = next(line for line in result.output.splitlines() if "messenger page token" in line)
    assert line.startswith("FAIL") and said in line
    assert line.split("messenger page token: ", 1)[1] in problem  # one Check drives both
    alerts_line = next(line for line in result.output.splitlines() if line[6:].startswith("alerts:"))
    assert alerts_line.startswith("OK") and OWNER_CHAT in alerts_line


def test_telegram_cannot_deliver_to_the_webhook(instances, telegram, clock):
    one, two = instances(), instances()
    ours = dict(telegram.webhook)
    telegram.last_error = {"last_error_date": int(time.time()) - 30, "last_error_message": WEBHOOK_503}
    telegram.pending_update_count = 7
    run_job(one)
    [problem] = told(telegram)
    assert "problem on Telegram: telegram webhook" in problem and WEBHOOK_503 in problem and "7 update(s)" in problem
    telegram.pending_update_count = 12  # still failing, in other numbers: not news
    clock.advance(601)
    run_job(two)
    assert len(told(telegram)) == 1 and "12 update(s)" in health(one)["problems"][0]["detail"]
    telegram.pending_update_count = 0  # delivered since: fixed
    clock.advance(601)
    run_job(one)
    assert len(told(telegram)) == 2 and told(telegram)[1].startswith("Fixed on Telegram: telegram webhook")
    telegram.webhook = {"url": "https://elsewhere.example.test/hook"}  # someone set another URL, 10 minutes on
    clock.advance(601)
    run_job(two)
    assert len(told(telegram)) == 2  # within the hour after a fix: shown, not told (a check that comes and goes)
    assert "points at https://elsewhere.example.test/hook" in health(one)["problems"][0]["detail"]
    telegram.webhook = ours
    clock.advance(601)
    run_job(one)
    telegram.webhook = {"url": "https://elsewhere.example.test/hook"}  # and again, an hour after the fix
    clock.advance(3601)
    run_job(two)
    assert len(told(telegram)) == 3 and "points at https://elsewhere.example.test/hook" in told(telegram)[2]


def test_an_app_no_longer_subscribed_to_the_page(instances, graph, telegram, clock):
    one = instances()
    graph.subscribed_fields = ["messages"]
    run_job(one)
    [problem] = told(telegram)
    assert "messenger subscription" in problem and "not subscribed to messaging_postbacks" in problem
    graph.subscribed_fields = []  # the app removed from the page: the same problem, still open
    clock.advance(601)
    run_job(one)
    assert len(told(telegram)) == 1 and "messages, messaging_postbacks" in health(one)["problems"][0]["detail"]


def test_only_this_apps_subscription_counts(instances, telegram):
    one = instances(fb_app_id="111222")  # another app is subscribed to the page, not this one
    run_job(one)
    [problem] = told(telegram)
    assert "not subscribed to messages, messaging_postbacks" in problem and "FB_APP_ID is 111222" in problem


def test_a_send_refused_with_190_is_noticed_without_waiting_for_the_check(instances, graph, telegram, clock):
    one, two = instances(), instances()
    run_job(two)  # healthy; the next check is 10 minutes away
    graph.token_refused = 467
    body = fb_body(fb_text("7001", "hello"))
    response = post_fb(one.test_client(), body)
    # The owner's token is at fault, not the person: the reply is kept and Meta comes back for it.
    assert response.status_code == 503 and graph.messages("7001", accepted=True) == []
    assert told(telegram) == []
    clock.advance(61)  # a minute later the next request wakes instance one's writer
    assert one.test_client().get("/privacy").status_code == 200
    assert one.extensions["chatbot"].traffic.wait()
    before = asked(graph, "/me")
    run_job(two)  # not time to check: what the send noticed, recorded by instance one, is told
    assert asked(graph, "/me") == before
    [problem] = told(telegram)
    assert "messenger page token" in problem and "revoked, or its user logged out" in problem
    clock.advance(601)
    run_job(one)  # the check finds the same: not news
    assert len(told(telegram)) == 1
    graph.token_refused = None
    clock.advance(601)
    run_job(two)
    assert len(told(telegram)) == 2 and "Fixed on Messenger" in told(telegram)[1]
    assert post_fb(one.test_client(), body).status_code == 200  # Meta's redelivery: the kept reply goes out
    assert graph.messages("7001", accepted=True)


def test_a_notice_telegram_refused_is_sent_on_the_next_run_once(instances, graph, telegram, clock):
    one, two = instances(), instances()
    graph.token_refused = 463
    telegram.queue(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}, match="sendMessage")
    run_job(one)
    assert told(telegram) == [] and health(one)["problems"][0]["name"] == "messenger page token"
    clock.advance(60)
    run_job(two)  # not time to check again; the notice waiting is sent
    assert len(told(telegram)) == 1
    clock.advance(60)
    run_job(one)
    assert len(told(telegram)) == 1


def test_a_problem_fixed_before_the_owner_heard_of_it_is_not_told(instances, graph, telegram, clock):
    one = instances()
    telegram.revoked = True  # the owner's chat cannot be reached: the Telegram token itself is refused
    run_job(one)
    assert "telegram token" in [p["name"] for p in health(one)["problems"]]
    telegram.revoked = False
    clock.advance(601)
    run_job(one)
    assert told(telegram) == [] and health(one)["problems"] == []


def test_without_an_owner_chat_the_dashboard_alone_shows_it(instances, graph, telegram, clock):
    one = instances(handoff_telegram_chat_id=None)
    graph.token_refused = 463
    run_job(one)
    assert telegram.sent("sendMessage") == [] and health(one)["problems"][0]["name"] == "messenger page token"
    page = one.test_client().get("/admin", headers={"Authorization": f"Bearer {ADMIN}"}).get_data(as_text=True)
    assert 'data-healthy="false"' in page and "Right now: needs you" in page and "it expired" in page
    assert FB_TOKEN not in page


def test_the_5xx_share_and_the_last_message_count_every_instance(instances, telegram, clock):
    one, two = instances(), instances()
    for n in range(4):
        assert post_tg(one.test_client(), tg_message(660100 + n, "/start")).status_code == 200
    answered = clock.now
    clock.advance(30)
    telegram.queue(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}, match="sendMessage")
    assert post_tg(two.test_client(), tg_message(660200, "/start")).status_code == 503
    assert post_tg(two.test_client(), b"{}", secret="wrong").status_code == 403  # not from Telegram: not heard
    for _ in range(5):
        assert two.test_client().get("/health").status_code == 200  # uptime checks: not counted
    two.test_client().get("/wp-login.php")  # an address the service does not have
    heard = clock.now
    for instance in (one, two):
        run_job(instance)  # each writes its own counts first
    now = health(one)
    assert now["last_hour"]["families"]["telegram"] == {"2xx": 4, "4xx": 1, "5xx": 1}
    assert now["last_hour"]["families"]["unknown"] == {"4xx": 1} and "health" not in now["last_hour"]["families"]
    tasks = now["last_hour"]["families"]["tasks"]["2xx"]
    assert now["last_hour"]["requests"] == 4 + 1 + 1 + tasks and now["last_hour"]["errors"] == 1
    assert now["channels"]["telegram"] == {"last_received": heard, "last_answered": answered}
    assert now["channels"]["messenger"] == {"last_received": None, "last_answered": None}
    assert not now["healthy"] and "were errors (5xx)" in now["reasons"][0]
    clock.advance(2 * 3600)  # two hours later the hour is quiet, and the last times are still known
    run_job(two)
    later = health(two)
    assert later["last_hour"]["requests"] <= 2 and later["healthy"] is True
    assert later["channels"]["telegram"] == {"last_received": heard, "last_answered": answered}
    page = two.test_client().get("/admin", headers={"Authorization": f"Bearer {ADMIN}"}).get_data(as_text=True)
    assert "Right now: healthy" in page and "2 h ago" in page


def test_counts_are_written_once_a_minute_by_a_thread_never_by_the_request(instances, store_url, clock):
    one = instances()
    store = open_store(store_url)
    client, writer = one.test_client(), one.extensions["chatbot"].traffic
    for _ in range(3):
        assert client.get("/privacy").status_code == 200
    assert traffic.last_hour(store, clock.now)["requests"] == 0  # in memory only
    clock.advance(61)
    client.get("/privacy")  # a minute later: this request wakes the writer, and does not wait for it
    assert writer.wait()
    assert traffic.last_hour(store, clock.now)["families"] == {"pages": {"2xx": 4}}
    client.get("/privacy")  # within the minute: no write
    assert writer.wait()
    assert traffic.last_hour(store, clock.now)["families"] == {"pages": {"2xx": 4}}
    store.close()


def test_a_store_that_fails_never_fails_the_request(make_settings, tmp_path, clock):
    (tmp_path / "a-file").write_text("not a directory")
    broken = open_store(f"sqlite:///{tmp_path}/a-file/chatbot.db")
    one = app_module.create_app(make_settings(handoff_telegram_chat_id=OWNER_CHAT), store=broken, clock=clock)
    client = one.test_client()
    clock.advance(61)
    assert client.get("/nowhere").status_code == 404
    assert one.extensions["chatbot"].traffic.wait()
    counts, _ = one.extensions["chatbot"].traffic.take()  # the write failed: what it held was kept
    assert sum(counts.values()) == 1


def test_a_message_to_the_owner_never_carries_a_secret():
    item = alerts.notice(
        "telegram token",
        "telegram",
        False,
        f"network error at https://api.telegram.org/bot{TG_TOKEN}/getMe; token {FB_TOKEN}",
        time.time(),
        time.time(),
    )
    text = alerts.message(item, [FB_TOKEN, TG_TOKEN])
    assert TG_TOKEN not in text and FB_TOKEN not in text and "<token>" in text and "<secret>" in text


@pytest.mark.parametrize(
    "chat, token, ok, said",
    [
        ("", TG_TOKEN, True, "dashboard only"),
        ("@owners", TG_TOKEN, False, "not a chat id"),
        (OWNER_CHAT, "", False, "TELEGRAM_BOT_TOKEN is not"),
    ],
)
def test_doctor_says_who_hears_of_a_problem(chat, token, ok, said):
    check = alerts.setting_check(chat, token)
    assert check.ok is ok and said in check.detail


def test_a_problem_that_comes_and_goes_is_told_at_most_twice_an_hour(instances, telegram, clock):
    one = instances()
    ours = dict(telegram.webhook)
    for round_ in range(6):  # an hour of checks, the webhook failing and recovering, in other words each time
        failing = round_ % 2 == 0
        telegram.last_error = {"last_error_date": int(time.time()) - 30, "last_error_message": WEBHOOK_503}
        telegram.pending_update_count = 3 if failing else 0
        telegram.webhook = {"url": f"https://other{round_}.example.test/hook"} if round_ == 4 else ours
        run_job(one)
        clock.advance(601)
        assert bool(health(one)["problems"]) == failing  # the dashboard always says how it is now
    assert len(told(telegram)) == 2  # the first failure and its fix; the flaps after them are only shown


def test_a_platform_that_did_not_answer_opens_no_problem(instances, graph, telegram, clock):
    """Meta's "unexpected error" (500, code 2, is_transient) says nothing of the token: no alert."""
    one = instances()
    unexpected = {"error": {"message": "An unexpected error has occurred.", "code": 2, "is_transient": True}}
    graph.queue(500, unexpected, match="/me", times=2)
    run_job(one)
    assert health(one)["problems"] == [] and told(telegram) == []
