"""Answers to the question on screen found inside a longer message, and a time or how often said when
reminders were offered."""

from __future__ import annotations

import jellyfish

from chatbot.engine import phrasing, understand
from chatbot.engine.reading.clauses import Clauses
from chatbot.engine.reading.kinds import (
    ACTS,
    CHANGES,
    CLARIFY,
    SHORT_ANSWER,
    Reading,
)
from chatbot.engine.reading.patterns import ask, payload_reading
from chatbot.engine.skills import Hit

SLIP_TITLE = 6  # letters of a button's title, and of a word, for a slip of the keyboard between them


class Answers(Clauses):
    """Answers to the question on screen found inside a longer message, and a time or how often said when"""

    def answer_inside(self, alias: Hit, hit: Hit | None) -> Reading:
        """The state's own words found inside a longer message: the answer to the question asked,
        unless the message plainly asks for something else ("my english is not good, ¿puedes
        hablar en español?"), its clause is a whole reading of its own ("never mind, I don't
        want this"), or it asks about the answer rather than giving it ("what does intermediate
        mean?": asked, with the answer as a button)."""
        answers = self.answers_said(alias)
        explained = self.explained(self.absolute(alias), alias.intent, own_only=True)
        doubts = explained is not None and explained.intent == CLARIFY  # its own answers, asked: not a reading
        if explained is not None and not doubts and not (len(answers) > 1 and explained.payload in answers):
            return explained  # a clause that reads whole as something else ("¿puedes hablar en español?")
        negations = self.meanings.get("negation", [])
        itself = {understand.trim(n) for n in negations} & set(understand.words(alias.folded[alias.start : alias.end]))
        if not itself and phrasing.negated(self.said, self.absolute(alias), negations):
            return self.state_text()  # "not very good": not the answer it names ("no sé nada" is one)
        meant = answers[0] if answers else alias.intent  # the wider answer ("maintain a few libraries")
        longer = hit is not None and hit.intent not in CHANGES and hit.span > alias.span
        asks = hit is not None and longer and (hit.intent not in ACTS or self.asks_in_clause(self.absolute(hit)))
        elsewhere = hit is not None and self.said.clause_of(self.absolute(hit)) != self.said.clause_of(
            self.absolute(alias)
        )
        if hit is not None and asks and (elsewhere or len(answers) < 2):  # "..., ¿puedes hablar en español?"
            return Reading(hit.intent, hit.args)
        if len(answers) > 1:  # "beginner or intermediate", "intermediate? maybe advanced": which?
            return ask(self.skills, answers)
        if phrasing.is_question(self.said) or self.asks_what() or self.unsure(alias):
            return ask(self.skills, [meant])  # "what does intermediate mean?", "ni idea la verdad"
        return payload_reading(self.skills, meant)

    def asks_what(self) -> bool:
        """Whether the message opens by asking what something is or means ("what does intermediate
        even mean", "que significa intermedio"), with or without a question mark."""
        return bool(phrasing.opens_with(self.said.folded, self.meanings.get("asks_what", [])))

    def reminder_answer(self) -> Reading | None:
        """Reminders offered, or their settings on screen, and the message says only a time or how
        often ("at seven pm", "once a week is enough", "todos los días", "every 3 days"): that time,
        or that often."""
        intents = [(self.skills.match_payload(c.get("payload", "")) or ("",))[0] for c in self.choices]
        said = understand.words(understand.fold(self.bare))  # "every 3 days would suit me better"
        offered = {"remind_on", "remind_every", "remind_at"} & set(intents)  # the offer, or the settings
        if not offered or len(said) > SHORT_ANSWER or not self.only_when(said):
            return None
        refined = self.more(Reading("remind_on"))
        return refined if refined.intent != "remind_on" else None

    def new_pace(self) -> Reading | None:
        """A skill under way, no question asked, and the message says hours a week and little else
        ("10 hours a week", "6 hours for git"): asked whether that is the skill's new pace."""
        if not self.conv.progress or self.state:
            return None
        said = understand.words(self.said.folded)
        hours = self.hours_said()
        if len(said) > 2 * SHORT_ANSWER or not hours:
            return None  # the words of the amount aside, little else: only_when() below
        named = [k for k in self.skills.skills_named(self.said.folded) if k in self.conv.progress]
        names = {w for name in self.skills.entities.get("skill", {}) for w in understand.words(name)}
        if not self.only_when([w for w in said if w not in names]):
            return None
        args = {"hours": hours, **({"skill": named[0]} if named else {})}
        return ask(self.skills, [self.payload_of("change_pace", args)])

    def state_text(self, cues: bool = False) -> Reading:
        """The state's free text; with no state, the fallback, or (``cues``) a question with the acts
        the message's words give signs of as buttons ("this app is so confusing": Help?)."""
        on_text = self.state.get("on_text")
        slip = self.slip_of_a_choice() if on_text else ""
        if slip:
            return ask(self.skills, [slip])  # "biginer", "prinsipiante", "inner mediate": that one?
        if on_text:
            return Reading(on_text, {"text": self.text})
        offers = [self.payload_of(i, {}) for i in phrasing.cued(self.said.folded, self.meanings)] if cues else []
        return ask(self.skills, offers) if any(offers) else self.fallback()

    def slip_of_a_choice(self) -> str:
        """The button on screen whose title a word of a short message is a slip of the keyboard
        away from (two edits, with so few titles to be near), or "": asked about, never taken."""
        said = understand.words(self.said.folded)
        if not said or len(said) > SHORT_ANSWER:
            return ""
        titles = {
            word: choice["payload"]
            for choice in self.choices
            if choice.get("payload") and len(words := understand.words(understand.fold(choice.get("title", "")))) == 1
            for word in words
            if len(word) >= SLIP_TITLE
        }
        tried = [*said, *(a + b for a, b in zip(said, said[1:], strict=False))]  # "inner mediate"
        found = {titles[near] for word in tried if len(word) >= SLIP_TITLE and (near := _near_title(word, titles))}
        return found.pop() if len(found) == 1 else ""


def _near_title(word: str, titles: dict[str, str]) -> str:
    """The one title ``word`` is at most two edits from, keeping its first letter, or ""."""
    close = [t for t in titles if t[:1] == word[:1] and jellyfish.damerau_levenshtein_distance(word, t) <= 2]
    return close[0] if len(close) == 1 and close[0] != word else ""
