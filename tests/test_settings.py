"""Settings from the environment, and secrets from Secret Manager through the real client library."""

from __future__ import annotations

import pytest
from fakes import FakeSecretManager
from payloads import FB_SECRET, fb_body, fb_text, post_fb

import app as app_module
from chatbot.core.settings import SecretError, SecretResolver, Settings, secret_version_name

PROJECT = "demo-mentor"


@pytest.fixture(scope="module")
def secret_manager():
    server = FakeSecretManager()
    yield server
    server.close()


@pytest.fixture
def sm(secret_manager):
    secret_manager.reset()
    secret_manager.secrets.clear()
    secret_manager.forbidden.clear()
    return secret_manager


@pytest.mark.parametrize(
    "reference, name",
    [
        ("sm://fb-app-secret", f"projects/{PROJECT}/secrets/fb-app-secret/versions/latest"),
        ("sm://fb-app-secret/3", f"projects/{PROJECT}/secrets/fb-app-secret/versions/3"),
        ("sm://projects/other/secrets/s/versions/2", "projects/other/secrets/s/versions/2"),
        ("projects/other/secrets/s/versions/7", "projects/other/secrets/s/versions/7"),
        ("projects/other/secrets/s", "projects/other/secrets/s/versions/latest"),
    ],
)
def test_reference_forms(reference, name):
    assert secret_version_name(reference, PROJECT) == name


def test_short_reference_without_a_project_says_what_to_do():
    with pytest.raises(SecretError, match="GOOGLE_CLOUD_PROJECT"):
        secret_version_name("sm://x", None)


def test_webhook_secret_from_secret_manager_is_fetched_once(make_settings, sm, graph):
    sm.secrets[f"projects/{PROJECT}/secrets/fb-app-secret/versions/latest"] = FB_SECRET
    settings = make_settings(
        fb_app_secret="sm://fb-app-secret", google_cloud_project=PROJECT, secret_manager_endpoint=sm.url
    )
    application = app_module.create_app(settings)
    assert sm.calls == []  # nothing fetched at start-up
    client = application.test_client()
    for n in range(3):
        assert post_fb(client, fb_body(fb_text(f"psid-sm-{n}", "hi"))).status_code == 200
    assert len(sm.calls) == 1 and sm.calls[0].path.endswith("/secrets/fb-app-secret/versions/latest:access")
    assert post_fb(client, fb_body(fb_text("psid-sm", "hi")), signature="sha256=" + "0" * 64).status_code == 403


def test_missing_secret_names_it(sm):
    resolver = SecretResolver(PROJECT, sm.url)
    with pytest.raises(SecretError, match="fb-verify/versions/latest does not exist"):
        resolver.resolve("sm://fb-verify")


def test_permission_denied_names_the_role(sm):
    sm.forbidden.add(f"projects/{PROJECT}/secrets/tg-token")
    resolver = SecretResolver(PROJECT, sm.url)
    with pytest.raises(SecretError, match=r"tg-token.*roles/secretmanager\.secretAccessor"):
        resolver.resolve("sm://tg-token")


def test_webhook_with_an_unreadable_secret_is_503_and_logged(make_settings, sm, log_records):
    settings = make_settings(fb_app_secret="sm://gone", google_cloud_project=PROJECT, secret_manager_endpoint=sm.url)
    client = app_module.create_app(settings).test_client()
    response = post_fb(client, fb_body(fb_text("psid-x", "hi")))
    assert response.status_code == 503
    assert any("does not exist" in str(getattr(r, "error", "")) for r in log_records)


def test_secret_from_a_mounted_file(tmp_path, monkeypatch):
    path = tmp_path / "tg-secret"
    path.write_text("from-a-file\n")
    settings = Settings.from_env({"TELEGRAM_SECRET_TOKEN_FILE": str(path), "TELEGRAM_BOT_TOKEN": "1:x"})
    assert settings.secret("telegram_secret_token") == "from-a-file" and settings.enabled("telegram")


def test_channels_report(make_settings):
    report = make_settings(telegram_bot_token=None).channel_report()
    assert report["messenger"] == "on" and report["telegram"].startswith("off")


def test_defaults():
    settings = Settings.from_env({})
    assert settings.port == 8080 and settings.store_url == "sqlite:///chatbot.db"
    assert settings.fb_graph_url == "https://graph.facebook.com/v25.0"
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert not settings.enabled("messenger") and not settings.enabled("telegram") and settings.enabled("web")
