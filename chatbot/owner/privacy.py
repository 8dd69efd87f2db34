"""The privacy page and a deletion's status page: HTML built from the settings and skills.json.

Every sentence comes from ``strings`` in skills.json, in each of its
languages; the facts in them (the store, the retention period, the channels
that are on, the owner and how to reach them) come from the settings, so the
page never claims what the service does not do.
"""

from __future__ import annotations

import html
import time
from typing import Any

from chatbot.core.settings import Settings
from chatbot.engine.skills import Skills

TRANSCRIPT_LENGTH = 50  # record.TRANSCRIPT_LENGTH: what the web page gets back after a reload
STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}"
    "h1{font-size:1.6rem}h2{font-size:1.15rem;margin-top:1.6rem}nav{margin-top:2rem;color:#555}"
)
ITEMS = ("conversation", "skills", "reminder", "suggestions", "reports", "transcript", "handoff")


def pick_language(skills: Skills, asked: str | None, accept: Any) -> str:
    """``?lang=`` when we speak it, else the browser's best match, else the bot's default."""
    if asked and asked.split("-")[0].lower() in skills.locales:
        return asked.split("-")[0].lower()
    if accept is not None:
        best = accept.best_match(skills.locales)  # werkzeug's Accept-Language
        if best:
            return best
    return skills.default_locale


def page(skills: Skills, lang: str, title: str, body: list[str], path: str) -> str:
    joiner = "&" if "?" in path else "?"
    others = [
        f'<a href="{path}{joiner}lang={code}" hreflang="{code}">{html.escape(skills.text(f"lang_{code}", code))}</a>'
        for code in skills.locales
        if code != lang
    ]
    nav = (
        f"<nav>{html.escape(skills.text('privacy_other_languages', lang))} {' · '.join(others)}</nav>" if others else ""
    )
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body><main><h1>{html.escape(title)}</h1>{''.join(body)}</main>{nav}</body></html>"
    )


def privacy_page(skills: Skills, settings: Settings, channels: list[str], lang: str) -> str:
    t = lambda key, **fields: html.escape(skills.text(key, lang, **fields))  # noqa: E731
    owner = settings.owner_name or skills.text("privacy_owner_unnamed", lang)
    contact = settings.owner_contact
    platforms = ", ".join(skills.text(f"privacy_channel_{name}", lang) for name in channels) or "-"
    where = "privacy_where_firestore" if settings.store_url.startswith("firestore") else "privacy_where_sqlite"
    kept = ["privacy_what_profile", "privacy_what_progress", "privacy_what_sent", "privacy_what_delivery"]
    kept_items = [f"<li>{t(key)}</li>" for key in kept]
    # What a channel adds to the page, if anything: strings named after it (privacy_what_web, ...).
    strings = skills.data["strings"][skills.default_locale]
    for name in channels:
        if f"privacy_what_{name}" in strings:
            kept_items.append(f"<li>{t(f'privacy_what_{name}', transcript=TRANSCRIPT_LENGTH)}</li>")
    # A person behind the bot: what they read when a learner asks for one.
    people = bool(settings.handoff_telegram_chat_id) or settings.handoff_messenger.strip().lower() == "inbox"
    if people:
        kept_items.append(f"<li>{t('privacy_what_handoff')}</li>")
    delete = [t("privacy_delete_chat")]
    delete += [t(f"privacy_delete_{name}") for name in channels if f"privacy_delete_{name}" in strings]
    if contact:
        delete.append(t("privacy_delete_owner", contact=contact))
    body = [
        f"<p>{t('privacy_intro', bot_name=skills.data['bot']['name'], owner=owner)}</p>",
        f"<h2>{t('privacy_what_title')}</h2><ul>{''.join(kept_items)}</ul><p>{t('privacy_not_kept')}</p>",
        f"<h2>{t('privacy_where_title')}</h2><p>{t(where, platforms=platforms)}</p>",
        f"<p>{t('privacy_logs')}</p>" if where == "privacy_where_firestore" else "",
        f"<h2>{t('privacy_how_long_title')}</h2><p>{t('privacy_how_long', days=settings.retention_days)}</p>",
        f"<h2>{t('privacy_who_title')}</h2><p>{t('privacy_who')}"
        + (f" {t('privacy_who_handoff')}" if people else "")
        + "</p>",
        f"<h2>{t('privacy_delete_title')}</h2><ul>{''.join(f'<li>{line}</li>' for line in delete)}</ul>",
        f"<h2>{t('privacy_contact_title')}</h2><p>{html.escape(owner)}: "
        + (contact_link(contact) if contact else t("privacy_no_contact"))
        + "</p>",
    ]
    return page(skills, lang, skills.text("privacy_title", lang, bot_name=skills.data["bot"]["name"]), body, "/privacy")


def contact_link(contact: str) -> str:
    if contact.startswith(("https://", "http://")):
        href = contact
    elif "@" in contact and " " not in contact:
        href = "mailto:" + contact
    else:
        return html.escape(contact)
    return f'<a href="{html.escape(href, quote=True)}">{html.escape(contact)}</a>'


def deletion_page(skills: Skills, receipt: dict | None, code: str, retention_days: int, lang: str) -> str:
    """What a deletion removed and when; ``receipt`` None: no such code (or it expired)."""
    t = lambda key, **fields: html.escape(skills.text(key, lang, **fields))  # noqa: E731
    body = [f"<p>{t('deletion_code', code=code)}</p>"]
    if receipt is None:
        body.append(f"<p>{t('deletion_unknown', days=retention_days)}</p>")
    else:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(float(receipt.get("created_at", 0))))
        body.append(f"<p>{t('deletion_when', date=when)}</p>")
        deleted = receipt.get("deleted") or {}
        items = [f"<li>{t(f'deletion_item_{name}', count=deleted[name])}</li>" for name in ITEMS if deleted.get(name)]
        if items:
            body.append(f"<p>{t('deletion_deleted')}</p><ul>{''.join(items)}</ul>")
        else:
            body.append(f"<p>{t('deletion_nothing')}</p>")
        if receipt.get("note"):
            body.append(f"<p>{t('deletion_not_matched', reason=receipt['note'])}</p>")
    return page(skills, lang, skills.text("deletion_title", lang), body, f"/deletion?id={html.escape(code)}")
