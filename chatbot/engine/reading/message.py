"""The message being read and the question on screen: its words, openers and courtesies trimmed,
what a button or a short answer typed whole is, and the small judgements the reader builds on."""

from __future__ import annotations

import dataclasses

from chatbot.engine import also_said, amounts, phrasing, time_words, understand
from chatbot.engine.conversation import Conversation
from chatbot.engine.reading.kinds import (
    ASKED_BY,
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
from chatbot.engine.reading.patterns import ask, mention, payload_for, payload_reading, says
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

    def bare_meaning(self, name: str) -> frozenset[str]:
        """The phrases of one of the locale's meanings, folded and trimmed as words are."""
        return understand.trimmed(self.meanings.get(name, []))

    def placed_choice(self, text: str) -> str:
        """The quick reply ``text`` names by its place, said whole ("the second one": 3–5 h), when
        the quick replies are the list on screen; never a number, which may be an amount ("two")."""
        said = understand.trim(text)
        numbers = understand.trimmed(self.skills.words(self.locale, "durations").get("numbers", {}))
        if said.isdigit() or said in numbers:
            return ""
        pointed = understand.trim(self.pointed(said))  # "la primera opción": "primera"
        named = {said} | ({pointed} if pointed and not pointed.isdigit() and pointed not in numbers else set())
        for choice in self.choices:
            places = choice.get("place", [])
            if any(named & self.bare_meaning(m) for m in places):
                return choice["payload"]
        return ""

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
        pointers = self.bare_meaning("pointer")
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
        placed = self.placed_choice(text)
        if placed:
            return payload_reading(self.skills, placed)
        if self.choices and understand.trim(text) not in self.bare_meaning("unsure"):  # "no sé": no "no"
            for n, said in enumerate(variants):
                if n and starts:
                    break  # "yes, the second one" starts with an answer: not a choice said whole
                payload = understand.pick_choice(said, self.choices, self.meanings, whole_only=True)
                if payload:
                    return payload_reading(self.skills, payload)
        for said in variants:
            alias = self.skills.alias_hit(self.state_name, self.locale, said)
            if alias and alias.whole:
                twins = self.twins(alias, said)
                return (
                    ask(self.skills, twins)
                    if self.unsure(alias) or len(twins) > 1
                    else payload_reading(self.skills, twins[0])
                )
        return None

    def twins(self, alias: Hit, said: str) -> list[str]:
        """The answers the state's words read in the same words as ``alias`` ("not a beginner":
        Intermediate, or Advanced?), ``alias``'s first."""
        found = self.skills.alias_hits(self.state_name, self.locale, said)
        there = (alias.start, alias.end)
        same = list(dict.fromkeys([alias.intent, *(h.intent for h in found if (h.start, h.end) == there)]))
        if len(same) < 2:
            return same
        words, whole = alias.folded[alias.start : alias.end], self.said.folded  # the message's, not a clause's
        at = whole.find(words)
        rest = whole[:at] + " " * len(words) + whole[at + len(words) :] if at >= 0 else whole
        negations = self.meanings.get("negation", [])
        named: list[str] = []
        denied: list[str] = []
        for h in self.skills.alias_hits(self.state_name, self.locale, rest):
            if h.intent in same:
                no = phrasing.negated(self.said, len(rest) - len(h.folded) + h.start, negations)
                (denied if no else named).append(h.intent)
        left = [answer for answer in same if answer not in denied]  # "but I wouldn't call myself advanced"
        return named[:1] or left or same  # "not a beginner, more like intermediate": the one named

    def unsure(self, alias: Hit) -> bool:
        """Whether the state's words were found in words that say "I don't know" ("ni idea", "no
        idea"): an answer to a question about what one knows, or about the question itself? Asked."""
        unsure = {understand.trim(p) for p in self.meanings.get("unsure", [])}
        found = understand.trim(alias.folded[alias.start : alias.end])
        return any(says(found, phrase) for phrase in unsure)

    def denies(self, text: str, core: str) -> bool:
        """Whether the words that open ``text`` end with a negation said of what follows (no comma
        between): then what follows is not said, it is denied."""
        lead = text[: len(text) - len(core)]
        said = understand.words(understand.fold(lead))
        negations = self.bare_meaning("negation")
        return bool(said) and said[-1] in negations and lead.rstrip()[-1:] not in ",.;:!?"

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
        return any(says(folded, word) for word in self.meanings.get("cue_human", []))

    def asks_advice(self) -> bool:
        """Whether the message asks the bot to choose ("what do you recommend?", "tú decide")."""
        folded = understand.trim(self.text)
        return any(says(folded, phrase) for phrase in self.bare_meaning("advice"))

    def is_request(self) -> bool:
        """A question, or a message that opens with what opens a request ("show me", "can we")."""
        phrases = self.meanings.get("request", [])
        folded = understand.fold(self.text)
        past_fillers = understand.strip_fillers(folded, self.meanings.get("filler", []))  # "mejor muéstrame"
        said = (folded, past_fillers, understand.fold(self.core))
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
        # Words an earlier answer's negation denies ("never used it": "used it" is not said) are not one.
        negations = self.bare_meaning("negation")
        said = [h for h in apart if not self.denied_by_another(h, apart, negations)]
        kept = said or apart
        if kept and all((h.start, h.end) == (kept[0].start, kept[0].end) for h in kept):
            return self.twins(kept[0], text)  # one answer's words that read two ("not a beginner")
        return list(dict.fromkeys(h.intent for h in kept))

    @staticmethod
    def denied_by_another(hit: Hit, found: list[Hit], negations: frozenset[str]) -> bool:
        """Whether ``hit`` comes right after another answer that is a negation ("never" + "used it")."""
        for other in found:
            gap = hit.folded[other.end : hit.start]
            words = understand.words(hit.folded[other.start : other.end])
            if (
                other is not hit
                and other.end <= hit.start
                and len(understand.words(gap)) <= 2
                and negations & set(words)
            ):
                return True
        return False

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

    def same_reading(self, hit: Hit) -> Reading:
        """``hit`` as the button on screen that is the same act, when there is one ("drop it" at
        "Drop Git?": its yes, for Git); else as read."""
        same = self.same_choice(hit)
        return payload_reading(self.skills, same) if same else Reading(hit.intent, hit.args)

    def asked_by(self, hit: Hit) -> bool:
        """Whether ``hit`` would ask the question on screen again without naming anything ("drop
        it" at "Drop Git?")."""
        skill = str(hit.args.get("skill") or "")
        if skill:  # "ya no quiero aprender git" at "Drop Git?": its yes; not at "Drop Python?"
            return bool(self.answer_on_screen(hit.intent, skill))
        on_screen = {(self.skills.match_payload(c.get("payload", "")) or ("",))[0] for c in self.choices}
        return ASKED_BY.get(hit.intent) in on_screen

    def answer_on_screen(self, intent: str, skill: str) -> str:
        """The button of the question on screen that ``intent`` for ``skill`` answers ("Yes, drop
        it" for a drop of Git at "Drop Git?"), or ""."""
        for choice in self.choices:
            found = self.skills.match_payload(choice.get("payload", ""))
            if found and found[0] == ASKED_BY.get(intent) and found[1].get("skill") == skill:
                return choice["payload"]
        return ""

    def as_answer(self, hit: Hit) -> Hit:
        """``hit``, or the question's yes when it would ask the question on screen again ("yes,
        drop it" at "Drop Git?"). Negated, it is the question's no: keep_reading()."""
        return dataclasses.replace(hit, intent=ASKED_BY[hit.intent]) if self.asked_by(hit) else hit

    def keep_reading(self) -> Reading | None:
        """The question's no on screen ("No, keep it"), read as its button; None when there is none."""
        kept = next((c["payload"] for c in self.choices if "no" in c.get("means", [])), "")
        return payload_reading(self.skills, kept) if kept else None

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
            said = any(says(folded, p) for m in choice.get("means", []) for p in self.meanings.get(m, []))
            if extra and (extra <= {"skill"} or said):
                return choice["payload"]
        return ""

    def opening_answer(self, text: str) -> tuple[str, int]:
        """The choice on screen the message opens with a short answer for ("yes, drop it"), and
        where that answer ends; ("", 0) when none."""
        if not self.choices or phrasing.opens_with(understand.fold(text), self.meanings.get("unsure", [])):
            return "", 0  # "no sé, déjame pensarlo": its "no" answers nothing
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
            says(self.said.folded, w) for w in self.meanings.get("unfinished", [])
        ):
            # "I'm done for today", "finished reading half of it", "ya terminé por hoy": is the step done?
            return ask(self.skills, [self.payload_of("mark_done", {})])
        named = [k for k in self.skills.skills_named(self.said.folded) if k in self.conv.progress]
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
        fields = [skills for name, skills in self.skills.fields.items() if says(folded, name)]
        if not fields:
            return reading
        outright = [
            n for n, _ in self.skills.entities["skill"].items() if n not in self.skills.fields and says(folded, n)
        ]
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
