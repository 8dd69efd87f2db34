"""`flask --app app doctor`: OK on a good configuration; FAIL with the fix named on each broken one;
never a secret in its output. Against the fake platforms, SQLite and the Firestore emulator."""

from __future__ import annotations

import json
import time

import click
import pytest
from conftest import ROOT
from payloads import FB_SECRET, FB_TOKEN, FB_VERIFY, TG_SECRET, TG_TOKEN

import app as app_module

SECRETS = [FB_TOKEN, FB_SECRET, FB_VERIFY, TG_TOKEN, TG_SECRET]


@pytest.fixture
def doctor(make_settings):
    def run(**overrides):
        with click.Context(click.Command("doctor")):  # as the flask CLI builds the app
            application = app_module.create_app(make_settings(**overrides))
        result = application.test_cli_runner().invoke(args=["doctor"])
        for secret in SECRETS:
            assert secret not in result.output
        return result

    return run


@pytest.fixture
def webhook_set(telegram):
    telegram.webhook = {}
    import tg
    from chatbot.core.settings import Settings

    settings = Settings.from_env(
        {"TELEGRAM_BOT_TOKEN": TG_TOKEN, "TELEGRAM_SECRET_TOKEN": TG_SECRET, "TELEGRAM_API_URL": telegram.url}
    )
    telegram.webhook = {"url": tg.webhook_url("https://bot.example.test", settings.secret("telegram_secret_token"))}


def lines(result) -> dict[str, str]:
    found = {}
    for line in result.output.splitlines():
        if line[:4] in ("OK  ", "FAIL"):
            name, _, detail = line[6:].partition(": ")
            found[name] = line[:4].strip() + " " + detail
    return found


@pytest.mark.parametrize("backend", ["sqlite", "firestore"])
def test_a_good_configuration_passes_every_check(doctor, webhook_set, backend, request):
    store_url = request.getfixturevalue("firestore_url") if backend == "firestore" else None
    result = doctor(**({"store_url": store_url} if store_url else {}))
    assert result.exit_code == 0, result.output
    checks = lines(result)
    assert all(v.startswith("OK") for v in checks.values()), result.output
    assert {
        "store",
        "skills",
        "telegram token",
        "telegram webhook",
        "messenger page token",
        "messenger subscription",
    } <= set(checks)
    assert "the bot is @mentor_test_bot" in checks["telegram token"]
    assert "Mentor Test Page" in checks["messenger page token"]


def test_a_store_without_credentials_names_the_fix(doctor, webhook_set, monkeypatch, tmp_path):
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    result = doctor(store_url="firestore://demo-x")
    assert result.exit_code == 1
    store = lines(result)["store"]
    assert store.startswith("FAIL firestore://demo-x") and "application-default login" in store
    assert "roles/datastore.user" in store and "Traceback" not in result.output


def test_an_unknown_store_url_is_one_line(doctor, webhook_set):
    result = doctor(store_url="redis://x")
    assert result.exit_code == 1 and lines(result)["store"].startswith("FAIL STORE_URL: unknown scheme 'redis'")


def test_a_wrong_telegram_token(doctor):
    result = doctor(telegram_bot_token="999:not-the-token")
    assert result.exit_code == 1
    assert "@BotFather" in lines(result)["telegram token"] and "999:not-the-token" not in result.output


def test_telegram_webhook_not_set_elsewhere_or_failing(doctor, telegram, webhook_set):
    good = telegram.webhook
    telegram.webhook = {}
    assert "not set: run `flask --app app setup telegram`" in lines(doctor())["telegram webhook"]
    telegram.webhook = {"url": "https://old.example.test/webhook/telegram"}
    assert "points at https://old.example.test" in lines(doctor())["telegram webhook"]
    telegram.webhook = good
    telegram.last_error = {
        "last_error_date": int(time.time()) - 60,
        "last_error_message": "Wrong response from the webhook: 503 Service Unavailable",
    }
    telegram.pending_update_count = 3  # what failed is still waiting: Telegram cannot deliver now
    result = doctor()
    assert result.exit_code == 1 and "503 Service Unavailable" in lines(result)["telegram webhook"]
    assert "3 update(s) waiting" in lines(result)["telegram webhook"]
    telegram.pending_update_count = 0  # delivered since: said, but no longer a failure
    recovered = lines(doctor())["telegram webhook"]
    assert recovered.startswith("OK https://bot.example.test/") and "503 Service Unavailable" in recovered


def test_messenger_token_refused_and_app_not_subscribed(doctor, graph, webhook_set):
    refused = doctor(fb_page_access_token="EAAG-expired-token-000")
    assert "generate a page access token" in lines(refused)["messenger page token"]
    graph.subscribed_fields = ["messages"]
    result = doctor()
    assert result.exit_code == 1
    assert "not subscribed to messaging_postbacks" in lines(result)["messenger subscription"]


def test_a_secret_reference_that_cannot_be_resolved_names_the_secret(doctor, webhook_set):
    result = doctor(tasks_token="sm://tasks-token")
    assert result.exit_code == 1
    assert "sm://tasks-token" in lines(result)["TASKS_TOKEN"] and "GOOGLE_CLOUD_PROJECT" in lines(result)["TASKS_TOKEN"]


def test_a_broken_skills_file(doctor, webhook_set, tmp_path):
    data = json.loads((ROOT / "skills.json").read_text(encoding="utf-8"))
    del data["strings"]["es"]["welcome"]
    path = tmp_path / "skills.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = doctor(skills_file=str(path))
    assert result.exit_code == 1 and "missing keys ['welcome']" in lines(result)["skills"]
