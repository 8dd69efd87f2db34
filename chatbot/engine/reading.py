"""What one message means, and how sure the engine is of it.

A ``Reading`` is an intent with its arguments and a confidence. Sure: a button, a command, a
button's title or short answer typed whole (or a clause of the message that is one), a pattern
of skills.json. Not sure: a skill's name said in passing ("my english is not good"), an answer
to the question on screen found inside a longer message that asks something else, an act that
changes what is kept when the message says another such act too ("I'm done with reminders"),
or says it under a negation with an opposite ("don't send me reminders"), or names it only once
a typo was corrected. A reading that is not sure never acts: the engine asks which was meant,
with the likely acts as buttons (the ``clarify`` intent).

The order: a button on screen or the state's own words, as the whole message (or past the words
that open it and ask nothing, "ok so", "could you"); in a state that takes free text, that text
unless the message plainly asks for something else; the patterns, weighed against the question
on screen, negations, the other acts the message says and the clause each is in; a short answer
the message starts with ("yes, drop it"); a clause that is a whole reading ("thanks, what's
next"); a time or how often, when reminders were offered; a skill's name anywhere; a greeting or
thanks the message opens with; the state's free text; the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chatbot.engine import also_said, amounts, phrasing, understand
from chatbot.engine.conversation import Conversation
from chatbot.engine.skills import Hit, Skills
from chatbot.engine.types import Update

# Acts that change what is kept about the person: taken only on a clear reading.
CHANGES = frozenset(
    {
        "mark_done",
        "skip_step",
        "choose_level",
        "set_level",
        "choose_hours",
        "change_pace",
        "remind_on",
        "remind_off",
        "remind_at",
        "remind_every",
        "drop_skill",
        "drop_confirmed",
        "restart_skill",
        "forget_me",
        "forget_confirmed",
    }
)
# Acts on the step on screen or the reminders that also change something: with CHANGES, the acts
# a message may say two of ("I know the basics, give me something harder"), and then is asked.
ACTS = CHANGES | {"too_hard", "too_easy", "broken_link", "snooze", "set_language"}
PICKS = frozenset({"pick_skill", "mention_skill"})
LANGUAGE = frozenset({"set_language"})  # a language's name may be a skill's too ("inglés")
ON_A_STEP = frozenset({"mark_done", "skip_step", "too_hard", "too_easy", "broken_link"})  # need a skill under way
TOGETHER = ({"remind_on", "remind_at", "remind_every"},)  # acts that say one thing between them
SOCIAL = frozenset({"thanks", "welcome"})  # said around a request, not instead of one
GENERIC = frozenset({"help", "browse"})  # read from a word that may be about a skill named beside it
# What a negation before it undoes ("I don't want to learn git", "no quiero empezar de cero").
NEGATABLE = ACTS | {"pick_skill", "mention_skill", "learn_topic", "suggest_this"}
# What an act means under a negation, when it means anything ("don't send me reminders").
OPPOSITE = {"remind_on": "remind_off", "pick_skill": "drop_skill", "mention_skill": "drop_skill"}
# Acts on a skill under way, and what they are for one that is not, when the message says that too
# ("quiero aprender python desde cero": a start, not a restart).
UNDER_WAY = {"restart_skill": "pick_skill"}
# Acts on a skill said without naming one, and what else they may mean ("start over": the menu).
NAMES_A_SKILL = {"restart_skill": ["MENU"]}
NO_ANSWER = frozenset({"yes", "unsure"})  # short answers that give no text to a question that wants one
SUGGESTS = {"suggest_this": "suggest"}  # a suggestion said in one go, and the wish to make one
# "ok thanks" or "sí, déjalo" after a question is its answer, not a thank-you or a "never mind".
ACKNOWLEDGE = frozenset({"thanks", "cancel"})
PREFIX_REST = 3  # words after a short answer that still leave it the answer ("yes, drop it")
OPENING_WORDS = 2  # words a clause may say before the act it opens with ("I really finished it")
SHORT_CLAUSE = 6  # words of a clause that is about the act it names ("the page doesn't load")
OTHER_WORDS = 3  # words a time or how often may come with ("is fine", "please")
SHORT_ANSWER = 6  # words of a message that only says a time or how often ("once a week is enough")
LAST_RESORT = "mention_skill"
CLARIFY = "clarify"  # the intent that asks which act was meant (chat.py adds its buttons)
MAX_OFFERS = 3


@dataclass
class Reading:
    intent: str
    args: dict = field(default_factory=dict)
    sure: bool = True  # False: the engine asks which act was meant (args["offers"]: their payloads)
    payload: str = ""  # the button it is, when it is one


def read(update: Update, conv: Conversation, skills: Skills, locale: str, text: str) -> Reading:
    """What the typed ``text`` means in this conversation (``locale``: the language it is read in first)."""
    return Reader(conv, skills, locale, text).read()


class Reader:
    """One message being read in one conversation: what it says, and the question on screen."""

    def __init__(self, conv: Conversation, skills: Skills, locale: str, text: str) -> None:
        self.conv, self.skills, self.locale = conv, skills, locale
        self.meanings = skills.words(locale, "meanings")
        own = skills.vocabulary(locale).get("meanings", {})
        self.text = phrasing.respell(text, own, lambda word: word in skills.names or word in skills.known_words())
        self.said = phrasing.read_said(self.text, self.meanings.get("but", []))
        self.state_name = conv.state or ""
        self.state = skills.states.get(self.state_name, {})
        self.capture = bool(self.state.get("capture_text"))
        self.core = self.opened(self.text)
        self.bare = self.closed(self.core)
        self.choices = conv.choices

    def read(self) -> Reading:
        sure = self.whole(self.text)
        if sure is not None:
            return self.more(sure)
        reading = self.free_text() if self.capture else self.weigh()
        return self.more(reading)

    # ------------------------------------------------------------ what the message is, whole

    def opened(self, text: str) -> str:
        """``text`` past the words that open it and ask nothing ("ok so", "could you", "mmm")."""
        openers = [*self.meanings.get("filler", []), *self.meanings.get("polite", [])]
        folded = understand.fold(text)
        lead = len(folded) - len(understand.strip_fillers(folded, openers))
        return text[lead:] if 0 < lead < len(text) else text

    def closed(self, text: str) -> str:
        """``text`` without the courtesy it ends with ("another one please", "siguiente, gracias")."""
        folded = understand.fold(text)
        end = also_said.without_tails(folded, 0, len(folded), self.meanings.get("courtesy", []))
        return text[:end] if 0 < end < len(text) else text

    def pointed(self, text: str) -> str:
        """``text`` without the words that point at a choice ("the 1st", "el número dos", "the
        first option"): what is left names it."""
        pointers = {understand.trim(p) for p in self.meanings.get("pointer", [])}
        kept = [w for w in understand.trim(text).split() if w not in pointers]
        return " ".join(kept) if kept else text

    def whole(self, text: str) -> Reading | None:
        """A button on screen (by its title or a short answer) or the state's own words, as the
        whole of ``text``, or of it past its openers or its pointing words."""
        core = self.opened(text)
        if self.denies(text, core):
            core = text  # "no muy bien" is not "muy bien"; "no, never mind" is "never mind"
        bare = self.closed(core)
        starts = understand.pick_choice(text, self.choices, self.meanings) if self.choices else ""
        variants = list(dict.fromkeys([text, core, bare, self.pointed(bare)]))
        if self.choices:
            for n, said in enumerate(variants):
                if n and starts:
                    break  # "yes, the second one" starts with an answer: not a choice said whole
                payload = understand.pick_choice(said, self.choices, self.meanings, whole_only=True)
                if payload:
                    return _payload(self.skills, payload)
        for said in variants:
            alias = self.skills.alias_hit(self.state_name, self.locale, said)
            if alias and alias.whole:
                return _payload(self.skills, alias.intent)
        return None

    def denies(self, text: str, core: str) -> bool:
        """Whether the words that open ``text`` end with a negation said of what follows (no comma
        between): then what follows is not said, it is denied."""
        lead = text[: len(text) - len(core)]
        said = understand.words(understand.fold(lead))
        negations = {understand.trim(n) for n in self.meanings.get("negation", [])}
        return bool(said) and said[-1] in negations and lead.rstrip()[-1:] not in ",.;:!?"

    # ------------------------------------------------------------ a question that takes any text

    def free_text(self) -> Reading:
        """The answer to a question that takes any text (a suggestion, hours a week), unless the
        message plainly asks for something else: it opens with the state's own words ("no
        thanks, changed my mind"), or another intent reads it as a request or a question
        ("actually just show me the catalog", "can we do sql instead")."""
        if not self.says_an_amount():
            first = self.clause_reading(self.said.clauses[0]) if len(self.said.clauses) > 1 else None
            if first is not None and first.intent not in CHANGES | SOCIAL and not first.args:
                return first  # "no thanks, changed my mind"; not "data science, for beginners"
            other = _pattern(self.skills, self.state_name, self.locale, self.text, self.core, False)
            # A request, or the same answer with its subject read ("estaría bien tener algo de X");
            # a change only asked for outright ("can I change the level to advanced"); not any
            # words taken as a topic ("do you have knitting?" suggests it).
            request = other and self.is_request() and "topic" not in other.args
            asks = other and ((other.whole and not other.args) or request or list(other.args) == ["text"])
            acts = other and other.intent in ACTS and not request  # "later": not a snooze of nothing
            if other and asks and not acts and (other.intent not in CHANGES or self.clear(other, self.absolute(other))):
                return Reading(other.intent, other.args)
            if self.no_answer():
                return self.fallback()  # "idk", "yes", "what should I suggest?": the question again
        hit = _pattern(self.skills, self.state_name, self.locale, self.text, self.core, True)
        if hit:
            return Reading(hit.intent, hit.args)
        return Reading(self.state["on_text"], {"text": self.text}) if self.state.get("on_text") else self.fallback()

    def no_answer(self) -> bool:
        """A message that cannot be the text a question asks for: a short answer of another kind
        said whole ("yes", "idk"), or a question of its own that opens like one ("what should I
        suggest?")."""
        said = understand.meanings(self.text, self.meanings)
        whole = said and understand.trim(self.text) in {understand.trim(p) for p in self.meanings.get(said[0], [])}
        if whole and said[0] in NO_ANSWER:
            return True
        opener = phrasing.opens_with(understand.fold(self.core), self.meanings.get("request", []))
        return bool(opener) and phrasing.is_question(self.said)

    def says_an_amount(self) -> bool:
        return bool(amounts.read_amounts(self.text, self.skills.words(self.locale, "durations"), self.locale))

    def asks_in_clause(self, start: int) -> bool:
        """Whether the clause holding ``start`` is a question or opens with a request."""
        a, b = self.said.clause_of(start)
        opener = phrasing.opens_with(self.said.folded[a:b], self.meanings.get("request", []))
        return bool(opener) or phrasing.is_question(self.said, (a, b))

    def is_request(self) -> bool:
        """A question, or a message that opens with what opens a request ("show me", "can we")."""
        phrases = self.meanings.get("request", [])
        opener = any(phrasing.opens_with(understand.fold(said), phrases) for said in (self.text, self.core))
        return opener or phrasing.is_question(self.said)

    # ------------------------------------------------------------ weighing what the patterns found

    def weigh(self) -> Reading:
        text, core, skills = self.text, self.core, self.skills
        prefix, prefix_end = self.opening_answer(text)
        if not prefix and core != text:
            prefix, prefix_end = self.opening_answer(core)
            prefix_end += len(text) - len(core)
        alias = skills.alias_hit(self.state_name, self.locale, text)
        if alias is None and core != text:
            alias = skills.alias_hit(self.state_name, self.locale, core)  # "no, never mind"
        found = [
            h for h in _patterns(skills, self.state_name, self.locale, text, core, False, self.bare) if self.may(h)
        ]
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
        mention = _mention(skills, self.state_name, self.locale, text, core)
        return mention or self.social_opening() or self.state_text(cues=True)

    def topic(self, hit: Hit) -> Reading | None:
        """A topic the catalog has is that skill ("do you have anything on excel?"); one a slip of
        the keyboard away from a skill's name is asked about ("learn gti"); a suggestion of no
        subject yet is the wish to suggest ("suggest something")."""
        if hit.intent in SUGGESTS:
            suggested = understand.trim(also_said.subject(str(hit.args.get("text") or ""), self.meanings))
            placeholders = {understand.trim(p) for p in self.meanings.get("placeholder", [])}
            return Reading(SUGGESTS[hit.intent]) if suggested in placeholders else None
        topic = str(hit.args.get("topic") or "")
        if not topic:
            return None
        named = _mention(self.skills, self.state_name, self.locale, topic, topic)
        if named:
            return named
        words = understand.words(understand.fold(topic))
        near = understand.near_miss(words[0], self.skills.names, shortest=3) if len(words) == 1 else ""
        skill = self.skills.entities.get("skill", {}).get(near)
        return _ask(self.skills, [f"PICK:{skill}"]) if skill else None

    def answer_inside(self, alias: Hit, hit: Hit | None) -> Reading:
        """The state's own words found inside a longer message: the answer to the question asked,
        unless the message plainly asks for something else ("my english is not good, ¿puedes
        hablar en español?"), its clause is a whole reading of its own ("never mind, I don't
        want this"), or it asks about the answer rather than giving it ("what does intermediate
        mean?": asked, with the answer as a button)."""
        explained = self.explained(self.absolute(alias), alias.intent, own_only=True)
        if explained is not None:
            return explained
        negations = self.meanings.get("negation", [])
        itself = {understand.trim(n) for n in negations} & set(understand.words(alias.folded[alias.start : alias.end]))
        if not itself and phrasing.negated(self.said, self.absolute(alias), negations):
            return self.state_text()  # "not very good": not the answer it names ("no sé nada" is one)
        answers = self.answers_said(alias)
        if len(answers) > 1:  # "beginner or intermediate": which?
            return _ask(self.skills, answers)
        longer = hit is not None and hit.intent not in CHANGES and hit.span > alias.span
        if hit is not None and longer and (hit.intent not in ACTS or self.asks_in_clause(self.absolute(hit))):
            return Reading(hit.intent, hit.args)
        if phrasing.is_question(self.said):
            return _ask(self.skills, [alias.intent])
        return _payload(self.skills, alias.intent)

    def answers_said(self, alias: Hit) -> list[str]:
        """The different answers the state's own words read in the message, apart from each other
        (words inside another answer's, "beginner" in "not a beginner", are not one)."""
        text = self.text if alias.folded == understand.fold(self.text).lstrip(understand.OPENERS) else self.core
        found = self.skills.alias_hits(self.state_name, self.locale, text)
        apart = [
            h
            for h in found
            if not any(o is not h and o.start <= h.start and h.end <= o.end and o.span > h.span for o in found)
        ]
        return list(dict.fromkeys(h.intent for h in apart))

    def pattern_reading(self, hit: Hit, hits: list[Hit], prefix: str, prefix_end: int) -> Reading:
        """The first pattern's reading, weighed: a clause that reads otherwise as a whole, other
        acts said beside it, the short answer the message opens with, the button on screen that
        is the same act, a name found only once corrected."""
        start = self.absolute(hit)
        explained = self.explained(start, hit.intent)
        if explained is not None:
            return explained
        others = self.other_acts(hit, hits)
        if others:
            return _ask(self.skills, [self.payload_of(h.intent, h.args) for h in [hit, *others]])
        if prefix:
            if start + hit.span <= prefix_end:
                return self.short_answer(prefix)  # "dale, mándale": the answer, not "dale" as "go on"
            opens_rest = start == len(self.text) - len(self.core)  # "ok, whats next": a request
            if start >= prefix_end and not opens_rest:  # said inside what follows the answer: which?
                return _ask(self.skills, [prefix, self.payload_of(hit.intent, hit.args)])
        same = self.same_choice(hit)
        if same:
            return _payload(self.skills, same)
        if hit.intent in GENERIC and self.state.get("on_text") and not self.is_request():
            return _ask(self.skills, [self.payload_of(hit.intent, hit.args)])  # "he hecho cursos" answers, maybe
        named_too = self.skills.skills_named(self.said.folded) if hit.intent in LANGUAGE else []
        if named_too:  # "inglés": to learn it, or to be spoken to in it?
            return _ask(self.skills, [self.payload_of(hit.intent, hit.args), *(f"PICK:{k}" for k in named_too)])
        also = [k for k in self.skills.skills_named(self.said.folded) if k != hit.args.get("skill")]
        if hit.intent in PICKS and also:  # "quiero aprender a programar páginas web": which one?
            return _ask(self.skills, [f"PICK:{hit.args.get('skill')}", *(f"PICK:{k}" for k in also)])
        named = self.skills_beside(hit, start) if hit.intent in GENERIC else []
        if named or (hit.intent in GENERIC and not self.clear(hit, start)):
            # "I'm terrified of speaking in front of people, can you help me with that"; "help"
            # deep in a long message about something else: asked, with what it may be about.
            return _ask(self.skills, [*(f"PICK:{skill}" for skill in named), self.payload_of(hit.intent, hit.args)])
        if (hit.corrected and hit.intent in CHANGES) or not self.clear(hit, start):
            # An act, or a request that has a button, read from words deep inside a longer message
            # ("I need a cup of java before anything else"): asked. Those with no button (a
            # suggestion, a topic) are taken as read.
            payload = self.payload_of(hit.intent, hit.args)
            if payload or hit.intent in ACTS:
                return _ask(self.skills, [payload])
        if hit.intent in NAMES_A_SKILL and not hit.args.get("skill"):
            # "start over", "reset" with no skill named: that skill's, when one is under way.
            if self.conv.progress:
                return _ask(self.skills, [self.payload_of(hit.intent, {}), *NAMES_A_SKILL[hit.intent]])
            return _payload(self.skills, NAMES_A_SKILL[hit.intent][0])
        learns = any(h.intent == UNDER_WAY.get(hit.intent) for h in hits)
        if learns and str(hit.args.get("skill", "")) not in self.conv.progress:
            return Reading(UNDER_WAY[hit.intent], hit.args)  # "learn python from scratch": a start
        return Reading(hit.intent, hit.args)

    def clear(self, hit: Hit, start: int) -> bool:
        """Whether an act is said clearly: as the whole message, in a short clause ("this link is
        broken"), or as what a clause opens with ("I finished it", "ok, give me something
        harder"); not as words found deep inside a longer one ("I need a cup of java before
        anything else lol")."""
        if hit.whole:
            return True
        a, b = self.said.clause_of(start)
        clause = self.opened(self.text[a:b])
        before = understand.words(self.said.folded[b - len(clause) : start])
        return len(before) <= OPENING_WORDS or len(understand.words(understand.fold(clause))) <= SHORT_CLAUSE

    def may(self, hit: Hit) -> bool:
        """Whether ``hit`` can mean what it reads here: an act on a step needs a skill under way
        ("I'm confused" with none is no step too hard)."""
        return hit.intent not in ON_A_STEP or bool(self.conv.progress)

    def widest_first(self, hits: list[Hit]) -> list[Hit]:
        """The hits with, first, the one whose words hold the first's and more ("no tengo tiempo
        hoy" is a snooze, not the "no tengo tiempo" of a slower pace), unless it holds them only
        as any words (a suggestion's or a topic's)."""
        if len(hits) < 2 or hits[0].corrected:
            return hits
        spans = [(self.absolute(h), self.absolute(h) + h.span) for h in hits]
        a, b = spans[0]
        free = [bool({"text", "topic"} & set(h.args)) for h in hits]  # wide by nature: any words
        wider = [n for n, (c, d) in enumerate(spans) if n and not free[n] and c <= a and d >= b and d - c > b - a]
        if not wider:
            return hits
        best = max(wider, key=lambda n: spans[n][1] - spans[n][0])
        return [hits[best], *hits[:best], *hits[best + 1 :]]

    def unnegated(self, hits: list[Hit]) -> tuple[list[Hit], Reading | None]:
        """The hits without the acts a negation stands before ("I don't want to learn git"), and
        what the first of those means instead, asked (None when it means nothing)."""
        negations = self.meanings.get("negation", [])
        kept, opposite = [], None
        for hit in hits:
            if (hit.intent in NEGATABLE or hit.intent in OPPOSITE) and phrasing.negated(
                self.said, self.absolute(hit), negations
            ):
                if opposite is None:
                    opposite = self.opposite(hit)
                continue
            kept.append(hit)
        return kept, opposite

    def opposite(self, hit: Hit) -> Reading | None:
        meant = OPPOSITE.get(hit.intent)
        skill = str(hit.args.get("skill", ""))
        if meant == "drop_skill" and skill not in self.conv.progress:
            return None
        payload = self.payload_of(meant, hit.args) if meant else ""
        return _ask(self.skills, [payload]) if payload else None

    def other_acts(self, hit: Hit, hits: list[Hit]) -> list[Hit]:
        """Other acts the message says beside ``hit`` (neither inside the other's words nor one
        with it): "I'm done with reminders", "I'm stuck at work, remind me tomorrow"."""
        if hit.intent not in ACTS:
            return []
        spans = {h.intent: (self.absolute(h), self.absolute(h) + h.span) for h in hits}
        mine = spans[hit.intent]
        found = []
        for other in hits[1:]:
            there = spans[other.intent]
            inside = (there[0] >= mine[0] and there[1] <= mine[1]) or (mine[0] >= there[0] and mine[1] <= there[1])
            together = any(hit.intent in t and other.intent in t for t in TOGETHER)
            if other.intent in ACTS and other.intent != hit.intent and not inside and not together:
                found.append(other)
        return found[: MAX_OFFERS - 1]

    def skills_beside(self, hit: Hit, start: int) -> list[str]:
        """The skills the message names outside the words ``hit`` read."""
        folded = self.said.folded
        rest = folded[:start] + " " + folded[start + hit.span :]
        return self.skills.skills_named(rest)[: MAX_OFFERS - 1]

    def same_choice(self, hit: Hit) -> str:
        """The button on screen that is the act ``hit`` reads, with what the screen adds: the Keep
        button's skill for "keep going", the next page for "any other options?"."""
        folded = understand.fold(self.text)
        for choice in self.choices:
            found = self.skills.match_payload(choice.get("payload", ""))
            if not found or found[0] != hit.intent:
                continue
            args = found[1]
            if any(str(args.get(k, "")) != str(v) for k, v in hit.args.items()):
                continue
            extra = set(args) - set(hit.args)
            said = any(_says(folded, p) for m in choice.get("means", []) for p in self.meanings.get(m, []))
            if extra and (extra <= {"skill"} or said):
                return choice["payload"]
        return ""

    # ------------------------------------------------------------ short answers and clauses

    def opening_answer(self, text: str) -> tuple[str, int]:
        """The choice on screen the message opens with a short answer for ("yes, drop it"), and
        where that answer ends; ("", 0) when none."""
        if not self.choices:
            return "", 0
        payload = understand.pick_choice(text, self.choices, self.meanings)
        if not payload:
            return "", 0
        folded = understand.fold(text)
        meant = dict.fromkeys(m for c in self.choices for m in c.get("means", []))
        phrases = [p for m in meant for p in self.meanings.get(m, [])]
        phrases += [c.get("title", "") for c in self.choices]
        said = phrasing.opens_with(folded, phrases)
        lead = len(folded) - len(folded.lstrip(understand.EDGES + "¿¡"))
        return payload, lead + len(said)

    def short_answer(self, prefix: str) -> Reading:
        """ "yes, drop it" answers; "ok whats blah blah" may ask something else: asked, not acted on,
        unless what follows the answer only says when ("sí, a las 8 de la mañana")."""
        rest = understand.words(understand.fold(self.opened(self.text)))
        reading = _payload(self.skills, prefix)
        if len(rest) <= PREFIX_REST:
            return reading
        refined = self.more(reading)
        if refined.intent != reading.intent:
            return refined
        clauses = self.clause_choice()  # "déjelo así, no lo borre": every clause says the same
        if clauses is not None and clauses.payload == prefix:
            return reading
        return _ask(self.skills, [prefix])

    def clause_reading(self, span: tuple[int, int]) -> Reading | None:
        """What one clause of the message reads as, whole: a button, the state's words, a pattern
        that matches all of it, or (a question on screen) a short answer it opens with."""
        text = self.text[span[0] : span[1]]
        found = self.whole(text)
        if found is not None:
            return found
        skip = frozenset({LAST_RESORT})
        core = self.opened(text)
        for said in dict.fromkeys([text, core, self.closed(core)]):
            hit = self.skills.text_hit(self.state_name, self.locale, said, skip=skip, correct=False)
            if hit and hit.whole and self.may(hit):
                start = span[0] + len(text) - len(said) + hit.start
                if hit.intent in NEGATABLE and phrasing.negated(self.said, start, self.meanings.get("negation", [])):
                    return None
                return self.topic(hit) or Reading(hit.intent, hit.args)
        prefix, _ = self.opening_answer(text)
        if prefix and len(understand.words(understand.fold(self.opened(text)))) <= PREFIX_REST:
            return _payload(self.skills, prefix)
        return None

    def explained(self, start: int, intent: str, own_only: bool = False) -> Reading | None:
        """The reading of the clause that holds ``start`` when that clause, as a whole, reads as
        another intent ("speaking of which, what's next": not the skill); with ``own_only``, only
        as a button or the state's own words ("no, nunca, cancela")."""
        if len(self.said.clauses) < 2:
            return None
        span = self.said.clause_of(start)
        found = self.whole(self.text[span[0] : span[1]]) if own_only else self.clause_reading(span)
        if found is None or found.intent == intent or found.intent in SOCIAL:
            return None
        return found

    def clause_choice(self) -> Reading | None:
        """A message of several clauses, one of which reads whole ("speaking of which, what's
        next"): that reading; several different ones, asked; a greeting or thanks only when
        nothing else is said."""
        if len(self.said.clauses) < 2:
            return None
        found = [r for span in self.said.clauses if (r := self.clause_reading(span)) is not None]
        asks = [r for r in found if r.intent not in SOCIAL]
        distinct = list({(r.intent, str(sorted(r.args.items()))): r for r in asks}.values())
        if len(distinct) == 1:
            return distinct[0]
        if distinct:
            return _ask(self.skills, [r.payload or self.payload_of(r.intent, r.args) for r in distinct])
        if found:  # a greeting or thanks, and what else is said only gives signs of what it asks
            signs = self.signs()
            return _ask(self.skills, signs) if signs else found[0]
        return None

    def reminder_answer(self) -> Reading | None:
        """Reminders offered, and the message says only a time or how often ("at seven pm",
        "once a week is enough", "todos los días"): that time, or that often."""
        intents = [(self.skills.match_payload(c.get("payload", "")) or ("",))[0] for c in self.choices]
        said = understand.words(self.said.folded)
        if "remind_on" not in intents or len(said) > SHORT_ANSWER or not self.only_when(said):
            return None
        refined = self.more(Reading("remind_on"))
        return refined if refined.intent != "remind_on" else None

    def only_when(self, said: list[str]) -> bool:
        """Whether the words say little but when: no negation, and at most a few words that are
        not about time ("once a week is enough"; not "I'm busy this week")."""
        if any(phrase in " ".join(said) for phrase in also_said.OTHER_DAY):
            return True  # "un día sí y otro no": its "no" is no negation
        negations = {understand.trim(n) for n in self.meanings.get("negation", [])}
        timely = amounts.words_of(self.skills.words(self.locale, "durations"))
        others = [w for w in said if w not in timely]
        return not negations & set(said) and len(others) <= OTHER_WORDS

    def new_pace(self) -> Reading | None:
        """A skill under way, no question asked, and the message says hours a week and little else
        ("10 hours a week", "6 hours for git"): asked whether that is the skill's new pace."""
        if not self.conv.progress or self.state:
            return None
        said = understand.words(self.said.folded)
        table = self.skills.words(self.locale, "durations")
        if len(said) > SHORT_ANSWER or not amounts.read_amounts(self.text, table, self.locale):
            return None
        hours = amounts.hours_per_week(self.text, table, self.locale)
        named = [k for k in self.skills.skills_named(self.said.folded) if k in self.conv.progress]
        names = {w for name in self.skills.entities.get("skill", {}) for w in understand.words(name)}
        if not hours or not self.only_when([w for w in said if w not in names]):
            return None
        args = {"hours": str(max(1, int(hours + 0.5))), **({"skill": named[0]} if named else {})}
        return _ask(self.skills, [self.payload_of("change_pace", args)])

    def social_opening(self) -> Reading | None:
        """Nothing understood but a greeting or thanks the message opens with ("hello dear",
        "thank you very much dear"): answered as one."""
        lead = self.text[: len(self.text) - len(self.core)].strip(understand.EDGES)
        if not lead or self.core == self.text or self.state.get("on_text"):
            return None  # a question on screen: "yes sir" is no answer, and no thank-you either
        hit = self.skills.text_hit(self.state_name, self.locale, lead, only=SOCIAL, correct=False)
        if hit is None or not hit.whole or self.signs():
            return None  # "hi, <something the words only give signs of>": asked about, below
        return Reading(hit.intent, hit.args)

    def signs(self) -> list[str]:
        """The payloads of the acts the message's words give signs of, greetings aside."""
        found = [i for i in phrasing.cued(self.said.folded, self.meanings) if i not in SOCIAL]
        return [p for p in (self.payload_of(intent, {}) for intent in found) if p]

    def state_text(self, cues: bool = False) -> Reading:
        """The state's free text; with no state, the fallback, or (``cues``) a question with the acts
        the message's words give signs of as buttons ("this app is so confusing": Help?)."""
        on_text = self.state.get("on_text")
        if on_text:
            return Reading(on_text, {"text": self.text})
        offers = [self.payload_of(i, {}) for i in phrasing.cued(self.said.folded, self.meanings)] if cues else []
        return _ask(self.skills, offers) if any(offers) else self.fallback()

    def fallback(self) -> Reading:
        return Reading(self.skills.data["bot"]["fallback"], sure=False)

    # ------------------------------------------------------------ what else is said with it

    def more(self, reading: Reading) -> Reading:
        said = (self.text, self.state_name, self.locale)
        intent, args = also_said.fill(self.skills, reading.intent, reading.args, *said)
        if intent == reading.intent:
            reading.args = args
            return reading
        return Reading(intent, args)

    def absolute(self, hit: Hit) -> int:
        """Where ``hit`` starts in the whole (folded) message: it may have matched a suffix of it."""
        if hit.offset is not None:
            return hit.offset + hit.start
        return max(0, len(self.said.folded) - len(hit.folded) + hit.start)

    def payload_of(self, intent: str, args: dict) -> str:
        """The button payload that runs ``intent`` with ``args``, the step on screen filling in
        the skill and the step a button about it needs."""
        shown = str(self.conv.slots.get("shown", ""))
        skill, _, item = shown.partition(":")
        screen = {"skill": skill or str(self.conv.slots.get("skill", "")), "item": item}
        return _payload_of(self.skills, intent, {**{k: v for k, v in screen.items() if v}, **args})


def _says(folded: str, phrase: str) -> bool:
    """Whether ``phrase`` is in ``folded`` as whole words."""
    bare = understand.trim(phrase)
    at = folded.find(bare) if bare else -1
    while at >= 0:
        end = at + len(bare)
        if not folded[at - 1 : at].isalnum() and not folded[end : end + 1].isalnum():
            return True
        at = folded.find(bare, at + 1)
    return False


def _patterns(
    skills: Skills, state: str, locale: str, text: str, core: str, capture: bool, bare: str = ""
) -> list[Hit]:
    """Every intent the patterns read in the message (then in it without its openers, then without
    the courtesy it ends with: ``bare``), the first what it is read as; with near-miss names
    corrected only when nothing matched as typed, or when what matched took a name for a topic
    ("learn javascrip")."""
    skip = frozenset({LAST_RESORT})
    found: dict[str, Hit] = {}
    for said in dict.fromkeys([text, core]):
        for hit in skills.text_hits(state, locale, said, capture, skip=skip):
            found.setdefault(hit.intent, hit)
    if bare and bare != core:  # a prefix of the core: where it starts in the message is said
        start = len(understand.fold(text)) - len(understand.fold(core).lstrip(understand.OPENERS))
        for hit in skills.text_hits(state, locale, bare, capture, skip=skip):
            hit.offset = start
            found.setdefault(hit.intent, hit)
    hits = list(found.values())
    if not hits:  # numbers said in words: "only one hour a week now", "remind me at seven"
        digits = amounts.with_digits(text, locale)
        if digits != understand.fold(text):
            hits = skills.text_hits(state, locale, digits, capture, skip=skip)
    if hits and not hits[0].args.get("topic"):
        return hits
    for said in dict.fromkeys([text, core]):
        folded = understand.fold(said)
        corrected = understand.correct(folded, skills.names, skills.known_words()) if skills.names else folded
        if corrected == folded:
            continue
        fixed = skills.text_hit(state, locale, corrected, capture, skip=skip, correct=False)
        if fixed and (not hits or fixed.args.get("skill")):
            fixed.corrected = True
            return [fixed, *hits]
    return hits


def _pattern(skills: Skills, state: str, locale: str, text: str, core: str, capture: bool) -> Hit | None:
    found = _patterns(skills, state, locale, text, core, capture)
    return found[0] if found else None


def _mention(skills: Skills, state: str, locale: str, text: str, core: str) -> Reading | None:
    """A skill's name, said with nothing that says what to do with it: picked when it is the whole
    message ("java", "the design one"), otherwise asked about (java the coffee, "excel at")."""
    for said in dict.fromkeys([core, text]):
        hit = skills.text_hit(state, locale, said, only=frozenset({LAST_RESORT}))
        if hit is None:
            continue
        if hit.whole and not hit.corrected:
            return Reading(hit.intent, hit.args)
        named = skills.skills_named(understand.fold(said))
        return _ask(skills, [f"PICK:{skill}" for skill in named[:MAX_OFFERS]] or [f"PICK:{hit.args.get('skill')}"])
    return None


def _ask(skills: Skills, offers: list[str]) -> Reading:
    offers = [o for o in dict.fromkeys(offers) if o and skills.match_payload(o)]
    if not offers:
        return Reading(skills.data["bot"]["fallback"], sure=False)
    return Reading(CLARIFY, {"offers": offers[:MAX_OFFERS]}, sure=False)


def _payload(skills: Skills, payload: str) -> Reading:
    found = skills.match_payload(payload)
    return Reading(*found, payload=payload) if found else Reading(skills.data["bot"]["fallback"], sure=False)


def _payload_of(skills: Skills, intent: str, args: dict) -> str:
    """The button payload that runs ``intent`` with ``args`` ("" when no template fits them): the
    template that uses the most of them."""
    best, used = "", -1
    for template in skills.intents.get(intent, {}).get("triggers", {}).get("payloads", []):
        filled = template
        for name, value in args.items():
            filled = filled.replace("{" + name + "}", str(value))
        if "{" not in filled and template.count("{") > used:
            best, used = filled, template.count("{")
    return best
