"""The web chat page in a real browser: headless Chromium driven by Selenium."""

from __future__ import annotations

import json
import shutil
import threading

import pytest
from conftest import ROOT, require

import app as app_module

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"
CATALOG = {s["id"]: s for s in json.loads((ROOT / "skills.json").read_text(encoding="utf-8"))["catalog"]}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def live_url(make_settings, store):
    from werkzeug.serving import make_server

    application = app_module.create_app(make_settings(), store=store)
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def start_browser(profile, lang: str = "en-US"):
    require(bool(CHROMIUM and CHROMEDRIVER), "headless Chromium and chromedriver are needed (make system-deps)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic"]
    flags += ["--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    flags += ["--window-size=900,1000", f"--lang={lang}", f"--user-data-dir={profile}"]
    for flag in flags:
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": lang})  # what navigator.languages says
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    return driver


@pytest.fixture
def browser(tmp_path):
    driver = start_browser(tmp_path / "profile")
    yield driver
    driver.quit()


@pytest.fixture
def spanish_browser(tmp_path):
    driver = start_browser(tmp_path / "profile-es", lang="es-ES")
    yield driver
    driver.quit()


def wait_for(driver, css: str, text: str | None = None, timeout: float = 10):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def found(d):
        for element in d.find_elements(By.CSS_SELECTOR, css):
            if text is None or text in element.text:
                return element
        return False

    from selenium.common.exceptions import StaleElementReferenceException

    # The typing bubble comes and goes while we look: an element gone meanwhile is simply looked for again.
    wait = WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,))
    return wait.until(found, f"no {css!r} with {text!r}")


def click_chip(driver, title: str) -> None:
    wait_for(driver, ".chips button", title).click()


def test_from_get_started_to_an_assignment_card(browser, live_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(live_url + "/")
    wait_for(browser, ".bubble.bot", "I'm Mentor")
    click_chip(browser, "Browse skills")
    card = wait_for(browser, ".card", "Python")
    assert card.find_element(By.CSS_SELECTOR, "img").get_attribute("naturalWidth") != "0"
    card.find_element(By.CSS_SELECTOR, "button").click()
    wait_for(browser, ".bubble.bot", "How much do you know already?")
    click_chip(browser, "Beginner")
    wait_for(browser, ".bubble.bot", "how much time can you give it")
    field = browser.find_element(By.ID, "text")
    field.send_keys("3", Keys.ENTER)
    wait_for(browser, ".bubble.user", "3")
    first = next(a for a in CATALOG["python"]["assignments"] if a["level"] == "beginner")
    card = wait_for(browser, ".card", first["title"])
    link = card.find_element(By.CSS_SELECTOR, f"a[href='{first['url']}']")
    assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")
    assert f"Tutorial · {first['minutes']} min" in card.text
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "web-chat.png"))
    # Done ✓ on the card moves on to the next assignment.
    wait_for(browser, ".card button", "Done").click()
    steps = sum(1 for a in CATALOG["python"]["assignments"] if a["level"] == "beginner")
    wait_for(browser, ".bubble.bot", f"1 of {steps}")


def test_user_text_is_shown_as_text_and_never_runs(browser, live_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(live_url + "/")
    wait_for(browser, ".bubble.bot", "I'm Mentor")
    click_chip(browser, "Suggest a skill")
    wait_for(browser, ".bubble.bot", "Which skill should I add?")
    hostile = '<img src=x onerror="window.__pwned=1">'
    browser.find_element(By.ID, "text").send_keys(hostile, Keys.ENTER)
    wait_for(browser, ".bubble.bot", "noted your suggestion")
    assert browser.execute_script("return window.__pwned === undefined")
    assert browser.find_elements(By.CSS_SELECTOR, ".log img") == []
    assert hostile in wait_for(browser, ".bubble.bot", "noted your suggestion").text


def test_language_switch(browser, live_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(live_url + "/")
    wait_for(browser, ".bubble.bot", "I'm Mentor")
    Select(browser.find_element(By.ID, "language")).select_by_value("es")
    wait_for(browser, ".bubble.bot", "te hablo en español")
    wait_for(browser, ".chips button", "Ver habilidades")
    assert browser.find_element(By.ID, "send").text == "Enviar"  # the page's own words follow
    assert browser.find_element(By.ID, "text").get_attribute("placeholder") == "Escribe un mensaje…"


def test_after_a_reload_the_menu_shows_the_language_the_bot_speaks_and_switching_back_works(browser, live_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(live_url + "/")
    wait_for(browser, ".bubble.bot", "I'm Mentor")
    Select(browser.find_element(By.ID, "language")).select_by_value("es")
    wait_for(browser, ".bubble.bot", "te hablo en español")
    browser.execute_script("localStorage.clear()")  # the conversation itself says which language it speaks
    browser.refresh()
    wait_for(browser, ".bubble.bot", "te hablo en español")
    menu = Select(browser.find_element(By.ID, "language"))
    assert menu.first_selected_option.text == "Español"
    assert browser.find_element(By.ID, "send").text == "Enviar"
    assert browser.execute_script("return document.documentElement.lang") == "es"
    menu.select_by_value("en")  # before, the menu already said English and picking it did nothing
    wait_for(browser, ".bubble.bot", "I'll speak English")
    assert browser.find_element(By.ID, "send").text == "Send"


def test_a_browser_set_to_spanish_is_greeted_in_spanish_on_its_first_visit(spanish_browser, live_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    spanish_browser.get(live_url + "/")
    wait_for(spanish_browser, ".bubble.bot", "Soy Mentor")
    assert Select(spanish_browser.find_element(By.ID, "language")).first_selected_option.text == "Español"
    assert spanish_browser.find_element(By.ID, "text").get_attribute("placeholder") == "Escribe un mensaje…"


def test_a_reload_brings_the_conversation_back(browser, live_url):
    from selenium.webdriver.common.by import By

    browser.get(live_url + "/")
    wait_for(browser, ".bubble.bot", "I'm Mentor")
    click_chip(browser, "Browse skills")
    wait_for(browser, ".card", "Python")
    before = [b.text for b in browser.find_elements(By.CSS_SELECTOR, ".bubble")]
    browser.refresh()
    wait_for(browser, ".bubble.user", "Browse skills")  # the button's title, as the person saw it
    wait_for(browser, ".card", "Python")
    after = [b.text for b in browser.find_elements(By.CSS_SELECTOR, ".bubble")]
    assert after == before  # the same conversation, not a new welcome
    assert wait_for(browser, ".chips button", "More skills")  # and what can be pressed next
    languages = [o.text for o in browser.find_elements(By.CSS_SELECTOR, "#language option")]
    assert languages == ["English", "Español"]  # from skills.json
    assert browser.find_element(By.ID, "text").get_attribute("maxlength") == "4000"  # the server's limit


@pytest.fixture
def inbox_url(make_settings, store, telegram):
    """The live app whose handoff inbox is the fake Telegram's forum."""
    from werkzeug.serving import make_server

    settings = make_settings(handoff_telegram_chat_id=telegram.forum.chat_id)
    server = make_server("127.0.0.1", 0, app_module.create_app(settings, store=store), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_the_page_shows_a_persons_answers_as_they_come_while_a_handoff_is_open(browser, inbox_url, telegram):
    import requests
    from payloads import TG_SECRET, tg_in_topic
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(inbox_url + "/")
    wait_for(browser, ".bubble.bot", "I'm Mentor")
    browser.find_element(By.ID, "text").send_keys("can I talk to a real person?", Keys.ENTER)
    wait_for(browser, ".bubble.bot", "passing you to a person")
    thread = next(iter(telegram.forum.topics))
    browser.find_element(By.ID, "text").send_keys("my python loop never ends", Keys.ENTER)
    wait_for(browser, ".bubble.user", "my python loop never ends")

    def owner(text: str) -> None:
        update = tg_in_topic(telegram.forum.chat_id, thread, text)
        headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
        assert requests.post(inbox_url + "/webhook/telegram", json=update, headers=headers, timeout=10).ok

    owner("Show me the loop's condition")
    answer = wait_for(browser, ".bubble.human", "Show me the loop's condition", timeout=15)  # nobody sent a thing
    assert "A person" in answer.text
    owner("/done")
    wait_for(browser, ".bubble.bot", "it's me again", timeout=15)
    assert telegram.forum.texts(thread, list(telegram.calls))[1] == "my python loop never ends"
