"""The platforms' own word on the bot, asked by the scheduled job, and the owner told of a change once.

At most every CHECK_EVERY seconds, however often the job runs and on however many instances, one
run claims the check in the store and asks each channel's ``diagnose``: the very checks `flask
doctor` prints, so the two cannot disagree. One document (``alerts:platforms``) holds the time of
the last check, the problems open and the notices not sent yet. A check that fails where it did not
opens a problem, and one that passes where it failed closes it; a send the platform refused the same
way (a revoked token) opens it too, without waiting for the check (``notice``). Each change is made
in one conditional write of that document, so of two runs or two instances only one sees it, and
only that one files the notice: once when the problem appears, once when it is fixed.

Notices go to the owner's Telegram chat (HANDOFF_TELEGRAM_CHAT_ID). They are taken out of the
document before they are sent and put back only when Telegram refused them, so the owner never hears
one twice (a process that dies between the two loses it: the dashboard still shows the problem).
A problem fixed before its notice went out is not told at all. Nothing told carries a secret: the
text is scrubbed like ``Check.line``, and of every secret value the service knows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from functools import partial

from chatbot.core import channels as registry
from chatbot.core import logs
from chatbot.core.copies import clone
from chatbot.core.health import Check
from chatbot.core.outbound import scrub
from chatbot.delivery.channel import Channel
from chatbot.engine.conversation import Conversation
from chatbot.engine.types import Reply, Update
from chatbot.store.base import Change, Store

KEY = "alerts:platforms"
CHECK_EVERY = 600.0  # seconds: the platforms are asked at most this often, across every instance
KEEP_NOTICES = 24 * 3600.0  # a notice Telegram would not take is tried again for a day, then dropped
MAX_NOTICES = 20
FLAP_WINDOW = 3600.0  # a problem back within this long after its fix is shown, not told again
DETAIL_LIMIT = 600
Found = list[tuple[str, list[Check]]]  # (channel name, what its checks said)
Tell = Callable[[str], None]


def claim(store: Store, now: float) -> bool:
    """Whether this run is the one to ask the platforms now (the last check was long enough ago)."""

    def step(doc: dict | None):
        last = float((doc or {}).get("checked_at") or 0.0)
        if 0 <= now - last < CHECK_EVERY:  # a time ahead of ours (a skewed clock) does not block for long
            return None, False
        return Change({**(doc or {}), "checked_at": now}), True

    return store.transact(KEY, step)


def record(
    found: Found, present: Iterable[str] | None, now: float, notify: bool, doc: dict | None
) -> tuple[Change | None, tuple[list[str], list[str]]]:
    """Open what newly fails, close what passes again (unless only ``notice``d: ``present`` is None),
    forget the problems of channels that are off; file a notice of each change when ``notify``."""
    state = clone(doc) if doc else {}
    problems: dict = state.setdefault("open", {})
    notices: list = state.setdefault("notices", [])
    fixed: dict = state.setdefault("fixed", {})  # when each problem was last fixed: a flap is not told again
    opened, closed, changed = [], [], False
    for channel, checks in found:
        for check in checks:
            if check.unsure:
                continue  # the platform did not answer: nothing is known either way
            was, detail = problems.get(check.name), scrub(check.detail)[:DETAIL_LIMIT]
            if was is None:
                if not check.ok:
                    # Failing again within the hour after its fix, in whatever words: on the dashboard at
                    # once, told no more (nor its next fix), so a check that comes and goes, or changes
                    # between troubles, is told at most twice an hour.
                    last = fixed.get(check.name) or {}
                    flapping = now - float(last.get("at", -FLAP_WINDOW)) < FLAP_WINDOW
                    problems[check.name] = {"channel": channel, "detail": detail, "since": now, "quiet": flapping}
                    opened.append(check.name)
                    if notify and not flapping:
                        notices.append(notice(check.name, channel, False, detail, now, now))
            elif not check.ok:
                if present is not None and was["detail"] != detail:
                    was["detail"], changed = detail, True  # the check's latest words (a send's may be older)
            elif present is not None:
                del problems[check.name]
                closed.append(check.name)
                if not was.get("quiet"):
                    fixed[check.name] = {"at": now}
                told = [n for n in notices if n["name"] == check.name and not n["ok"]]
                if told:  # fixed before the owner heard of it: nothing to say
                    notices.remove(told[-1])
                elif notify and not was.get("quiet"):
                    notices.append(notice(check.name, channel, True, detail, now, was["since"]))
    if present is not None:
        on = set(present)
        for name in [name for name, problem in problems.items() if problem["channel"] not in on]:
            del problems[name]  # the channel was turned off: nothing to fix there any more
            changed = True
    del notices[:-MAX_NOTICES]
    if not (opened or closed or changed):
        return None, ([], [])
    return Change(state), (opened, closed)


def notice(name: str, channel: str, ok: bool, detail: str, at: float, since: float) -> dict:
    return {"name": name, "channel": channel, "ok": ok, "detail": detail, "at": at, "since": since}


def run(
    store: Store,
    channels: Iterable[Channel],
    now: float,
    tell: Tell | None,
    secrets=(),
    where="",
    more: Callable[[], Found] | None = None,
) -> dict:
    """The scheduled job's part: ask the platforms if it is time, record what changed, tell the owner.
    ``more``: checks beyond each channel's own (the handoff inbox), by channel."""
    report: dict = {"checked": False, "opened": [], "closed": [], "told": 0}
    listed = list(channels)
    if claim(store, now):
        found: Found = []
        asks: list[Callable[[], Found]] = [partial(diagnosed, channel) for channel in listed]
        for ask in asks + ([more] if more else []):
            try:
                found += ask()
            except Exception as error:  # the platform could not be asked: its problems stay as they were
                reason = scrub(f"{type(error).__name__}: {error}")[:300]
                logs.get().warning("platform check failed", extra={"error": reason})
        step = partial(record, found, [channel.name for channel in listed], now, tell is not None)
        opened, closed = store.transact(KEY, step)
        report.update(checked=True, opened=opened, closed=closed)
    if tell is not None:
        report["told"] = tell_pending(store, tell, now, secrets, where)
    return report


def diagnosed(channel: Channel) -> Found:
    return [(channel.name, channel.diagnose())]


def notice_sent(store: Store, found: Found, now: float, notify: bool) -> list[str]:
    """What sends noticed (``Channel.noticed``): opened as problems now, closed by a later check."""
    found = [(channel, checks) for channel, checks in found if checks]
    already = (store.load(KEY) or {}).get("open") or {}  # a read, not the store's memory of its last write
    if all(check.name in already for _, checks in found for check in checks):
        return []  # every send refused since the problem opened says the same: no write
    opened, _ = store.transact(KEY, partial(record, found, None, now, notify))
    return opened


def tell_pending(store: Store, tell: Tell, now: float, secrets=(), where="") -> int:
    """Send the notices not sent yet, oldest first; how many went out."""

    def take(doc: dict | None):
        # Always a (conditional) write: a store that starts from its own last write instead of a read
        # (Firestore's) learns that way that another instance wrote since, and reads.
        return Change({**(doc or {}), "notices": []}), (doc or {}).get("notices") or []

    if not (store.load(KEY) or {}).get("notices"):  # one read a run; a write only when there is news
        return 0
    pending = [n for n in store.transact(KEY, take) if now - float(n["at"]) < KEEP_NOTICES]
    for index, item in enumerate(pending):
        try:
            tell(message(item, secrets, where))
        except Exception as error:
            reason = scrub(f"{type(error).__name__}: {error}")[:300]
            logs.get().warning("could not tell the owner, trying again next run", extra={"error": reason})
            store.transact(KEY, partial(put_back, pending[index:]))
            return index
        logs.get().info("owner told", extra={"check": item["name"], "fixed": item["ok"]})
    return len(pending)


def put_back(notices: list, doc: dict | None):
    state = dict(doc or {})
    state["notices"] = (notices + list(state.get("notices") or []))[-MAX_NOTICES:]
    return Change(state), None


def message(item: dict, secrets: Iterable[str] = (), where: str = "") -> str:
    """What the owner reads: the platform's own words, never a secret."""
    title = registry.info(item["channel"]).title if item["channel"] in registry.NAMES else item["channel"]
    if item["ok"]:
        text = (
            f"Fixed on {title}: {item['name']} (a problem since {stamp(item['since'])}, fixed by "
            f"{stamp(item['at'])}).\nNow: {item['detail']}"
        )
    else:
        text = (
            f"The bot has a problem on {title}: {item['name']}, noticed {stamp(item['at'])}.\n{item['detail']}\n"
            "You will get one more message when it is fixed."
        )
    if where:
        text += f"\nDashboard: {where}"
    return clean(text, secrets)


def clean(text: str, secrets: Iterable[str]) -> str:
    text = scrub(text)  # tokens in URLs, as Check.line; then any secret value the service knows
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "<secret>")
    return text


def stamp(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(float(at)))


def owner_chat(channel: Channel, chat_id: str) -> Tell:
    """Telling the owner: a plain message to their chat, through the channel like any reply."""
    conv = Conversation(key=f"{channel.name}:{chat_id}")
    update = Update(channel=channel.name, user_id=chat_id, event_id="owner-notice", from_bot=True)

    def tell(text: str) -> None:
        for item in channel.render([Reply(text=text)], conv, update, lambda payload: payload):
            channel.send(item)

    return tell


def state(store: Store) -> dict:
    """The open problems and when the platforms were last asked, for the dashboard."""
    doc = store.load(KEY) or {}
    problems = [{"name": name, **problem} for name, problem in (doc.get("open") or {}).items()]
    return {"checked_at": doc.get("checked_at"), "open": sorted(problems, key=lambda p: p["since"])}


def setting_check(chat_id: str, bot_token: str) -> Check:
    """Whether the owner will be told, for doctor."""
    if not chat_id:
        detail = "shown on the dashboard only: set HANDOFF_TELEGRAM_CHAT_ID to your Telegram chat to be told there"
        return Check(True, "alerts", detail)
    if not re.fullmatch(r"-?\d{1,20}", chat_id):
        detail = f"HANDOFF_TELEGRAM_CHAT_ID={chat_id!r} is not a chat id: a supergroup's is a number, -100..."
        return Check(False, "alerts", detail)
    if not bot_token:
        detail = "HANDOFF_TELEGRAM_CHAT_ID is set but TELEGRAM_BOT_TOKEN is not: the Telegram bot is who tells you"
        return Check(False, "alerts", detail)
    detail = (
        f"a problem a platform reports is told once to the Telegram chat {chat_id}, and once more when it "
        "is fixed (the bot must be a member of that chat)"
    )
    return Check(True, "alerts", detail)
