"""The reader: a message read whole first, then as free text or by weighing what the patterns found."""

from __future__ import annotations

from chatbot.engine import understand
from chatbot.engine.also_said import SUBJECTS
from chatbot.engine.conversation import Conversation
from chatbot.engine.reading.acts import Acts
from chatbot.engine.reading.answers import Answers
from chatbot.engine.reading.kinds import (
    ACKNOWLEDGE,
    ACTS,
    ASKED_BY,
    CHANGES,
    ESCAPES,
    GENERIC,
    LANGUAGE,
    ON_A_STEP,
    PICKS,
    SOCIAL,
    SUGGESTS,
    Reading,
)
from chatbot.engine.reading.patterns import ask, mention, patterns
from chatbot.engine.skills import Hit, Skills
from chatbot.engine.types import Update


def read(update: Update, conv: Conversation, skills: Skills, locale: str, text: str) -> Reading:
    """What the typed ``text`` means in this conversation (``locale``: the language it is read in first)."""
    return Reader(conv, skills, locale, text).read()


# Acts that a text given as an answer may be read as without casting doubt on it: a language's name
# ("Italian language" is a suggestion), and the suggestion itself.
MISTAKE_WORDS = 4  # words at the start of a message that may say it came by mistake
NOT_DOUBTS = LANGUAGE | {"choose_language"} | set(SUGGESTS) | set(SUGGESTS.values())


class Reader(Acts, Answers):
    """One message, read."""

    def read(self) -> Reading:
        torn = self.torn_answer()
        if torn is not None:
            return torn
        if self.let_go():
            return self.fallback()  # "skip? nah i'll do it": nothing to do; what the screen offers, again
        sure = self.whole(self.text)
        if sure is not None:
            return self.more(sure)
        reading = self.free_text() if self.capture else self.weigh()
        return self.more(reading)

    def hits(self) -> list[Hit]:
        """What skills.json's patterns read in the whole message, read once (let_go, then weigh)."""
        if self.found is None:
            self.found = patterns(self.skills, self.state_name, self.locale, self.text, self.core, False, self.bare)
        return self.found

    def let_go(self) -> bool:
        """Whether every act the message says is let go in it ("too easy but I'll do it anyway")."""
        said = [(self.absolute(h), h.span, h.intent) for h in self.hits() if h.intent in ACTS]
        if len(self.said.clauses) > 1:  # "skip? nah i'll do it": the Skip button said as a clause
            for start, end in self.said.clauses:
                reading = self.clause_reading((start, end))
                if reading is not None and reading.intent in ACTS:
                    said.append((start, end - start, reading.intent))
        return bool(said) and all(self.let_go_at(*act) for act in said)

    def free_text(self) -> Reading:
        """The answer to a question that takes any text (a suggestion, hours a week), unless the
        message plainly asks for something else: it opens with the state's own words ("no
        thanks, changed my mind"), or another intent reads it as a request or a question
        ("actually just show me the catalog", "can we do sql instead")."""
        if self.state.get("on_text") in SUBJECTS and self.by_mistake():
            return self.mistaken()
        one_word = len(understand.words(self.said.folded)) == 1  # "cancer research" is a suggestion
        slip = self.slip_of_a_choice() if self.state.get("on_text") in SUBJECTS and one_word else ""
        if slip:
            return ask(self.skills, [slip])  # "cancle" at "Which skill should I add?": Cancel?
        if not self.says_an_amount():
            first = self.clause_reading(self.said.clauses[0]) if len(self.said.clauses) > 1 else None
            if first is not None and first.intent in SUGGESTS.values() and self.state.get("on_text"):
                rest = self.text[self.said.clauses[1][0] :]  # "I have an idea: cooking"
                return Reading(self.state["on_text"], {"text": rest})
            if first is not None and first.intent == "cancel":
                first = self.instead() or first  # "never mind, show me what you already have"
            if first is not None and first.intent not in CHANGES | SOCIAL and not first.args:
                return first  # "no thanks, changed my mind"; not "data science, for beginners"
            other = self.pattern_here()
            # A request, or the same answer with its subject read ("estaría bien tener algo de X");
            # a change only asked for outright ("can I change the level to advanced"); not any
            # words taken as a topic ("do you have knitting?" suggests it).
            request = other and self.is_request() and "topic" not in other.args
            if (
                other is not None
                and request
                and other.intent in GENERIC
                and not self.clear(other, self.absolute(other))
            ):
                # "what about a course on negotiation skills?", "can I just pick one from the list":
                # a wish to browse, or words of the answer?
                return ask(self.skills, [self.payload_of(other.intent, {})])
            asks = other and ((other.whole and not other.args) or request or list(other.args) == ["text"])
            acts = other and other.intent in ACTS and not request  # "later": not a snooze of nothing
            if other and other.intent in ESCAPES and self.escapes(other):
                return Reading(other.intent, other.args)
            if other and asks and not acts and (other.intent not in CHANGES or self.clear(other, self.absolute(other))):
                return Reading(other.intent, other.args)
            if self.no_answer():
                return self.fallback()  # "idk", "yes", "what should I suggest?": the question again
        hit = self.pattern_here(capture=True)
        if hit:
            return Reading(hit.intent, hit.args)
        if not self.state.get("on_text"):
            return self.fallback()
        return self.doubted_text() or Reading(self.state["on_text"], {"text": self.text})

    def doubted_text(self) -> Reading | None:
        """The question, when another act is read in the text it would take as the answer ("y esto
        cómo va? ayuda", "actually I'll just learn python" at a suggestion): its buttons are that
        act and "neither". A language's name is no sign ("Italian language" is a suggestion)."""
        if self.says_an_amount():
            return None
        other = self.pattern_here()
        if not other or other.intent in NOT_DOUBTS:
            return self.not_a_subject()
        if other.intent in PICKS and (other.whole or not other.args.get("skill")):
            return self.not_a_subject()  # "kubernetes": a name said whole is what the question asks for
        asks = self.is_request() or "?" in self.text
        if other.intent in GENERIC and not (asks and self.clear(other, self.absolute(other))):
            return self.not_a_subject()  # "help desk skills", "a course on negotiation skills?"
        offer = self.payload_of(other.intent, other.args if other.intent in PICKS else {})
        return ask(self.skills, [offer]) if offer else self.not_a_subject()

    def answer_said(self, hit: Hit, hits: list[Hit]) -> Reading:
        """ "yes, drop it" at "Drop Git?": its yes, unless another clause answers otherwise ("yeah
        drop it, no time for it": a yes and a no) or another act is said beside it ("rather start
        it over than drop it"): then asked."""
        choice = self.clause_choice()
        if choice is not None:
            return choice
        answer = self.same_reading(hit)
        others = [self.payload_of(h.intent, h.args) for h in hits if h.intent != hit.intent]
        if any(others):
            return ask(self.skills, [answer.payload or self.payload_of(hit.intent, hit.args), *others])
        return answer

    def pattern_here(self, capture: bool = False) -> Hit | None:
        """The first intent the patterns read that can mean what it reads here (``may``)."""
        found = patterns(self.skills, self.state_name, self.locale, self.text, self.core, capture)
        return next((hit for hit in found if self.may(hit)), None)

    def by_mistake(self) -> bool:
        """Whether the message opens by saying the question came by mistake ("oops", "I meant to",
        "me equivoqué de botón"): within its first words."""
        head = " ".join(understand.words(self.said.folded)[:MISTAKE_WORDS])
        return any(understand.says(head, bare) for bare in self.bare_meaning("mistake"))

    def mistaken(self) -> Reading:
        """The question came by mistake: what the rest of the message asks for ("oops, I meant to
        see the skills list"), else the question let go. Never a change read from it."""
        other = self.pattern_here()
        if other is not None and other.intent not in NOT_DOUBTS | CHANGES:
            return Reading(other.intent, other.args)
        return Reading("cancel")

    def not_a_subject(self) -> Reading | None:
        """The question again, when a question that asks what something is about gets words to the
        bot instead ("I'll think about it", "what was my last assignment", "lol")."""
        if self.state.get("on_text") in SUBJECTS and not self.names_a_subject():
            return self.fallback()
        return None

    def instead(self) -> Reading | None:
        """What a later clause asks for in place of the question a "never mind" leaves: a request
        read whole, not another never mind, courtesy or change."""
        for span in self.said.clauses[1:]:
            found = self.clause_reading(span)
            if found is not None and found.intent not in CHANGES | SOCIAL | {"cancel"}:
                return found
        return None

    def escapes(self, hit) -> bool:
        """Whether a way out of the question is said plainly: a person named ("a human please"), or
        a "never mind" said clearly ("oops, I didn't mean to press that")."""
        if hit.intent == "human":
            return self.names_a_person()
        return self.clear(hit, self.absolute(hit))

    def weigh(self) -> Reading:
        text, core, skills = self.text, self.core, self.skills
        if self.by_mistake():  # "oops wrong one, I meant pandas": the skill meant
            meant = mention(skills, self.state_name, self.locale, text, core)
            if meant is not None:
                return meant
        prefix, prefix_end = self.opening_answer(text)
        if not prefix and core != text:
            prefix, prefix_end = self.opening_answer(core)
            prefix_end += len(text) - len(core)
        alias = skills.alias_hit(self.state_name, self.locale, text)
        if alias is None and core != text:
            alias = skills.alias_hit(self.state_name, self.locale, core)  # "no, never mind"
        found = [h for h in self.hits() if self.may(h)]
        hits, opposite = self.unnegated(found)
        if opposite is None and any(self.asked_by(h) for h in found if h not in hits):
            opposite = self.keep_reading()  # "please don't drop it" at "Drop Git?": its no
        hits = self.widest_first([self.as_answer(h) for h in hits])
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
        if hit and hit.intent in ASKED_BY.values():
            return self.answer_said(hit, hits)
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
        denied = any(h not in hits and h.intent in ON_A_STEP for h in found)  # "not done yet": no Done button
        return named or self.social_opening() or self.state_text(cues=not denied)
