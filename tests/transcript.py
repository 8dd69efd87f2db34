"""Drive one simulated user through a channel and read back what they saw, channel-neutrally.

Each platform's recorded calls are reduced to the same atoms: ``text``, ``card``
(title | subtitle [image]), ``tap`` (a button that sends a payload) and ``link``
(a button that opens a URL), in the order a person sees them. The same journey
must read the same on every channel.
"""

from __future__ import annotations

import html
import re
from pathlib import PurePosixPath

from payloads import fb_body, fb_postback, fb_quick_reply, fb_text, post_fb, post_tg, tg_callback, tg_message


def image_name(url: str) -> str:
    return f" [{PurePosixPath(url).name}]" if url else ""


class User:
    """Common part: remembers the taps of the last answer so a test can press one by title."""

    def __init__(self) -> None:
        self.taps: list[tuple[str, str, str, str]] = []  # (title, card title, kind, payload)
        self.statuses: list[int] = []

    def tap(self, title: str, card: str | None = None) -> list[str]:
        for tap_title, tap_card, kind, payload in reversed(self.taps):
            if tap_title == title and (card is None or tap_card == card):
                return self.press(tap_title, kind, payload)
        raise AssertionError(f"no button {title!r} (card {card!r}) in the last answer: {[t[0] for t in self.taps]}")

    def record(self, atoms: list[tuple]) -> list[str]:
        """Lines from atoms: ("text", s), ("card", title, subtitle, image),
        ("tap", title, kind, payload) or ("link", title, url)."""
        lines, self.taps, card = [], [], ""
        for atom in atoms:
            if atom[0] == "text":
                lines.append(f"text: {atom[1]}")
                card = ""
            elif atom[0] == "card":
                card = atom[1]
                lines.append(f"card: {atom[1]} | {atom[2]}{image_name(atom[3])}")
            elif atom[0] == "tap":
                lines.append(f"  tap: {atom[1]}")
                self.taps.append((atom[1], card, atom[2], atom[3]))
            elif atom[0] == "link":
                lines.append(f"  link: {atom[1]} -> {atom[2]}")
        return lines


class MessengerUser(User):
    def __init__(self, client, graph, psid: str) -> None:
        super().__init__()
        self.client, self.graph, self.psid = client, graph, psid

    def _post(self, event: dict) -> list[str]:
        before = len(self.graph.messages(self.psid))
        self.statuses.append(post_fb(self.client, fb_body(event)).status_code)
        return self.record(self.atoms(self.graph.messages(self.psid)[before:]))

    def start(self) -> list[str]:
        return self._post(fb_postback(self.psid, "Get Started", "GET_STARTED"))

    def say(self, text: str, event_id: str | None = None) -> list[str]:
        return self._post(fb_text(self.psid, text, mid=event_id))

    def press(self, title: str, kind: str, payload: str) -> list[str]:
        event = fb_quick_reply(self.psid, title, payload) if kind == "quick" else fb_postback(self.psid, title, payload)
        return self._post(event)

    @staticmethod
    def button_atom(button: dict) -> tuple:
        if button["type"] == "web_url":
            return ("link", button["title"], button["url"])
        return ("tap", button["title"], "postback", button["payload"])

    def atoms(self, bodies: list[dict]) -> list[tuple]:
        atoms: list[tuple] = []
        for body in bodies:
            message = body["message"]
            if "text" in message:
                atoms.append(("text", message["text"]))
            payload = message.get("attachment", {}).get("payload", {})
            if payload.get("template_type") == "button":
                atoms.append(("text", payload["text"]))
                atoms += [self.button_atom(b) for b in payload["buttons"]]
            for element in payload.get("elements", []):
                atoms.append(("card", element["title"], element.get("subtitle", ""), element.get("image_url", "")))
                atoms += [self.button_atom(b) for b in element.get("buttons", [])]
            atoms += [("tap", q["title"], "quick", q["payload"]) for q in message.get("quick_replies", [])]
        return atoms


class TelegramUser(User):
    def __init__(self, client, telegram, user_id: int, **profile) -> None:
        super().__init__()
        self.client, self.telegram, self.user_id, self.profile = client, telegram, user_id, profile

    def _post(self, update: dict) -> list[str]:
        before = len(self.telegram.calls)
        self.statuses.append(post_tg(self.client, update).status_code)
        calls = [(c.path.rsplit("/", 1)[-1], c.body) for c in self.telegram.calls[before:]]
        return self.record(self.atoms(calls))

    def start(self) -> list[str]:
        return self._post(tg_message(self.user_id, "/start", **self.profile))

    def say(self, text: str, event_id: str | None = None) -> list[str]:
        update_id = int(event_id) if event_id else None
        return self._post(tg_message(self.user_id, text, update_id=update_id, **self.profile))

    def press(self, title: str, kind: str, payload: str) -> list[str]:
        return self._post(tg_callback(self.user_id, payload, **self.profile))

    def atoms(self, calls: list[tuple[str, dict]]) -> list[tuple]:
        atoms: list[tuple] = []
        for method, params in calls:
            if method == "answerCallbackQuery":
                continue
            body = params.get("text") if method == "sendMessage" else params.get("caption")
            bold = re.fullmatch(r"<b>(.*?)</b>(?:\n(.*))?", body or "", re.S)
            if bold:
                atoms.append(
                    ("card", html.unescape(bold.group(1)), html.unescape(bold.group(2) or ""), params.get("photo", ""))
                )
            else:
                atoms.append(("text", html.unescape(body)))
            for row in params.get("reply_markup", {}).get("inline_keyboard", []):
                for key in row:
                    atoms.append(
                        ("link", key["text"], key["url"])
                        if "url" in key
                        else ("tap", key["text"], "callback", key["callback_data"])
                    )
        return atoms


class WebUser(User):
    def __init__(self, client, user_id: str, first_name: str = "", headers: dict | None = None) -> None:
        super().__init__()
        self.client, self.user_id, self.first_name, self.headers = client, user_id, first_name, headers or {}

    def _post(self, message: dict) -> list[str]:
        body = {"user_id": self.user_id, "first_name": self.first_name, **message}
        response = self.client.post("/api/chat", json=body, headers=self.headers)
        self.statuses.append(response.status_code)
        return self.record(self.atoms(response.get_json()["replies"]))

    def start(self) -> list[str]:
        return self._post({"payload": "GET_STARTED"})

    def say(self, text: str, event_id: str | None = None) -> list[str]:
        return self._post({"text": text, **({"message_id": event_id} if event_id else {})})

    def press(self, title: str, kind: str, payload: str) -> list[str]:
        return self._post({"payload": payload})

    @staticmethod
    def button_atom(button: dict) -> tuple:
        return (
            ("link", button["title"], button["url"])
            if "url" in button
            else ("tap", button["title"], "payload", button["payload"])
        )

    def atoms(self, replies: list[dict]) -> list[tuple]:
        atoms: list[tuple] = []
        for reply in replies:
            if reply["text"]:
                atoms.append(("text", reply["text"]))
            atoms += [self.button_atom(b) for b in reply["buttons"]]
            for card in reply["cards"]:
                atoms.append(("card", card["title"], card["subtitle"], card["image_url"]))
                atoms += [self.button_atom(b) for b in card["buttons"]]
            atoms += [self.button_atom(b) for b in reply["quick_replies"]]
        return atoms


def mentor_journey(user: User) -> list[str]:
    """The whole journey, step by step; returns the transcript."""
    steps = [
        ("start", lambda: user.start()),
        ("tap Browse skills", lambda: user.tap("Browse skills")),
        ("tap More skills", lambda: user.tap("More skills")),
        ("tap Learn this on The command line", lambda: user.tap("Learn this", card="The command line")),
        ("say: I know a bit, intermediate", lambda: user.say("I know a bit, intermediate")),
        ("tap 3–5 h", lambda: user.tap("3–5 h")),
        ("tap Yes, remind me", lambda: user.tap("Yes, remind me")),
        ("say: 18:30", lambda: user.say("18:30")),
        ("tap Evenings, 19:00", lambda: user.tap("Evenings, 19:00")),
        ("tap Every 2 days", lambda: user.tap("Every 2 days")),
        ("say: next", lambda: user.say("next")),
        ("tap Done ✓", lambda: user.tap("Done ✓")),
        ("tap My skills", lambda: user.tap("My skills")),
        ("tap Next assignment", lambda: user.tap("Next assignment")),
        ("tap Done ✓", lambda: user.tap("Done ✓")),
        ("say: done", lambda: user.say("done")),
        ("tap Done ✓", lambda: user.tap("Done ✓")),
        ("tap Start again", lambda: user.tap("Start again")),
        ("tap My skills", lambda: user.tap("My skills")),
        ("tap Drop it", lambda: user.tap("Drop it")),
        ("tap Yes, drop it", lambda: user.tap("Yes, drop it")),
        ("tap Undo", lambda: user.tap("Undo")),
        ("say: too hard", lambda: user.say("too hard")),
        ("say: stop reminders", lambda: user.say("stop reminders")),
        ("tap Menu", lambda: user.tap("Menu")),
        ("tap Suggest a skill", lambda: user.tap("Suggest a skill")),
        ("say: Public speaking for engineers", lambda: user.say("Public speaking for engineers")),
        ("say: what's the weather like?", lambda: user.say("what's the weather like?")),
        ("say: language", lambda: user.say("language")),
        ("tap Español", lambda: user.tap("Español")),
        ("say: mis habilidades", lambda: user.say("mis habilidades")),
        ("tap Ayuda", lambda: user.tap("Ayuda")),
    ]
    transcript = []
    for label, action in steps:
        transcript.append(f"> {label}")
        transcript += action()
    return transcript


UNNAMED = "text: Hi there! "
WINDOW_LINE = "text: One thing about Messenger"  # said once, to Messenger users only


def as_golden(transcript: list[str], channel: str, name: str = "Ana") -> tuple[list[str], list[str]]:
    """(the transcript as the golden file reads it, the lines only Messenger says).

    On Messenger the very first greeting goes out before the profile lookup answers, so it says
    "there"; from the next message on the name is known. The window note is Messenger's alone."""
    window = [line for line in transcript if line.startswith(WINDOW_LINE)]
    lines = [line for line in transcript if not line.startswith(WINDOW_LINE)]
    if channel == "messenger":
        first = next((i for i, line in enumerate(lines) if line.startswith("text: ")), None)
        if first is not None and lines[first].startswith(UNNAMED):
            lines[first] = f"text: Hi {name}! " + lines[first][len(UNNAMED) :]
    return lines, window


def person_on(channel: str, app, graph, telegram, psid: str, telegram_id: int, web_id: str, store=None) -> User:
    """Ana on ``channel``, talking to ``app`` through its real routes; ``key`` names her conversation
    in ``store`` (the one the app was given)."""
    client = app.test_client()
    if channel == "messenger":
        graph.profiles[psid] = {"first_name": "Ana", "locale": "en_US"}
        person: User = MessengerUser(client, graph, psid)
        person.key = f"messenger:{psid}"
    elif channel == "telegram":
        person = TelegramUser(client, telegram, telegram_id, first_name="Ana", language_code="en")
        person.key = f"telegram:{telegram_id}"
    else:
        person = WebUser(client, web_id, first_name="Ana")
        person.key = f"web:{web_id}"
    person.app, person.channel, person.store = app, channel, store
    return person
