"""`flask --app app doctor`: the configuration checked the way the running service uses it.

One line per check, ``OK`` or ``FAIL`` with the fix. Nothing here prints a
secret: lines are built from names, statuses and the platforms' own error
descriptions, each scrubbed of anything that looks like a token.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from chatbot.core.health import Check
from chatbot.core.settings import SECRET_FIELDS, SecretError, Settings, is_secret_reference
from chatbot.delivery import hours
from chatbot.delivery.channel import Channel, Forums
from chatbot.owner import alerts
from chatbot.store.base import Change, Store

HEALTH_KEY = "doctor:health"  # the small record the store check writes and reads back


def check_all(
    settings: Settings,
    store: Store | None,
    store_error,
    skills_error,
    channels: Iterable[Channel] = (),
    forums: Forums | None = None,
) -> list[Check]:
    """The store, every secret, skills.json, the tasks' callers, who hears of a problem, who answers
    when a learner asks for a person (``forums``: the owner's Telegram chat), and what each platform
    says (the very checks the scheduled job tells the owner about: alerts.py)."""
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
    checks.append(alerts.setting_check(settings.handoff_telegram_chat_id, settings.telegram_bot_token))
    checks += handoff_checks(settings, forums)
    for name, missing in settings.half_configured().items():
        checks.append(Check(False, name, f"half configured: set {', '.join(missing)} (or unset the rest)"))
    for channel in channels:
        checks += channel.diagnose()
    return checks


# How to make the inbox of conversations handed to a person: `flask setup telegram` prints it when it is missing.
HOW_TO_INBOX = """A person behind the bot: the inbox is a Telegram group with topics, a topic per learner.
  1. In Telegram, make a new group with the people who will answer, and add this bot to it.
  2. In the group's settings turn Topics on (the group becomes a supergroup).
  3. Make the bot an admin of the group with the right to Manage topics.
  4. Set HANDOFF_TELEGRAM_CHAT_ID to the group's id: open the group in Telegram Web
     (web.telegram.org/a): the address ends in #-100..., and that number is the id.
  5. Run `flask --app app doctor`: the handoff inbox check says whether Telegram agrees."""


def handoff_checks(settings: Settings, forums: Forums | None) -> list[Check]:
    """Who answers a learner who asks for a person, and whether they can: the owner's Telegram forum
    (getChat, getChatMember), Messenger's Page Inbox, the office hours."""
    checks = []
    mode = settings.handoff_messenger.strip().lower()
    if mode not in ("", "inbox"):
        checks.append(Check(False, "handoff messenger", f"HANDOFF_MESSENGER={mode!r}: leave it empty or set inbox"))
    elif mode == "inbox":
        on = settings.enabled("messenger")
        detail = (
            "Messenger learners go to the Page Inbox (Meta Business Suite): make this app the page's primary "
            "receiver and the Page Inbox a secondary one, and subscribe it to messaging_handovers"
        )
        checks.append(Check(on, "handoff messenger", detail if on else "HANDOFF_MESSENGER=inbox, but Messenger is off"))
    try:
        office = hours.parse(settings.handoff_hours)
        if office is not None:
            checks.append(Check(True, "handoff hours", f"a person answers {office.describe()}; learners are told when"))
    except ValueError as error:
        checks.append(Check(False, "handoff hours", str(error)))
    chat = settings.handoff_telegram_chat_id
    if not chat:
        if mode != "inbox":
            detail = "nobody: a learner who asks for a person is told so. Set HANDOFF_TELEGRAM_CHAT_ID (docs/owner.md)"
            checks.append(Check(True, "handoff inbox", detail))
        return checks
    if forums is None:
        return [*checks, Check(False, "handoff inbox", "HANDOFF_TELEGRAM_CHAT_ID needs TELEGRAM_BOT_TOKEN")]
    return checks + forums.inbox_checks(chat)


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
        # The store's own message may carry the same hint: the fix is said once, here.
        reason = str(error).split(" (")[0][:200] or type(error).__name__
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
