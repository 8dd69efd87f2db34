"""The reader: a message read whole first, then as free text or by weighing what the patterns found."""

from __future__ import annotations

from chatbot.engine.conversation import Conversation
from chatbot.engine.reading.acts import Acts
from chatbot.engine.reading.answers import Answers
from chatbot.engine.reading.kinds import (
    ACKNOWLEDGE,
    ACTS,
    CHANGES,
    ESCAPES,
    SOCIAL,
    Reading,
)
from chatbot.engine.reading.patterns import first_pattern, mention, patterns
from chatbot.engine.skills import Skills
from chatbot.engine.types import Update


def read(update: Update, conv: Conversation, skills: Skills, locale: str, text: str) -> Reading:
    """What the typed ``text`` means in this conversation (``locale``: the language it is read in first)."""
    return Reader(conv, skills, locale, text).read()


class Reader(Acts, Answers):
    """One message, read."""

    def read(self) -> Reading:
        sure = self.whole(self.text)
        if sure is not None:
            return self.more(sure)
        reading = self.free_text() if self.capture else self.weigh()
        return self.more(reading)

    def free_text(self) -> Reading:
        """The answer to a question that takes any text (a suggestion, hours a week), unless the
        message plainly asks for something else: it opens with the state's own words ("no
        thanks, changed my mind"), or another intent reads it as a request or a question
        ("actually just show me the catalog", "can we do sql instead")."""
        if not self.says_an_amount():
            first = self.clause_reading(self.said.clauses[0]) if len(self.said.clauses) > 1 else None
            if first is not None and first.intent not in CHANGES | SOCIAL and not first.args:
                return first  # "no thanks, changed my mind"; not "data science, for beginners"
            other = first_pattern(self.skills, self.state_name, self.locale, self.text, self.core, False)
            # A request, or the same answer with its subject read ("estaría bien tener algo de X");
            # a change only asked for outright ("can I change the level to advanced"); not any
            # words taken as a topic ("do you have knitting?" suggests it).
            request = other and self.is_request() and "topic" not in other.args
            asks = other and ((other.whole and not other.args) or request or list(other.args) == ["text"])
            acts = other and other.intent in ACTS and not request  # "later": not a snooze of nothing
            if other and other.intent in ESCAPES and self.escapes(other):
                return Reading(other.intent, other.args)
            if other and asks and not acts and (other.intent not in CHANGES or self.clear(other, self.absolute(other))):
                return Reading(other.intent, other.args)
            if self.no_answer():
                return self.fallback()  # "idk", "yes", "what should I suggest?": the question again
        hit = first_pattern(self.skills, self.state_name, self.locale, self.text, self.core, True)
        if hit:
            return Reading(hit.intent, hit.args)
        return Reading(self.state["on_text"], {"text": self.text}) if self.state.get("on_text") else self.fallback()

    def escapes(self, hit) -> bool:
        """Whether a way out of the question is said plainly: a person named ("a human please"), or
        a "never mind" said clearly ("oops, I didn't mean to press that")."""
        if hit.intent == "human":
            return self.names_a_person()
        return self.clear(hit, self.absolute(hit))

    def weigh(self) -> Reading:
        text, core, skills = self.text, self.core, self.skills
        prefix, prefix_end = self.opening_answer(text)
        if not prefix and core != text:
            prefix, prefix_end = self.opening_answer(core)
            prefix_end += len(text) - len(core)
        alias = skills.alias_hit(self.state_name, self.locale, text)
        if alias is None and core != text:
            alias = skills.alias_hit(self.state_name, self.locale, core)  # "no, never mind"
        found = [h for h in patterns(skills, self.state_name, self.locale, text, core, False, self.bare) if self.may(h)]
        hits, opposite = self.unnegated(found)
        hits = self.widest_first(hits)
        hit = hits[0] if hits else None
        if hit and hit.intent in ACKNOWLEDGE and prefix:
            hit = None  # "yes thanks", "sí, déjalo": the answer to the question on screen
        if hit and hit.intent in ACKNOWLEDGE and hit.intent != "cancel" and self.state.get("on_text"):
            hit = None  # "ok" to a question it does not answer: the question again
        topic = self.topic(hit) if hit else None
        if topic is not None:
            return topic
        if alias:
            return self.answer_inside(alias, hit)
        if hit:
            return self.pattern_reading(hit, hits, prefix, prefix_end)
        if opposite is not None:
            return opposite
        if prefix:
            return self.short_answer(prefix)
        for other in (self.clause_choice(), self.reminder_answer(), self.new_pace()):
            if other is not None:
                return other
        named = mention(skills, self.state_name, self.locale, text, core)
        return named or self.social_opening() or self.state_text(cues=True)
