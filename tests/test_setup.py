"""`flask setup telegram|messenger` and `flask telegram-poll`, against the fake platforms."""

from __future__ import annotations

import pytest
from conftest import CATALOG_PAGES
from payloads import TG_SECRET, tg_callback, tg_message

import app as app_module


@pytest.fixture
def cli(make_settings):
    def run(*args, **overrides):
        application = app_module.create_app(make_settings(**overrides))
        result = application.test_cli_runner().invoke(args=list(args))
        application.extensions["chatbot"].store.close()
        return result

    return run


def methods(telegram) -> list[str]:
    return [c.path.rsplit("/", 1)[-1] for c in telegram.calls]


def test_setup_telegram_sets_webhook_and_commands_once(cli, telegram):
    telegram.webhook, telegram.commands = {}, {}
    result = cli("setup", "telegram")
    assert result.exit_code == 0, result.output
    hook = telegram.webhook
    assert hook["url"].startswith("https://bot.example.test/webhook/telegram?v=")
    assert TG_SECRET not in hook["url"]
    assert hook["secret_token"] == TG_SECRET
    assert hook["allowed_updates"] == ["message", "callback_query"] and hook["max_connections"] == 40
    assert [c["command"] for c in telegram.commands[""]] == [
        "start",
        "help",
        "skills",
        "progress",
        "next",
        "suggest",
        "language",
        "reminders",
        "stop",
        "forget",
        "human",
        "bot",
    ]
    assert telegram.commands["es"][1] == {"command": "help", "description": "Cómo funciona el mentor"}
    assert "OK    telegram webhook: https://bot.example.test/webhook/telegram?v=" in result.output  # and checked

    telegram.reset()
    again = cli("setup", "telegram")
    assert "nothing, already up to date" in again.output
    assert not {"setWebhook", "setMyCommands"} & set(methods(telegram))

    telegram.reset()
    rotated = cli("setup", "telegram", telegram_secret_token="a-new-secret-token")
    assert "setWebhook" in methods(telegram) and telegram.webhook["secret_token"] == "a-new-secret-token"
    assert "setMyCommands" not in methods(telegram) and rotated.exit_code == 0


def test_setup_telegram_waits_out_a_rate_limit(cli, telegram):
    telegram.webhook, telegram.commands = {}, {}
    body = {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    telegram.queue(429, body, match="setMyCommands")
    assert cli("setup", "telegram").exit_code == 0
    assert methods(telegram).count("setMyCommands") == 3  # refused once, then default and es


def test_setup_telegram_needs_a_public_https_url(cli):
    result = cli("setup", "telegram", public_url=None)
    assert result.exit_code != 0 and "PUBLIC_URL" in result.output


def test_setup_messenger_sets_the_profile_once(cli, graph):
    graph.page_profile = {}
    result = cli("setup", "messenger")
    assert result.exit_code == 0, result.output
    profile = graph.page_profile
    assert profile["get_started"] == {"payload": "GET_STARTED"}
    assert [g["locale"] for g in profile["greeting"]] == ["default", "es_ES", "es_LA"]
    assert "{{user_first_name}}" in profile["greeting"][0]["text"] and len(profile["greeting"][0]["text"]) <= 160
    menu = profile["persistent_menu"][0]["call_to_actions"]
    assert [m["payload"] for m in menu] == ["BROWSE", "MY_SKILLS", "SUGGEST", "HELP", "FORGET"]
    assert profile["ice_breakers"][1]["call_to_actions"][0]["question"] == "¿Qué puedo aprender aquí?"
    posts = [c for c in graph.calls if c.method == "POST"]
    assert len(posts) == 1 and posts[0].query["access_token"]

    graph.reset()
    again = cli("setup", "messenger")
    assert "nothing, already up to date" in again.output
    assert [c.method for c in graph.calls if "messenger_profile" in c.path] == ["GET"]


def test_setup_messenger_retries_rate_limits_then_gives_up_cleanly(cli, graph):
    graph.page_profile = {}
    graph.queue(
        400, {"error": {"message": "(#4) Application request limit reached", "code": 4}}, match="messenger_profile"
    )
    assert cli("setup", "messenger").exit_code == 0
    graph.queue(400, {"error": {"message": "(#100) Invalid parameter", "code": 100}}, match="messenger_profile")
    failed = cli("setup", "messenger")
    assert failed.exit_code != 0


def test_telegram_poll_feeds_the_same_handler(cli, telegram):
    telegram.webhook = {}
    telegram.updates = [
        tg_message(6601, "/start", update_id=1),
        tg_callback(6601, "BROWSE", update_id=2),
        {"update_id": 3, "poll": {}},
    ]
    result = cli("telegram-poll", "--stop-when-idle")
    assert result.exit_code == 0, result.output
    assert "handled 3 update(s)" in result.output
    called = methods(telegram)
    assert called[:2] == ["getWebhookInfo", "deleteWebhook"] and telegram.webhook == {}
    texts = [p["text"] for _, p in telegram.sent("sendMessage", 6601)]
    assert texts[0].startswith("Hi Ana!") and any(f"page 1 of {CATALOG_PAGES}" in t for t in texts)
    offsets = [c.body["offset"] for c in telegram.calls if c.path.endswith("/getUpdates")]
    assert offsets == [0, 4]


def test_telegram_poll_will_not_silence_a_deployed_bot_without_being_told(cli, telegram):
    """Telegram sends a bot's updates to its webhook or to getUpdates, never both: polling a bot
    whose webhook is set would take its updates from the deployed service."""
    telegram.webhook = {"url": "https://prod.example.test/webhook/telegram?v=0123456789"}
    result = cli("telegram-poll", "--stop-when-idle")
    assert result.exit_code == 1 and "this bot has a webhook (https://prod.example.test" in result.output
    assert "--force" in result.output and "Traceback" not in result.output
    assert "deleteWebhook" not in methods(telegram) and telegram.webhook["url"].startswith("https://prod.")


def test_telegram_poll_with_force_puts_our_own_webhook_back(cli, telegram):
    from tg import webhook_url

    ours = webhook_url("https://bot.example.test", TG_SECRET)
    telegram.webhook = {"url": ours, "max_connections": 40}
    telegram.updates = [tg_message(6603, "/start", update_id=1)]
    result = cli("telegram-poll", "--stop-when-idle", "--force")
    assert result.exit_code == 0, result.output
    assert f"the webhook {ours} is back" in result.output
    assert telegram.webhook["url"] == ours and telegram.webhook["secret_token"] == TG_SECRET


def test_telegram_poll_with_force_says_when_it_cannot_put_a_webhook_back(cli, telegram):
    telegram.webhook = {"url": "https://old.example.test/webhook/telegram"}
    result = cli("telegram-poll", "--stop-when-idle", "--force")
    assert result.exit_code == 0, result.output
    assert "cannot be put back from here" in result.output and "setup telegram" in result.output
    assert telegram.webhook == {}


def test_the_readmes_five_minute_telegram_bot_needs_only_the_token(make_settings, telegram):
    """The README's first real bot: TELEGRAM_BOT_TOKEN alone, no secret token, no public URL."""
    application = app_module.create_app(make_settings(telegram_secret_token=None, public_url=None))
    telegram.updates = [tg_message(6609, "/start", update_id=1)]
    result = application.test_cli_runner().invoke(args=["telegram-poll", "--stop-when-idle"])
    assert result.exit_code == 0, result.output
    assert "polling Telegram" in result.output and "handled 1 update(s)" in result.output
    assert telegram.sent("sendMessage", 6609)[0][1]["text"].startswith("Hi Ana!")


def poll_app(make_settings, waits: list, **overrides):
    return app_module.create_app(make_settings(**overrides), sleep=waits.append)


def test_telegram_poll_waits_out_network_trouble_and_5xx(make_settings, telegram):
    telegram.updates = [tg_message(6602, "/start", update_id=1)]
    telegram.queue(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}, match="getUpdates", times=2)
    waits: list = []
    result = poll_app(make_settings, waits).test_cli_runner().invoke(args=["telegram-poll", "--stop-when-idle"])
    assert result.exit_code == 0, result.output
    assert "handled 1 update(s)" in result.output and waits == [2, 4]  # backoff, then on


def test_telegram_poll_survives_telegram_being_unreachable(make_settings):
    from conftest import free_port

    waits: list = []
    application = poll_app(make_settings, waits, telegram_api_url=f"http://127.0.0.1:{free_port()}")
    import tg
    from chatbot.core.outbound import SendFailed

    bot = tg.Telegram(application.extensions["chatbot"].settings, sleep=waits.append)
    with pytest.raises(SendFailed):  # deleteWebhook, before polling starts, says it plainly
        tg.poll(bot, lambda body: True, stop_when_idle=True)
    result = application.test_cli_runner().invoke(args=["telegram-poll", "--stop-when-idle"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Telegram is not reachable (network error: ConnectionError): check the network" in result.output


@pytest.mark.parametrize(
    "status, says",
    [
        (401, "Telegram refused the bot token (401): copy it again from @BotFather"),
        (409, "Telegram says something else takes this bot's updates (409)"),
    ],
)
def test_telegram_poll_stops_with_a_clear_message(make_settings, telegram, status, says):
    body = {"ok": False, "error_code": status, "description": "Unauthorized" if status == 401 else "Conflict"}
    telegram.queue(status, body, match="getUpdates")
    result = poll_app(make_settings, []).test_cli_runner().invoke(args=["telegram-poll", "--stop-when-idle"])
    assert result.exit_code == 1 and says in result.output and "Traceback" not in result.output


def test_setup_with_a_broken_skills_file_prints_the_check(make_settings, tmp_path):
    import json

    import click
    from conftest import ROOT

    data = json.loads((ROOT / "skills.json").read_text(encoding="utf-8"))
    data["intents"]["help"]["goto"] = "nowhere"
    path = tmp_path / "skills.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with click.Context(click.Command("setup")):
        application = app_module.create_app(make_settings(skills_file=str(path), public_url="https://bot.example.test"))
    result = application.test_cli_runner().invoke(args=["setup", "telegram"])
    assert result.exit_code == 1 and "intents.help.goto: no state named 'nowhere'" in result.output
