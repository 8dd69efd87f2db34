"""`flask --app app doctor`: the configuration checked the way the running service uses it.

One line per check, ``OK`` or ``FAIL`` with the fix. Nothing here prints a
secret: lines are built from names, statuses and the platforms' own error
descriptions, each scrubbed of anything that looks like a token.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import fb
import outbound
import tg
from outbound import SendFailed
from settings import SECRET_FIELDS, SecretError, Settings, is_secret_reference
from store import Change, Store

HEALTH_KEY = "doctor:health"  # the small record the store check writes and reads back
RECENT_ERROR_SECONDS = 24 * 3600


@dataclass
class Check:
    ok: bool
    name: str
    detail: str

    def line(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'}  {self.name}: {outbound.scrub(self.detail)}"


def check_all(settings: Settings, store: Store | None, store_error, skills_error, session=None) -> list[Check]:
    checks = [check_store(settings, store, store_error)]
    checks += list(check_secrets(settings))
    checks.append(check_skills(settings, skills_error))
    if settings.tasks_audience:
        ok = bool(settings.tasks_invoker)
        detail = (
            f"OIDC for {settings.tasks_audience}, signed as {settings.tasks_invoker}"
            if ok
            else (
                "TASKS_AUDIENCE is set without TASKS_INVOKER: any Google account could run the tasks; "
                "set TASKS_INVOKER to the scheduler's service account"
            )
        )
        checks.append(Check(ok, "tasks", detail))
    if settings.telegram_bot_token:
        checks += list(check_telegram(settings, session))
    if settings.fb_page_access_token:
        checks += list(check_messenger(settings, session))
        checks.append(check_privacy(settings))
    return checks


def check_privacy(settings: Settings) -> Check:
    """What Meta's App Review reads: the privacy page's contact, and whether deletion requests can be matched."""
    missing = [
        f"{name} ({why})"
        for name, why in (
            ("OWNER_CONTACT", "/privacy says how to reach you"),
            ("OWNER_NAME", "/privacy says who runs the bot"),
            ("FB_APP_ID", "Meta's data deletion requests name people by app-scoped id; it matches them"),
        )
        if not getattr(settings, name.lower())
    ]
    base = settings.public_url or "PUBLIC_URL"
    detail = f"{base}/privacy and {base}/webhook/messenger/data-deletion are ready for App Review"
    return Check(True, "privacy", detail + (f"; before going live set {'; '.join(missing)}" if missing else ""))


def store_hint(url: str) -> str:
    if url.startswith("firestore"):
        return (
            "locally `gcloud auth application-default login` (or FIRESTORE_EMULATOR_HOST for the emulator); "
            "on Cloud Run grant the runtime service account roles/datastore.user; check the project and "
            "database id in STORE_URL (firestore://PROJECT/DATABASE) and that the database exists"
        )
    return "check that the directory of the SQLite file exists and is writable"


def check_store(settings: Settings, store: Store | None, store_error) -> Check:
    url = settings.store_url
    if store is None:
        return Check(False, "store", f"{store_error}")
    stamp = time.time()
    try:
        store.transact(HEALTH_KEY, lambda doc: (Change({"checked_at": stamp}), None))
        back = store.load(HEALTH_KEY) or {}
    except Exception as error:
        reason = f"{type(error).__name__}: {str(error)[:300]}"
        return Check(False, "store", f"{url}: {reason} — fix: {store_hint(url)}")
    if back.get("checked_at") != stamp:
        return Check(False, "store", f"{url}: wrote a health record but read back {back!r}")
    return Check(True, "store", f"{url}: wrote and read back a health record")


def check_secrets(settings: Settings) -> Iterator[Check]:
    for name in SECRET_FIELDS:
        value = getattr(settings, name)
        if not value:
            continue
        where = "Secret Manager" if is_secret_reference(value) else "the environment"
        try:
            resolved = settings.secret(name)
        except SecretError as error:
            yield Check(False, name.upper(), str(error))
            continue
        if resolved:
            yield Check(True, name.upper(), f"set, from {where}")
        else:
            yield Check(False, name.upper(), f"empty in {where}: give it a value")


def check_skills(settings: Settings, skills_error) -> Check:
    if skills_error is None:
        return Check(True, "skills", f"{settings.skills_file} passes its check")
    problems = getattr(skills_error, "errors", [str(skills_error)])
    first = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
    return Check(False, "skills", f"{settings.skills_file}: {first} — run `flask --app app skills check`")


def check_telegram(settings: Settings, session) -> Iterator[Check]:
    bot = tg.Telegram(settings, session, max_inline_wait=0)
    try:
        me = bot.call("getMe", {}).get("result") or {}
    except (SendFailed, SecretError) as error:
        fix = "copy the token again from @BotFather into TELEGRAM_BOT_TOKEN"
        if getattr(error, "status", 0) not in (401, 404):
            fix = "Telegram did not answer: check the network, then run this again"
        yield Check(False, "telegram token", f"{error} — fix: {fix}")
        return
    yield Check(True, "telegram token", f"the bot is @{me.get('username', '?')}")
    yield check_telegram_webhook(settings, bot)


def check_telegram_webhook(settings: Settings, bot: tg.Telegram) -> Check:
    info = bot.call("getWebhookInfo", {}).get("result") or {}
    url, pending = info.get("url", ""), info.get("pending_update_count", 0)
    setup = "run `flask --app app setup telegram`"
    if not settings.public_url.startswith("https://"):
        if url:
            return Check(False, "telegram webhook", f"set to {url} but PUBLIC_URL is not an https URL: set it")
        return Check(True, "telegram webhook", "none set (fine for `flask --app app telegram-poll`)")
    wanted_url = tg.webhook_url(settings.public_url, settings.secret("telegram_secret_token"))
    if not url:
        return Check(False, "telegram webhook", f"not set: {setup}")
    if url != wanted_url:
        return Check(False, "telegram webhook", f"points at {url}, not {wanted_url}: {setup}")
    last_error = info.get("last_error_date") or 0
    if last_error and time.time() - last_error < RECENT_ERROR_SECONDS:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(last_error))
        message = info.get("last_error_message", "")
        return Check(
            False, "telegram webhook", f"Telegram's last delivery failed at {when}: {message}; {pending} pending"
        )
    return Check(True, "telegram webhook", f"{url}, {pending} update(s) pending")


def graph_get(page: fb.Messenger, path: str, fields: str = "") -> dict:
    params = {"access_token": page.token} | ({"fields": fields} if fields else {})
    status, body = outbound.request(page.session, "GET", f"{page.graph}/{path}", params=params)
    if status != 200:
        error = fb.as_object(body.get("error"))
        raise SendFailed(f"graph {status} code={error.get('code')}: {error.get('message', '')}", False, status=status)
    return body


def check_messenger(settings: Settings, session) -> Iterator[Check]:
    page = fb.Messenger(settings, session)
    try:
        me = graph_get(page, "me", "id,name")
    except (SendFailed, SecretError) as error:
        fix = "generate a page access token for the page (Meta dashboard → Messenger → Access tokens)"
        yield Check(False, "messenger page token", f"{error} — fix: {fix}")
        return
    yield Check(True, "messenger page token", f"the page is {me.get('name', me.get('id', '?'))}")
    wanted = {"messages", "messaging_postbacks"}
    try:
        apps = graph_get(page, "me/subscribed_apps").get("data") or []
    except SendFailed as error:
        yield Check(False, "messenger subscription", f"could not read the page's subscribed apps: {error}")
        return
    fields = {field for app in apps for field in app.get("subscribed_fields", [])}
    if wanted <= fields:
        yield Check(True, "messenger subscription", "the app receives messages and messaging_postbacks")
    else:
        missing = ", ".join(sorted(wanted - fields))
        fix = "subscribe the app to the page (Meta dashboard → Messenger → Webhooks, or POST /me/subscribed_apps)"
        yield Check(False, "messenger subscription", f"not subscribed to {missing}: {fix}")
