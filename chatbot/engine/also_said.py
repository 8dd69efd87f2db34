"""What else a message says beside what it is read as, filled in: several things said at once
("git, intermediate, 4 hours a week", "yes at noon", "remind me in 3 days"), and the subject of a
suggestion or a topic as typed, without the words that lead to it ("maybe", "clases de") or the
courtesy after it. Read from skills.json's vocabulary and the amounts of time (amounts.py)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from chatbot.engine import amounts, clock, linear, phrasing, time_words, understand
from chatbot.engine.skills import Skills

TOKEN = linear.scanner(r"\S+")
# The acts whose text is what something is about ("a course on negotiation": negotiation), not an
# answer to read further (the hours' "30 minutes a day").
SUBJECTS = frozenset({"save_suggestion", "suggest_this", "learn_topic", "save_topic"})
MAX_TAILS = 4  # courtesy words taken off the end of a subject ("please, thanks!")
SUBJECT_EDGES = understand.EDGES + "🙂😊🙏👍😀😄❤️❤!?"
OTHER_DAY = ("other day", "2 days", "two days", "dos dias", "2 dias", "dia por medio", "alternate", "dia si y otro no")
DAY_WORDS = frozenset({"day", "days", "dia", "dias"})  # "in 3 days": a snooze's
EVERY = frozenset({"every", "each", "cada"})  # "cada dos días": how often, not when
DAILY = frozenset({"daily", "everyday", "diario", "diaria", "diariamente"})  # how often, in one word
HABIT_ARTICLES = frozenset({"los", "todos"})  # "los lunes", "todos los martes": every week's
LEVEL_WORDS = frozenset({"level", "nivel"})  # "nivel básico": a level named outright
LEVEL_NAME = 7  # letters of a level's name said outright with a skill ("beginner"), not "pro" or "medium"


@dataclass
class Meant:
    """An intent and its arguments, as they are filled in."""

    intent: str
    args: dict


def subject(text: str, meanings: dict, lead_words: bool = False) -> str:
    """What a suggestion or a topic is about, as typed: without the words that lead to it ("maybe",
    "a course on", "clases de"), courtesy ("please", "gracias"), where to add it ("to the list"),
    punctuation or emoji around it."""
    leads = [*meanings.get("filler", []), *meanings.get("lead_in", [])]
    folded = understand.fold(text)
    start = len(folded) - len(understand.strip_fillers(folded, leads))
    end = len(folded)
    if lead_words:
        start = past_lead_words(folded, start, frozenset(understand.trim(w) for w in meanings.get("lead_word", [])))
        end = before_tail_words(folded, start, frozenset(understand.trim(w) for w in meanings.get("tail_word", [])))
        end = before_a_request(folded, start, end, [*meanings.get("request", []), *meanings.get("polite", [])])
    end = without_tails(folded, start, end, [*meanings.get("courtesy", []), *meanings.get("to_the_list", [])])
    said = text[start:end].strip(SUBJECT_EDGES)
    return said or text.strip()


def past_lead_words(folded: str, start: int, lead: frozenset[str]) -> int:
    """Where ``folded[start:]`` starts past the single words that lead to a subject without being
    it ("I'd really like to learn guitar", "there should be a course on negotiation"), whatever
    their order; the last word is always kept."""
    found = list(TOKEN.finditer(folded, start))
    for word, after in zip(found, found[1:], strict=False):
        if word.group().strip(understand.EDGES) not in lead:
            return word.start()
        start = after.start()
    return start


def before_tail_words(folded: str, start: int, tail: frozenset[str]) -> int:
    """Where ``folded[start:]`` ends before a word that opens what is said of a subject ("baking
    bread would be amazing", "cocina si se puede"); the first word is always kept."""
    for word in list(TOKEN.finditer(folded, start))[1:]:
        if word.group().strip(understand.EDGES) in tail:
            return word.start()
    return len(folded)


def before_a_request(folded: str, start: int, end: int, openers: list[str]) -> int:
    """Where ``folded[start:end]`` ends before a clause of its own that asks something ("guitar, can
    you help with that"): a comma, semicolon or question mark followed by what opens a request."""
    for at in range(start, end):
        if folded[at] in ",;?!" and at > start:
            rest = folded[at + 1 : end].strip(understand.EDGES)
            if rest and phrasing.opens_with(rest, openers):
                return at
    return end


@functools.lru_cache(maxsize=64)
def _longest_first(phrases: frozenset[str]) -> list[str]:
    return sorted(phrases, key=lambda p: (-len(p), p))


def without_tails(folded: str, start: int, end: int, courtesy: list[str]) -> int:
    """Where ``folded[start:end]`` ends without the courtesy words and punctuation it ends with."""
    tails = _longest_first(understand.trimmed(courtesy))
    changed, rounds = True, 0
    while changed and rounds < MAX_TAILS:
        changed, rounds = False, rounds + 1
        rest = folded[start:end].rstrip(SUBJECT_EDGES)
        end = start + len(rest)
        for tail in tails:
            if rest.endswith(tail) and len(rest) > len(tail) and not rest[-len(tail) - 1].isalnum():
                end -= len(tail)
                changed = True
                break
    return end


def cadence(text: str, table: dict, locale: str = "") -> str:
    """ "every other day" -> "2", "daily" -> "1", "weekly" -> "7", "twice a week" -> "4"; "" when
    no cadence is said."""
    toks = time_words.tokens(text, locale)
    said = " ".join(toks)
    if any(p in said for p in OTHER_DAY):
        return "2"
    marks = amounts.read_marks(toks, table)
    kinds = {kind for _, kind, _ in marks}
    weeks = _week_words(table)
    for (i, kind, value), nxt in zip(marks, [*marks[1:], (len(toks), "", "")], strict=False):
        if kind != "number":
            continue
        # "twice a week", "dos veces por semana" (a "times a week" phrase): every 4 days
        times_a_week = nxt[1] == "week" or (nxt[1] == "days" and weeks & set(toks[nxt[0] : nxt[0] + 4]))
        if times_a_week and nxt[0] - i <= 3 and toks[i] not in time_words.ARTICLES:
            return str(max(1, min(7, int(7 / max(float(value), 1) + 0.5))))
        # "every 3 days", "cada tres días", "cada tercer día" (the ordinal read as its number)
        if i and toks[i - 1] in EVERY and (nxt[1] in DAY_WORDS and nxt[0] - i <= 2 or toks[i + 1 : i + 2] in _DAY):
            return str(max(1, min(7, int(float(value) + 0.5))))
    # Days of the week said as a habit ("every monday", "on fridays", "los lunes", "mondays and
    # thursdays"): once a week each; "on monday" or "el lunes" alone is one day, not how often.
    weekdays = {value for i, kind, value in marks if kind == "weekday_name" and _a_habit(toks, i)}
    if weekdays:
        return str(max(1, int(7 / len(weekdays) + 0.5)))
    return "1" if "day" in kinds else "7" if "week" in kinds else ""


_DAY = [[word] for word in DAY_WORDS]


def _week_words(table: dict) -> set[str]:
    """The words that end the vocabulary's "a week" phrases ("week", "semana", "weekly")."""
    return {phrase.split()[-1] for phrase in table.get("week", []) if phrase.split()}


def _a_habit(toks: list[str], i: int) -> bool:
    """Whether the day of the week at ``i`` is said as every week's: after every, each, cada or a
    plural article (los, todos los), or in the plural itself (mondays)."""
    before = toks[i - 1] if i else ""
    return before in EVERY or before in HABIT_ARTICLES or toks[i].endswith("days")


def _one_weekday(text: str, table: dict, locale: str) -> str:
    """The one day of the week named, not as a habit ("remind me on monday", "el lunes"), or ""."""
    toks = time_words.tokens(text, locale)
    marks = amounts.read_marks(toks, table)
    days = {str(v) for i, kind, v in marks if kind == "weekday_name" and not _a_habit(toks, i)}
    return days.pop() if len(days) == 1 else ""


def _in_days(text: str, table: dict, locale: str) -> str:
    """ "remind me in 3 days", "give me a couple of days", "en dos días" -> the number of days."""
    toks = time_words.tokens(text, locale)
    marks = amounts.read_marks(toks, table)
    for (i, kind, value), nxt in zip(marks, marks[1:], strict=False):
        if i > 0 and toks[i - 1] in EVERY:
            continue  # "cada dos días": how often, not when
        if kind == "number" and toks[nxt[0]] in DAY_WORDS and nxt[0] - i <= 3 and 0 < float(value) <= 30:
            return str(int(float(value)))
    return ""


def fill(skills: Skills, intent: str, args: dict, text: str, state: str, locale: str) -> tuple[str, dict]:
    """Several things said at once fill everything they say: a skill picked with its level and
    hours ("git, intermediate, 4 hours a week"), an answer about the level or the hours with the
    other one and a time for reminders, a yes to reminders with a time or how often ("yes at
    noon": reminders at 12), a snooze with its days. The intent read, and its arguments."""
    said = Said(skills, text, state, locale)
    reading = Meant(intent, dict(args))
    for key in ("text", "topic"):
        if reading.args.get(key) and (key == "topic" or reading.intent in SUBJECTS):  # not an answer's words
            reading.args[key] = subject(str(reading.args[key]), said.meanings, reading.intent in SUBJECTS)
    reading = _reminders_said(reading, said)
    if reading.intent == "snooze" and "days" not in reading.args:
        _snooze_said(reading, said)
    if reading.intent == "change_pace" and "hours" not in reading.args:
        wanted = _after_last(text, said.meanings.get("new_amount", []))  # "4 h is too much, make it 2": 2
        weekly = amounts.hours_per_week(wanted, said.table, locale) if wanted else None
        if weekly:
            reading.args["hours"] = str(max(1, int(weekly + 0.5)))
    if reading.intent in ("pick_skill", "mention_skill") and reading.args.get("skill"):
        _plan_said(skills, reading, text, said.table, locale)
    if reading.intent in ("choose_level", "choose_hours"):
        _answers_said(reading, said)
    return reading.intent, reading.args


@dataclass
class Said:
    """A message, and where it is read: what the steps of ``fill`` look at."""

    skills: Skills
    text: str
    state: str
    locale: str

    @property
    def meanings(self) -> dict:
        return self.skills.words(self.locale, "meanings")

    @property
    def table(self) -> dict:
        return self.skills.words(self.locale, "durations")


def _reminders_said(reading: Meant, said: Said) -> Meant:
    """A yes to reminders, how often or a time for them, with what else the message says of them:
    "sí, pero no todos los días", "yes at noon", "remind me every day at 8"."""
    text, table, locale = said.text, said.table, said.locale
    if reading.intent == "remind_off" and understand.says_any(text, said.meanings.get("less_often", [])):
        # "stop reminding me so often", "no me mandes recordatorios tan seguido": fewer, not none
        return Meant("clarify", {"offers": ["REMIND_EVERY:7", "REMIND:off"]})
    instead = _after_last(text, said.meanings.get("instead", []))
    moved = (
        clock.of_day(instead, table, locale, part_of_day=True) if instead and reading.intent == "remind_off" else None
    )
    if moved is not None:  # "ya no me avises en la mañana, mejor en la tarde": at that time instead
        return Meant("remind_at", {"hour": str(moved[0])})
    reminding = reading.intent in ("remind_on", "remind_every")
    not_daily = reminding and understand.says_any(text, said.meanings.get("not_daily", []))
    often = cadence(text, table, locale) if not_daily else ""
    if not_daily and often not in ("", "1"):  # "pero no tan seguido, una vez por semana": weekly
        reading = Meant("remind_every", {**reading.args, "days": often})
    elif not_daily:  # "sí, pero no todos los días": on, at the pace's own cadence, not daily
        reading = Meant("remind_on", {k: v for k, v in reading.args.items() if k != "days"})
    elif reading.intent == "remind_on":
        reading = _reminder_said(reading, text, table, locale)
    if reading.intent == "remind_every" and "days" not in reading.args:
        days = cadence(text, table, locale)
        if days:
            reading.args["days"] = days
    if reading.intent == "remind_at" and "hour" not in reading.args:
        time = clock.of_day(text, table, locale, part_of_day=True)
        if time:
            reading.args["hour"] = str(time[0])
    habit = any(w in EVERY | HABIT_ARTICLES | DAILY for w in understand.words(understand.fold(text)))
    if reading.intent == "remind_at" and "days" not in reading.args and habit:
        often = cadence(text, table, locale)  # "remind me every day at 8": daily, at 8
        if often:
            reading.args["days"] = often
    return reading


def _snooze_said(reading: Meant, said: Said) -> None:
    """A snooze's days ("in 3 days") or the day of the week it waits for ("avísame el lunes")."""
    days = _in_days(said.text, said.table, said.locale)
    if days:
        reading.args["days"] = days
    elif _one_weekday(said.text, said.table, said.locale):
        reading.args["weekday"] = _one_weekday(said.text, said.table, said.locale)


def _answers_said(reading: Meant, said: Said) -> None:
    """The level question's or the hours question's answer, with the other one said beside it, and
    a time for reminders ("beginner, 3 hours a week, remind me at 7pm")."""
    text, table, locale = said.text, said.table, said.locale
    if reading.intent == "choose_level" and "hours" not in reading.args:
        weekly = amounts.hours_per_week(text, table, locale) if amounts.read_amounts(text, table, locale) else None
        if weekly:
            reading.args["hours"] = str(max(1, int(weekly + 0.5)))
    # A level correction said with the hours ("actually I'm a beginner, 3 hours"), in words: a number
    # alone at the hours question is hours, never the level question's third button.
    worded = any(character.isalpha() for character in text)
    if reading.intent == "choose_hours" and "level" not in reading.args and said.state != "choosing_level" and worded:
        level = level_named(said.skills, text, said.meanings)  # by its name: "media hora" or "every day" is no level
        if level:
            reading.args["level"] = level
    if any(w in understand.fold(text) for w in said.meanings.get("remind", [])):
        time = clock.of_day(text, table, locale, part_of_day=True)
        if time:
            reading.args["hour"] = str(time[0])


def level_named(skills: Skills, text: str, meanings: dict) -> str:
    """The level a message names outright and does not deny ("actually I'm a beginner"; "I'm not a
    beginner, more like intermediate": intermediate), or ""."""
    levels = skills.entities.get("level", {})
    negations = {understand.trim(n) for n in meanings.get("negation", [])}
    said = understand.words(understand.fold(text))
    named = ""
    for n, word in enumerate(said):
        outright = len(word) >= LEVEL_NAME or (n > 0 and said[n - 1] in LEVEL_WORDS)
        denied = any(w in negations for w in said[max(0, n - 3) : n])
        if word in levels and outright and not denied:
            named = levels[word]
    return named


def _reminder_said(reading: Meant, text: str, table: dict, locale: str) -> Meant:
    """A yes to reminders that says when: in some days (a snooze), at a time, or how often."""
    days = _in_days(text, table, locale)
    if days:
        return Meant("snooze", {"days": days})
    time = clock.of_day(text, table, locale, part_of_day=True, said_as_time=True)
    if time:
        return Meant("remind_at", {"hour": str(time[0])})
    often = cadence(text, table, locale)
    if often:
        return Meant("remind_every", {"days": often})
    return reading


def _from_scratch(text: str, meanings: dict) -> bool:
    """Whether a skill is said to be started from nothing ("from scratch", "desde cero")."""
    return understand.says_any(text, meanings.get("from_scratch", []))


def _after_last(text: str, phrases: list[str]) -> str:
    """What ``text`` says after the last of ``phrases`` it holds as whole words, or ""."""
    folded = " ".join(t for w in understand.fold(text).split() if (t := w.strip(understand.EDGES)))
    ends = [end for p in phrases for end in understand.phrase_ends(folded, p)]
    return folded[max(ends) :].strip() if ends else ""


def _plan_said(skills: Skills, reading: Meant, text: str, table: dict, locale: str) -> None:
    """A skill picked with its level named outright and the hours it gets ("quiero python, soy
    principiante", "sql, nivel intermedio, unas 3 horas a la semana")."""
    levels = skills.entities.get("level", {})
    said = understand.words(understand.fold(text))
    for n, word in enumerate(said):
        named = n > 0 and said[n - 1] in LEVEL_WORDS  # "nivel básico", "level: basic"
        if word in levels and (len(word) >= LEVEL_NAME or named):
            reading.args.setdefault("level", levels[word])
            break
    if "level" not in reading.args and _from_scratch(text, skills.words(locale, "meanings")):
        reading.args["level"] = "beginner"  # "quiero aprender inglés desde cero"
    if amounts.read_amounts(text, table, locale):  # "excel, unas 2 horas por día": kept for later
        weekly = amounts.hours_per_week(text, table, locale)
        if weekly:
            reading.args["hours"] = str(max(1, int(weekly + 0.5)))
