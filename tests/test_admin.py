"""The owner's dashboard: off without ADMIN_TOKEN, refused without the token, the numbers and charts
with it; in a real browser too (headless Chromium), with the README's screenshot taken there."""

from __future__ import annotations

import threading

import pytest
from conftest import ROOT
from test_browser import browser, wait_for  # noqa: F401 - the fixture
from transcript import TelegramUser

import app as app_module

TOKEN = "admin-token-for-tests-123"


@pytest.fixture
def owner_app(make_settings, store_url, each_store, telegram):
    application = app_module.create_app(make_settings(store_url=store_url, admin_token=TOKEN), store=each_store)
    for n in range(3):
        person = TelegramUser(application.test_client(), telegram, 880400 + n, first_name="Ana", language_code="en")
        person.start()
        person.say("banana bread recipe")
        person.press("x", "callback", "PICK:sql")
    return application


def test_off_without_admin_token(app):
    assert app.test_client().get("/admin").status_code == 404
    assert app.test_client().post("/admin", data={"token": ""}).status_code == 404


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": "Basic " + TOKEN}]
)
def test_refused_without_the_token(owner_app, headers):
    for path in ("/admin", "/admin/stats.json"):
        response = owner_app.test_client().get(path, headers=headers)
        assert response.status_code == 401 and "Admin token" in response.get_data(as_text=True)
        assert "users" not in response.get_data(as_text=True)


def test_the_dashboard_with_a_bearer_token(owner_app):
    response = owner_app.test_client().get("/admin", headers={"Authorization": f"Bearer {TOKEN}"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "script" not in page.lower()
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert page.count('<rect class="bar"') == 30 and 'data-name="people on telegram"><b>3</b>' in page
    assert "banana bread recipe" in page and "880400" not in page
    numbers = owner_app.test_client().get("/admin/stats.json?days=7", headers={"Authorization": f"Bearer {TOKEN}"})
    assert numbers.get_json()["users"]["telegram"] == 3 and len(numbers.get_json()["messages_per_day"]) == 7


def test_sign_in_sets_a_cookie_that_is_not_the_token(owner_app):
    client = owner_app.test_client()
    wrong = client.post("/admin", data={"token": "nope"})
    assert wrong.status_code == 401 and "not the admin token" in wrong.get_data(as_text=True)
    signed = client.post("/admin", data={"token": TOKEN})
    assert signed.status_code == 303 and signed.headers["Location"] == "/admin"
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    assert client.get("/admin").status_code == 200


@pytest.mark.browser
def test_the_dashboard_in_a_browser(make_settings, store, telegram, browser):  # noqa: F811
    from selenium.webdriver.common.by import By
    from werkzeug.serving import make_server

    application = app_module.create_app(make_settings(admin_token=TOKEN), store=store)
    for n in range(4):
        person = TelegramUser(application.test_client(), telegram, 880500 + n, first_name="Ana", language_code="en")
        person.start()
        person.say("purple monkey dishwasher" if n % 2 else "can i pay you")
        person.press("x", "callback", "PICK:python")
        if n < 2:
            person.press("x", "callback", "LEVEL:python:beginner")
            person.press("x", "callback", "HOURS:python:4")
            person.press("x", "callback", "DONE:python:py-1")
    server = make_server("127.0.0.1", 0, application, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{server.server_port}/admin")
        field = wait_for(browser, "input#token")
        field.send_keys(TOKEN)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait_for(browser, "#messages svg")
        bars = browser.find_elements(By.CSS_SELECTOR, "#messages rect.bar")
        assert len(bars) == 30 and bars[-1].get_attribute("data-value") == "18"
        funnel = {
            r.get_attribute("data-step"): r.get_attribute("data-value")
            for r in browser.find_elements(By.CSS_SELECTOR, "#funnel rect")
        }
        assert funnel == {"people": "4", "started_a_skill": "2", "did_an_assignment": "2", "finished_a_skill": "0"}
        assert "purple monkey dishwasher" in browser.find_element(By.CSS_SELECTOR, "#unmatched").text
        browser.set_window_size(1100, 1400)
        # What the page looked like, for a person to look at: test output stays in the ignored folder.
        (ROOT / "test-artifacts").mkdir(exist_ok=True)
        browser.save_screenshot(str(ROOT / "test-artifacts" / "admin.png"))
    finally:
        server.shutdown()


# ---------------------------------------------------------------- issue 35: guessing the token, the cookie


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def guarded(make_settings, store):
    clock = Clock()
    return app_module.create_app(make_settings(admin_token=TOKEN), store=store, clock=clock), clock


def sign_in(application, token: str, address: str = "203.0.113.7"):
    return application.test_client().post("/admin", data={"token": token}, environ_base={"REMOTE_ADDR": address})


def test_wrong_tokens_from_one_address_are_held_longer_and_longer(guarded, chatbot_logs):
    application, clock = guarded
    statuses = [sign_in(application, f"guess-{n}").status_code for n in range(300)]
    assert statuses[:6] == [401] * 6 and statuses[6:] == [429] * 294  # 6 checked, 294 not even looked at
    held = sign_in(application, TOKEN)
    assert held.status_code == 429 and held.headers["Retry-After"] == "1"  # even the right token waits
    assert sign_in(application, TOKEN, address="198.51.100.9").status_code == 303  # not someone else
    clock.now += 1
    assert sign_in(application, TOKEN).status_code == 303
    # After five free wrong tries, each one holds the address twice as long as the last.
    assert [sign_in(application, f"again-{n}").status_code for n in range(5)] == [401] * 5
    waits = []
    for n in range(4):
        clock.now += 3000  # past the last hold, within the hour that keeps the count
        assert sign_in(application, f"more-{n}").status_code == 401
        waits.append(sign_in(application, f"more-{n}").headers["Retry-After"])
    assert waits == ["1", "2", "4", "8"]
    lines = [r for r in chatbot_logs if r.getMessage().startswith("dashboard sign-in")]
    assert len(lines) > 300 and all(word not in str(vars(r)) for r in lines for word in ("guess-", "again-", TOKEN))
    assert {r.__dict__["httpRequest"]["remoteIp"] for r in lines} == {"203.0.113.7"}
    assert max(r.__dict__.get("failures", 0) for r in lines) == 9


def test_wrong_tokens_from_many_addresses_are_held_for_everyone(guarded):
    application, clock = guarded
    statuses = [sign_in(application, "guess", address=f"198.51.{n // 250}.{n % 250}").status_code for n in range(300)]
    assert statuses.count(401) <= 60 and statuses.count(429) >= 240
    assert sign_in(application, TOKEN, address="192.0.2.200").status_code == 429
    clock.now += 3600
    assert sign_in(application, TOKEN, address="192.0.2.200").status_code == 303


def test_a_wrong_bearer_token_counts_as_a_guess(guarded):
    application, _ = guarded
    client = application.test_client()
    statuses = [
        client.get("/admin/stats.json", headers={"Authorization": f"Bearer guess-{n}"}).status_code for n in range(20)
    ]
    assert statuses[:5] == [401] * 5 and statuses[-1] == 429
    assert client.get("/admin", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 429


def test_a_forged_sign_in_cookie_counts_as_a_guess(guarded):
    """A cookie made with a guessed token (its time not past, its signature to check) is a guess like a
    typed one: after the free tries the address is held, the right cookie included."""
    from chatbot.owner import dashboard

    application, clock = guarded
    client = application.test_client()

    def with_cookie(token: str) -> int:
        client.set_cookie("mentor_admin", dashboard.session_value(token, clock() + 3600), path="/admin")
        return client.get("/admin").status_code

    statuses = [with_cookie(f"guess-{n}") for n in range(40)]
    assert statuses[:5] == [401] * 5 and set(statuses[7:]) == {429}
    assert with_cookie(TOKEN) == 429  # held: not even the right one is checked
    clock.now += 3600
    assert with_cookie(TOKEN) == 200
    # A time of thousands of digits is no cookie at all, not a 500.
    client.set_cookie("mentor_admin", "9" * 5000 + ".x", path="/admin")
    assert client.get("/admin").status_code == 401 and client.get("/admin/stats.json").status_code == 401


def test_the_sign_in_cookie_expires_and_dies_with_the_token(make_settings, store):
    clock = Clock()
    application = app_module.create_app(make_settings(admin_token=TOKEN), store=store, clock=clock)
    client = application.test_client()
    assert client.post("/admin", data={"token": TOKEN}).status_code == 303
    cookie = client.get_cookie("mentor_admin", path="/admin").value
    assert client.get("/admin").status_code == 200
    clock.now += 8 * 3600 + 1  # kept by a browser past its Max-Age, or copied: the server says no
    assert client.get("/admin").status_code == 401
    # A fresh one works until the token changes.
    assert client.post("/admin", data={"token": TOKEN}).status_code == 303
    fresh = client.get_cookie("mentor_admin", path="/admin").value
    assert fresh != cookie and client.get("/admin").status_code == 200
    rotated = app_module.create_app(make_settings(admin_token=TOKEN + "-new"), store=store, clock=clock)
    other = rotated.test_client()
    other.set_cookie("mentor_admin", fresh, path="/admin")
    assert other.get("/admin").status_code == 401
    # The old cookie's shape (one constant per token) is refused.
    from chatbot.owner import dashboard

    legacy = dashboard.hmac.new(TOKEN.encode(), b"mentor admin session", dashboard.hashlib.sha256).hexdigest()
    other = application.test_client()
    other.set_cookie("mentor_admin", legacy, path="/admin")
    assert other.get("/admin").status_code == 401


def test_a_day_count_is_read_as_ascii_digits_only(owner_app):
    client = owner_app.test_client()
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    for days in ("²", "٣", "1²", "-3", "1e3", "  7"):
        answer = client.get(f"/admin/stats.json?days={days}", headers=bearer)
        assert answer.status_code == 200 and answer.get_json()["period"]["days"] == 30
        assert client.get(f"/admin?days={days}", headers=bearer).status_code == 200
    assert client.get("/admin/stats.json?days=7", headers=bearer).get_json()["period"]["days"] == 7


@pytest.fixture
def chatbot_logs():
    import logging

    records: list = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect(level=logging.DEBUG)
    logging.getLogger("chatbot").addHandler(handler)
    yield records
    logging.getLogger("chatbot").removeHandler(handler)
