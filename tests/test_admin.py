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
