"""The message being read: its words, openers and courtesies trimmed, what it is about (a subject, a
topic, a skill named), and the small judgements the reader builds on. The question on screen and
its answers are screen.py's."""

from __future__ import annotations

from chatbot.engine import also_said, amounts, phrasing, time_words, understand
from chatbot.engine.conversation import Conversation
from chatbot.engine.reading.kinds import (
    MAX_OFFERS,
    NO_ANSWER,
    ON_A_SKILL,
    ON_A_STEP,
    OPENING_WORDS,
    OTHER_WORDS,
    PICKS,
    SHORT_CLAUSE,
    SOCIAL,
    SUBJECT_WORDS,
    SUGGESTS,
    Reading,
)
from chatbot.engine.reading.patterns import ask, mention, payload_for, payload_reading
from chatbot.engine.skills import Hit, Skills


class Message:
    """One message being read in one conversation: what it says, and the question on screen."""

    def __init__(self, conv: Conversation, skills: Skills, locale: str, text: str) -> None:
        self.conv, self.skills, self.locale = conv, skills, locale
        self.meanings = skills.words(locale, "meanings")
        own = skills.vocabulary(locale).get("meanings", {})
        respelled = phrasing.respell(text, own, lambda word: word in skills.names or word in skills.known_words())
        self.text = phrasing.after_correction(respelled, self.meanings.get("correction", []))
        self.said = phrasing.read_said(self.text, self.meanings.get("but", []))
        self.state_name = conv.state or ""
        self.state = skills.states.get(self.state_name, {})
        self.capture = bool(self.state.get("capture_text"))
        self.core = self.opened(self.text)
        self.bare = self.closed(self.core)
        self.choices = conv.choices
        self.found: list[Hit] | None = None  # the patterns' hits in the whole message (Reader.hits)

    def bare_meaning(self, name: str) -> frozenset[str]:
        """The phrases of one of the locale's meanings, folded and trimmed as words are."""
        return understand.trimmed(self.meanings.get(name, []))

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

    def names_a_subject(self, text: str = "") -> bool:
        """Whether the message (or ``text``), past the words that lead to a subject, reads as one
        ("pottery", "how to bake bread") rather than as words to the bot ("I'll think about it",
        "this is confusing", "lol") or a placeholder ("something new"): none of its words is one
        that talks to or about the conversation."""
        whole = text or self.text
        if self.a_subject(whole):
            return True
        # "negotiation. I'm terrible at asking for a raise": a short first clause names it, the rest
        # says why
        first = self.said.clauses[0] if not text and len(self.said.clauses) > 1 else None
        lead = understand.trim(whole[first[0] : first[1]]) if first else ""
        words = understand.words(lead)
        chat = self.bare_meaning("not_a_subject")
        return 0 < len(words) <= SUBJECT_WORDS and not chat & set(words) and self.a_subject(lead)

    def a_subject(self, text: str) -> bool:
        said = understand.trim(also_said.subject(text, self.meanings, True))
        placeholders = self.bare_meaning("placeholder")
        if said in placeholders or understand.trim(also_said.subject(text, self.meanings)) in placeholders:
            return False
        chat = self.bare_meaning("not_a_subject")
        return not any(w.strip(understand.EDGES) in chat for w in said.split())

    def says_an_amount(self) -> bool:
        return bool(amounts.read_amounts(self.text, self.skills.words(self.locale, "durations"), self.locale))

    def asks_in_clause(self, start: int) -> bool:
        """Whether the clause holding ``start`` is a question or opens with a request."""
        a, b = self.said.clause_of(start)
        opener = phrasing.opens_with(self.said.folded[a:b], self.meanings.get("request", []))
        return bool(opener) or phrasing.is_question(self.said, (a, b))

    def names_a_person(self) -> bool:
        """Whether the message names a person to talk to ("a human", "alguien", "una persona")."""
        folded = understand.fold(self.text)
        return any(understand.says(folded, word) for word in self.meanings.get("cue_human", []))

    def asks_advice(self) -> bool:
        """Whether the message asks the bot to choose ("what do you recommend?", "tú decide")."""
        folded = understand.trim(self.text)
        return any(understand.says(folded, phrase) for phrase in self.bare_meaning("advice"))

    def is_request(self) -> bool:
        """A question, or a message that opens with what opens a request ("show me", "can we")."""
        phrases = self.meanings.get("request", [])
        folded = understand.fold(self.text)
        past_fillers = understand.strip_fillers(folded, self.meanings.get("filler", []))  # "mejor muéstrame"
        said = [folded, past_fillers, understand.fold(self.core)]
        if len(self.said.clauses) > 1 and understand.trim(
            self.said.folded[: self.said.clauses[0][1]]
        ) in self.bare_meaning("unsure"):
            said.append(self.said.folded[self.said.clauses[1][0] :])  # "no sé, déjame ver qué tienen"
        return any(phrasing.opens_with(s, phrases) for s in said) or phrasing.is_question(self.said)

    def topic(self, hit: Hit) -> Reading | None:
        """A topic the catalog has is that skill ("do you have anything on excel?"); one a slip of
        the keyboard away from a skill's name is asked about ("learn gti"); a suggestion of no
        subject yet is the wish to suggest ("suggest something")."""
        if hit.intent in SUGGESTS:
            suggested = understand.trim(also_said.subject(str(hit.args.get("text") or ""), self.meanings, True))
            placeholders = {understand.trim(p) for p in self.meanings.get("placeholder", [])}
            if suggested in placeholders:
                # "add another one, maybe docker": the skill the catalog has, or another one?
                also = self.skills.skills_named(understand.fold(str(hit.args.get("text") or "")))
                wish = payload_for(self.skills, SUGGESTS[hit.intent], {})
                return ask(self.skills, [*(f"PICK:{k}" for k in also), wish]) if also else Reading(SUGGESTS[hit.intent])
            # A skill the catalog has, asked to be added ("add sql too"): that skill, picked; one it
            # has under another name ("you should add kubernetes": Docker) is offered.
            named = mention(self.skills, self.state_name, self.locale, suggested, suggested) if suggested else None
            if named is None or not named.sure:
                also = self.only_skills_named(suggested)
                return ask(self.skills, [f"PICK:{k}" for k in also]) if also else None  # "add python too, beginner"
            picked = str(named.args.get("skill", ""))
            return named if self.calls(picked, suggested) else ask(self.skills, [f"PICK:{picked}"])
        topic = str(hit.args.get("topic") or "")
        if not topic:
            return None
        if understand.trim(topic) in {understand.trim(p) for p in self.meanings.get("pronoun", [])}:
            # "public speaking terrifies me, i wanna get better at it": what "it" stands for, said
            # before; the question when that is no skill of the catalog
            return mention(self.skills, self.state_name, self.locale, self.text, self.core) or self.fallback()
        named = mention(self.skills, self.state_name, self.locale, topic, topic)
        if named:
            return named
        words = understand.words(understand.fold(topic))
        near = understand.near_miss(words[0], self.skills.names, shortest=3) if len(words) == 1 else ""
        skill = self.skills.entities.get("skill", {}).get(near)
        return ask(self.skills, [f"PICK:{skill}"]) if skill else None

    def only_skills_named(self, said: str) -> list[str]:
        """The catalog's skills ``said`` names by their ids, when it says nothing else but a level
        or courtesy ("python too, beginner"; not "kotlin and swift", nor "kubernetes operators")."""
        named = [k for k in self.skills.skills_named(said) if k in understand.words(said)]
        others = set(understand.words(said)) - set(named) - set(self.skills.entities.get("level", {}))
        others -= {w for c in self.meanings.get("courtesy", []) for w in understand.words(understand.fold(c))}
        return named if named and not others else []

    def calls(self, skill: str, said: str) -> bool:
        """Whether ``said`` (trimmed) is what the catalog calls ``skill``: its id or a title."""
        found = self.skills.skill(skill)
        if found is None:
            return False
        titles = found.get("title", {})
        names = [skill, *(titles.values() if isinstance(titles, dict) else [titles])]
        return said in {understand.trim(str(n)) for n in names}

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
        """Whether ``hit`` can mean what it reads here: an act on a step, or a new pace, needs a
        skill under way ("I'm confused" with none is no step too hard; "no tengo mucho tiempo" at
        the hours question is no pace to change; "morning :)" alone, with nothing under way, is
        a greeting, not the time of reminders)."""
        if hit.intent == "remind_at" and hit.whole and not self.conv.progress:
            return False
        return hit.intent not in ON_A_STEP | {"change_pace"} or bool(self.conv.progress)

    def skills_beside(self, hit: Hit, start: int) -> list[str]:
        """The skills the message names outside the words ``hit`` read."""
        folded = self.said.folded
        rest = folded[:start] + " " + folded[start + hit.span :]
        return self.skills.skills_named(rest)[: MAX_OFFERS - 1]

    def only_when(self, said: list[str]) -> bool:
        """Whether the words say little but when: no negation, and at most a few words that are
        not about time ("once a week is enough"; not "I'm busy this week")."""
        if any(phrase in " ".join(said) for phrase in also_said.OTHER_DAY):
            return True  # "un día sí y otro no": its "no" is no negation
        negations = self.bare_meaning("negation")
        timely = time_words.words_of(self.skills.words(self.locale, "durations"))
        others = [w for w in said if w not in timely and not w.isdigit()]
        return not negations & set(said) and len(others) <= OTHER_WORDS

    def signs(self) -> list[str]:
        """The payloads of the acts the message's words give signs of, greetings aside."""
        found = [i for i in phrasing.cued(self.said.folded, self.meanings) if i not in SOCIAL]
        return [p for p in (self.payload_of(intent, {}) for intent in found) if p]

    def fallback(self) -> Reading:
        return Reading(self.skills.data["bot"]["fallback"], sure=False)

    def more(self, reading: Reading) -> Reading:
        said = (self.text, self.state_name, self.locale)
        intent, args = also_said.fill(self.skills, reading.intent, reading.args, *said)
        if intent == reading.intent:
            reading.args = args
        else:
            reading = Reading(intent, args)
        if reading.intent in PICKS:
            return self.not_this_one(reading) or self.which_in_field(reading)
        if reading.intent == "next_assignment" and not reading.args and self.conv.slots.get("screen") == "catalog":
            return self.next_page()
        return self.skill_said(reading) if reading.intent in ON_A_STEP | ON_A_SKILL else reading

    def next_page(self) -> Reading:
        """ "next" typed under a page of the catalog: its next page, or (a skill under way) asked which."""
        page = (
            str(int(str(self.conv.slots.get("page", "1"))) + 1)
            if str(self.conv.slots.get("page", "1")).isdigit()
            else "2"
        )
        turn_page = payload_for(self.skills, "browse", {"page": page})
        if not self.conv.progress:
            return payload_reading(self.skills, turn_page) if turn_page else Reading("browse", {"page": page})
        return ask(self.skills, [turn_page, self.payload_of("next_assignment", {})])

    def skill_said(self, reading: Reading) -> Reading:
        """An act on a skill under way that names it ("change python to 3 hours a week", "ya terminé
        la de python" with SQL on screen): a change is that skill's; a step of another skill than the
        one on screen is asked about, that skill's next step as the button."""
        if reading.intent == "mark_done" and any(
            understand.says(self.said.folded, w) for w in self.meanings.get("unfinished", [])
        ):
            # "I'm done for today", "finished reading half of it", "ya terminé por hoy": is the step done?
            # ("I'm done looking at percentages, just give me the next task": the next, asked for)
            hits = self.skills.text_hits(self.state_name, self.locale, self.text)
            if any(h.intent == "next_assignment" for h in hits):
                return Reading("next_assignment")
            return ask(self.skills, [self.payload_of("mark_done", {})])
        easy_or_hard = reading.intent in ("too_easy", "too_hard")  # the level read only for those
        level = also_said.level_named(self.skills, self.text, self.meanings) if easy_or_hard else ""
        skill = self.on_screen()[0]
        other_level = level and skill in self.conv.progress and self.conv.progress[skill].get("level") != level
        if easy_or_hard and other_level:
            # "all of this is too basic for me, I think I am more intermediate": past this step, or that level?
            return ask(self.skills, [self.payload_of(reading.intent, {}), f"SETLEVEL:{skill}:{level}"])
        named = [k for k in self.skills.skills_named(self.said.folded) if k in self.conv.progress]
        under_way = [k for k, p in self.conv.progress.items() if not p.get("finished_at")]
        if reading.intent == "change_pace" and not named and not reading.args.get("skill") and len(under_way) > 1:
            # "I only have an hour a week now" with two skills under way: which one's pace?
            hours = str(reading.args.get("hours") or self.hours_said(bare=True))
            offers = [payload_for(self.skills, "change_pace", {"skill": k, "hours": hours}) for k in under_way]
            return ask(self.skills, offers) if hours else reading
        if len(named) != 1 or reading.args.get("skill") == named[0]:
            return reading
        if reading.intent in ON_A_STEP:
            on_screen = self.on_screen()[0]
            return reading if named[0] == on_screen else ask(self.skills, [f"NEXT:{named[0]}"])
        reading.args = {**reading.args, "skill": named[0]}
        return reading

    def not_this_one(self, reading: Reading) -> Reading | None:
        """A skill named under a negation or an exception ("no quiero python", "anything but java", "no
        python please"): not picked; the catalog is offered instead."""
        picked = str(reading.args.get("skill", ""))
        names = [n for n, k in self.skills.entities.get("skill", {}).items() if k == picked]
        folded = self.said.folded
        negations = {understand.trim(w) for w in self.meanings.get("negation", [])}
        exceptions = [understand.trim(w) for w in self.meanings.get("except", [])]
        for name in names:
            at = folded.find(name)
            while at >= 0:
                clause_start = self.said.clause_of(at)[0]  # "not sure, maybe python?" is no denial
                denied = negations & set(understand.words(folded[clause_start:at])[-3:])
                excepted = any(folded[:at].rstrip(" ,").endswith(w) for w in exceptions if w)
                if not folded[at - 1 : at].isalnum() and (denied or excepted):
                    return ask(self.skills, ["BROWSE"])
                at = folded.find(name, at + 1)
        return None

    def which_in_field(self, reading: Reading) -> Reading:
        """A skill picked by naming only a broad field ("learn programming", "ciencia de datos"):
        asked which, the field's skills as buttons. A skill named outright besides is that skill."""
        folded = understand.fold(self.text)
        fields = [skills for name, skills in self.skills.fields.items() if understand.says(folded, name)]
        if not fields:
            return reading
        names = self.skills.entities["skill"]
        outright = [n for n in names if n not in self.skills.fields and understand.says(folded, n)]
        if outright:
            return reading
        picked = str(reading.args.get("skill", ""))
        return ask(self.skills, [f"PICK:{s}" for s in dict.fromkeys([picked, *fields[0]])])

    def absolute(self, hit: Hit) -> int:
        """Where ``hit`` starts in the whole (folded) message: it may have matched a suffix of it."""
        if hit.offset is not None:
            return hit.offset + hit.start
        return max(0, len(self.said.folded) - len(hit.folded) + hit.start)

    def payload_of(self, intent: str, args: dict) -> str:
        """The button payload that runs ``intent`` with ``args``, the step on screen filling in
        the skill and the step a button about it needs."""
        skill, item = self.on_screen()
        screen = {"skill": skill, "item": item}
        hours = self.hours_said(bare=True) if intent == "change_pace" and "hours" not in args else ""
        if hours:
            args = {**args, "hours": hours}  # "could we make it 2 hours a week instead?"
        return payload_for(self.skills, intent, {**{k: v for k, v in screen.items() if v}, **args})

    def hours_said(self, bare: bool = False) -> str:
        """The hours a week the message says, whole (at least 1), or ""; with ``bare``, also a
        number said without a unit ("make it fewer hours, like 1 a week")."""
        table = self.skills.words(self.locale, "durations")
        if not bare and not amounts.read_amounts(self.text, table, self.locale):
            return ""
        hours = amounts.hours_per_week(self.text, table, self.locale)
        return str(max(1, int(hours + 0.5))) if hours else ""

    def on_screen(self) -> tuple[str, str]:
        """The skill and step the person sees last: the card shown, else the skill being talked about."""
        skill, _, item = str(self.conv.slots.get("shown", "")).partition(":")
        return skill or str(self.conv.slots.get("skill", "")), item
