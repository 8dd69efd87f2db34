"""Amounts of time and times of day, as people type them in English and Spanish.

"1 hora al dia de lunes a viernes" is 5 hours a week, "media horita diaria" 3.5, "2 hours tuesday
and thursday" 4, "1h mon-fri plus 3h on sunday" 8; "7 de la tarde" is 19:00, "every evening at 7"
19:00, "9 de la mañana" 9:00. The words come from skills.json's ``durations`` vocabulary (units,
periods, days, parts of the day); numbers written as words are read by text2num, and the short
ones ("a couple", "un par de", "half") by the vocabulary. The text is cut into tokens once
(a linear-time pattern) and read token by token: no pattern here can backtrack.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from text_to_num import alpha2digit

from chatbot.engine import linear
from chatbot.engine.understand import fold

TOKEN = linear.scanner(r"\d{1,9}(?:[.,]\d{1,6})?|[a-z]+|[^\sa-z\d]")
MAX_WORDS_READ = 300  # characters given to text2num: an amount is said near the start
PER_PERIOD = {"weekday": 5.0, "weekend": 2.0, "day": 7.0, "week": 1.0, "month": 7 / 30.4}
DURATION_WORDS = ("hour", "minute", "half", "and_half", "range", "between", "plus", "days", *PER_PERIOD)
CLOCK_WORDS = ("hour", "minute", "days", "noon", "midnight", "am", "pm", "morning", "evening", "at")
MAX_PHRASE = 5  # tokens in the longest vocabulary phrase looked for
MAX_TOKENS = 80  # an amount of time is said in a sentence: the rest of a long message is not read
# The clock's own notation, in every language.
NOTATION = {("am",): "am", ("pm",): "pm", ("a", ".", "m"): "am", ("p", ".", "m"): "pm"}
NOTATION |= {(*k, "."): v for k, v in NOTATION.items() if len(k) == 3}
NEAR = 8  # tokens between an amount and a word about its period
ARTICLES = frozenset({"a", "an", "un", "una"})  # numbers of the vocabulary that are mostly articles
NOTES = frozenset({"am", "pm", "a", "p"})  # the clock's notation alone says no part of the day


@dataclass
class Amount:
    at: int  # token index
    hours: float
    minutes_only: bool = False
    periods: list[str] = field(default_factory=list)
    days: set[str] = field(default_factory=set)
    times: float | None = None  # "3 days a week": times a week
    without: set[str] = field(default_factory=set)  # "every day except sundays": the days left out


def tokens(text: str, lang: str = "") -> list[str]:
    """The words, numbers and signs of ``text``, folded, numbers written as words as digits."""
    said = fold(text)[:MAX_WORDS_READ]
    if any(c.isalpha() for c in said):
        for language in ([lang] if lang else []) or ["en", "es"]:
            with contextlib.suppress(ValueError, RuntimeError):  # text2num found nothing it can read
                said = fold(alpha2digit(said, language))  # "dos", "un par": the vocabulary's
    return _split(said)


def _hours_and_minutes(toks: list[str]) -> list[str]:
    """ "1h30" (read as 1, h, 30) is one and a half hours: one number of hours, as "1.5 h". Not a
    time of day ("at 7h30", "a las 18h30": clock() reads those)."""
    out, i = [], 0
    while i < len(toks):
        three = toks[i : i + 3]
        at = i > 0 and toks[i - 1] in ("at", "around", "by", "las", "la", "@")
        minutes = len(three) == 3 and len(three[2]) == 2 and three[2].isdigit() and int(three[2]) < 60
        if minutes and not at and three[0].isdigit() and three[1] in ("h", "hr", "hrs"):
            out += [f"{int(three[0]) + int(three[2]) / 60:g}", three[1]]
            i += 3
            continue
        out.append(toks[i])
        i += 1
    return out


def with_digits(text: str, lang: str = "") -> str:
    """``text`` folded, with numbers written as words as digits ("una hora" -> "1 hora"), or as
    it was when it holds none (or text2num cannot read it)."""
    said = fold(text)[:MAX_WORDS_READ]
    for language in ([lang] if lang else []) or ["en", "es"]:
        with contextlib.suppress(ValueError, RuntimeError):
            said = fold(alpha2digit(said, language))
    return said


def _split(folded: str) -> list[str]:
    return TOKEN.findall(folded)[:MAX_TOKENS]


def _phrases(table: dict, key: str) -> dict[tuple[str, ...], str]:
    out = {}
    for phrase in table.get(key, []):
        words = tuple(t for t in _split(fold(phrase)) if t)
        if words:
            out[words] = key
    return out


class Reader:
    """One vocabulary's words, looked up by runs of tokens (longest first)."""

    def __init__(self, table: dict, kinds: tuple[str, ...] = DURATION_WORDS) -> None:
        self.words: dict[tuple[str, ...], str] = dict(NOTATION) if "am" in kinds else {}
        for kind in kinds:
            self.words.update(_phrases(table, kind))
        self.numbers = {tuple(_split(fold(k))): float(v) for k, v in table.get("numbers", {}).items()}
        self.weekdays = {tuple(_split(fold(k))): str(v) for k, v in table.get("weekdays", {}).items()}

    def lookup(self, toks: list[str], i: int) -> tuple[str, float | str, int]:
        """What starts at token ``i``: (kind, value, length); ("", "", 1) when nothing known."""
        for n in range(min(MAX_PHRASE, len(toks) - i), 0, -1):
            run = tuple(toks[i : i + n])
            if run in self.words:
                return self.words[run], "", n
            if run in self.numbers:
                return "number", self.numbers[run], n
            if run in self.weekdays:
                return "weekday_name", self.weekdays[run], n
        token = toks[i]
        if token[:1].isdigit():
            return "number", float(token.replace(",", ".")), 1
        return "", "", 1


_READERS: dict[tuple[int, tuple[str, ...]], tuple[dict, Reader]] = {}
_WORDS: dict[int, tuple[dict, frozenset[str]]] = {}


def words_of(table: dict) -> frozenset[str]:
    """Every word of a ``durations`` vocabulary (units, periods, numbers, parts of the day), once
    per table: what a message that only says when or how much is made of."""
    if id(table) not in _WORDS or _WORDS[id(table)][0] is not table:
        phrases = [*table.get("numbers", {}), *(p for v in table.values() if isinstance(v, list) for p in v)]
        _WORDS[id(table)] = (table, frozenset(w for p in phrases for w in _split(fold(str(p))) if w.isalpha()))
    return _WORDS[id(table)][1]


def reader(table: dict, kinds: tuple[str, ...] = DURATION_WORDS) -> Reader:
    """The reader of a vocabulary, built once (skills.json's tables do not change while it runs)."""
    key = (id(table), kinds)
    if key not in _READERS or _READERS[key][0] is not table:
        _READERS[key] = (table, Reader(table, kinds))
    return _READERS[key][1]


def _marks(reader: Reader, toks: list[str]) -> list[tuple[int, str, float | str]]:
    """The text as (token index, kind, value) for every word or number the vocabulary knows."""
    out, i = [], 0
    while i < len(toks):
        kind, value, n = reader.lookup(toks, i)
        if kind:
            out.append((i, kind, value))
        i += n
    return out


def _with_dashes(marks: list, toks: list[str]) -> list:
    """The marks with every dash between two numbers ("2-3") as a range word."""
    dashes = [(i, "dash", "") for i, tok in enumerate(toks) if tok in ("-", "–")]
    return sorted(marks + dashes, key=lambda mark: mark[0])


def _numbers(marks: list) -> list:
    """Ranges to their midpoint ("2-3", "two or three", "between 4 and 6"), "and a half" added."""
    out: list = []
    k = 0
    while k < len(marks):
        i, kind, value = marks[k]
        nxt = marks[k + 1 : k + 4]
        if kind == "between" and len(nxt) >= 3 and nxt[0][1] == "number" and nxt[2][1] == "number":
            out.append((nxt[2][0], "number", (float(nxt[0][2]) + float(nxt[2][2])) / 2))
            k += 4
            continue
        if (
            kind == "number"
            and len(nxt) >= 2
            and nxt[0][1] in ("range", "dash")
            and nxt[1][1] == "number"
            and nxt[1][0] - i <= 3
        ):
            out.append((nxt[1][0], "number", (float(value) + float(nxt[1][2])) / 2))
            k += 3
            continue
        out.append(marks[k])
        k += 1
    return out


def read_amounts(text: str, table: dict, lang: str = "") -> list[Amount]:
    toks = _hours_and_minutes(tokens(text, lang))
    marks = _numbers(_with_dashes(_marks(reader(table), toks), toks))
    amounts: list[Amount] = []
    k = 0
    while k < len(marks):
        i, kind, value = marks[k]
        after = marks[k + 1] if k + 1 < len(marks) else None
        if kind == "half" and after and after[1] in ("hour", "minute") and after[0] - i <= 2:
            amounts.append(Amount(i, 0.5 if after[1] == "hour" else 0.5 / 60))
            k += 2
        elif kind == "number" and after and after[1] in ("hour", "minute") and after[0] - i <= 1:
            hours = float(value) if after[1] == "hour" else float(value) / 60
            amount = Amount(i, hours, minutes_only=after[1] == "minute")
            k += 2
            rest = marks[k : k + 2]
            if rest and rest[0][1] == "and_half":
                amount.hours += 0.5
                k += 1
            elif (
                after[1] == "hour"
                and rest
                and rest[0][1] == "number"
                and rest[0][0] == after[0] + 1
                and 0 < float(rest[0][2]) < 60
            ):  # "1h30", "1 hour 30 (minutes)"
                amount.hours += float(rest[0][2]) / 60
                k += 2 if len(rest) > 1 and rest[1][1] == "minute" else 1
            amounts.append(amount)
        elif kind == "number" and amounts and _beside_a_day(marks, k):
            # "dos horas el sábado y dos el domingo", "... y el sábado dos": the unit said once
            amounts.append(Amount(i, float(value) * amounts[-1].hours / max(_first_number(marks, amounts[-1]), 1e-9)))
            k += 1
        elif kind == "hour" and not (amounts and amounts[-1].at >= i - 2):
            # "hora y media", "an hour" said without a number the vocabulary knows
            amount = Amount(i, 1.0)
            if after and after[1] == "and_half":
                amount.hours += 0.5
                k += 1
            if toks[i] in ("hour", "hora", "horita") or after and after[1] == "and_half":
                amounts.append(amount)
            k += 1
        else:
            k += 1
    _attach_periods(marks, amounts, toks)
    return amounts


def _beside_a_day(marks: list, k: int) -> bool:
    """Whether the number at ``marks[k]`` is said of a day named right before or after it, with
    no unit of its own."""
    i = marks[k][0]
    after = marks[k + 1] if k + 1 < len(marks) else None
    before = marks[k - 1] if k > 0 else None
    if after and after[1] == "weekday_name" and after[0] - i <= 2:
        return True
    unit_after = after is not None and after[1] in ("hour", "minute") and after[0] - i <= 1
    return bool(before and before[1] == "weekday_name" and i - before[0] <= 2 and not unit_after)


def _first_number(marks: list, amount: Amount) -> float:
    """The number an amount was said with (the hours of "2 horas" are 2, of "30 minutes" 0.5)."""
    return next((float(v) for i, kind, v in marks if i == amount.at and kind == "number"), amount.hours)


def _attach_periods(marks: list, amounts: list[Amount], toks: list[str]) -> None:
    """Each word about a period ("a day", "los findes", "tuesday", "3 days a week") goes to the
    amount said last before it, else to the nearest one after it; a day said after "except",
    "but" or "menos" is one left out ("an hour a day except sundays")."""
    if not amounts:
        return
    for k, (i, kind, value) in enumerate(marks):
        before = [a for a in amounts if a.at < i and i - a.at <= NEAR]
        target = before[-1] if before else min(amounts, key=lambda a: abs(a.at - i))
        if abs(target.at - i) > NEAR:
            continue
        if kind == "weekend" and EXCEPT & set(toks[max(0, i - 2) : i]):
            target.without |= {"sat", "sun"}  # "every day except weekends"
        elif kind in PER_PERIOD and not (kind == "week" and _times_a_week(marks, k, amounts)):
            target.periods.append(kind)
        elif kind == "weekday_name" and EXCEPT & set(toks[max(0, i - 2) : i]):
            target.without.add(str(value))
        elif kind == "weekday_name":
            target.days.add(str(value))
        elif (
            kind in ("days", "week")
            and k > 0
            and marks[k - 1][1] == "number"
            and i - marks[k - 1][0] <= (1 if kind == "days" else 2)
            and not any(a.at == marks[k - 1][0] for a in amounts)
        ):
            target.times = float(marks[k - 1][2])  # "3 days a week", "twice a week (for an hour)"
            if kind == "week":
                target.periods.append(kind)


def _times_a_week(marks: list, k: int, amounts: list[Amount]) -> bool:
    """ "twice a week", "3 a week" beside an amount with its own unit: how often, not hours."""
    before = marks[k - 1] if k > 0 else None
    return bool(
        before
        and before[1] == "number"
        and marks[k][0] - before[0] <= 2
        and not any(a.at == before[0] for a in amounts)
    )


def weekly(amount: Amount) -> float:
    if amount.without and "day" in amount.periods:
        return amount.hours * (7 - len(amount.without))
    if amount.days:
        return amount.hours * len(amount.days)
    for period in ("weekday", "weekend"):
        if period in amount.periods:
            return amount.hours * PER_PERIOD[period]
    if amount.times:
        return amount.hours * min(7.0, amount.times)
    for period in ("day", "month", "week"):
        if period in amount.periods:
            return amount.hours * PER_PERIOD[period]
    return amount.hours * (7.0 if amount.minutes_only else 1.0)


EXCEPT = frozenset({"except", "but", "besides", "menos", "excepto", "salvo"})  # "every day except sundays"
# Words that may follow a bare number of hours ("4 or so", "6 max", "ocho más o menos", "5 i guess").
BARE_NUMBER_AFTER = frozenset(
    """or maybe max tops more less ish please i and is would should could probably hrs hr h of a an per each
    every weekly daily o mas menos como maximo quizas tal creo supongo y de por al cada la semanal semanales
    diario diarias""".split()  # noqa: SIM905 - a list of words, read as one
)


def hours_per_week(text: str, table: dict, lang: str = "") -> float | None:
    """Hours a week in ``text``; None when it says no amount of time. A bare number ("5", "maybe
    6", "ocho") is hours a week; parts with periods of their own are added up."""
    amounts = read_amounts(text, table, lang)
    if not amounts:
        toks = tokens(text, lang)
        marks = _numbers(_with_dashes(_marks(reader(table), toks), toks))
        at_words = {phrase.split()[-1] for phrase in table.get("at", []) if phrase.split()}
        numbers = [m for m in marks if m[1] == "number" and not _said_as_time(toks, m[0], at_words)]
        if len(numbers) != 1 or _counts_something_else(toks, numbers[0][0], marks):
            return None
        amounts = [Amount(numbers[0][0], float(numbers[0][2]))]
        _attach_periods(marks, amounts, toks)
    with_period = [a for a in amounts if a.periods or a.days or a.times]
    parts = with_period if len(with_period) > 1 else amounts[:1]
    total = sum(weekly(a) for a in parts)
    return total if total > 0 else None


def _counts_something_else(toks: list[str], i: int, marks: list) -> bool:
    """ "two kids", "3 jobs": a bare number that counts the word after it, not hours ("5", "maybe 6",
    "4 or so", "ocho más o menos", "a couple of hours" are hours)."""
    if any(at > i and kind != "number" for at, kind, _ in marks):
        return False  # a word of time follows: "a couple of hours"
    after = toks[i + 1 : i + 2]
    return bool(after) and after[0].isalpha() and after[0] not in BARE_NUMBER_AFTER


def _said_as_time(toks: list[str], i: int, at_words: set[str]) -> bool:
    """ "at 9", "9pm", "9:30": a number said as a time of day, not an amount."""
    return (i > 0 and toks[i - 1] in at_words) or toks[i + 1 : i + 2] in (["am"], ["pm"], [":"])


def clock(
    text: str, table: dict, lang: str = "", part_of_day: bool = False, said_as_time: bool = False
) -> tuple[int, int] | None:
    """A time of day on a 24-hour clock: "6:30 pm", "18h", "a las 7 de la tarde", "every evening at
    7", "noon". With ``part_of_day``, "mornings" alone is 8:00 and "evenings" 19:00. With
    ``said_as_time``, a bare number is not a time ("yes, I have 2 kids"): it needs "at", a clock's
    notation or a part of the day."""
    toks = tokens(text, lang)
    marks = _marks(reader(table, CLOCK_WORDS), toks)
    kinds = {kind for _, kind, _ in marks}
    pm = bool(kinds & {"pm", "evening"})
    am = bool(kinds & {"am", "morning"})
    for _, kind, _ in marks:
        if kind == "noon":
            return 12, 0
        if kind == "midnight":
            return 0, 0
    best: tuple[int, int, int] | None = None  # (rank, hour, minute)
    for index, (i, kind, value) in enumerate(marks):
        if kind != "number":
            continue
        hour, minute, rank = int(float(value)), 0, 1
        before = marks[index - 1] if index > 0 else None
        after_at = bool(before and before[1] == "at" and before[0] >= i - 2)
        if toks[i] in ARTICLES and not after_at:
            continue  # "3 hours a week": an article, not one o'clock ("a la una" is)
        whole, dot, tail = toks[i].replace(",", ".").partition(".")
        if dot and len(tail) == 2:  # "9.15": a time, not a number of hours
            hour, minute, rank = int(whole), int(tail), 3
        elif dot:
            continue
        following = toks[i + 1 : i + 3]
        if following[:1] in ([":"], ["."], ["h"]) and len(following) > 1 and following[1].isdigit():
            minute, rank = int(following[1]), 3
        nxt = marks[index + 1] if index + 1 < len(marks) else None
        if nxt and nxt[1] in ("hour", "minute", "days") and nxt[0] == i + 1 and rank < 3:
            if toks[i + 1] not in ("h", "hs"):
                continue  # "2 hours", "3 days": an amount, not a time ("18h" is one)
            rank = 2
        if after_at:
            rank = max(rank, 2)
        if nxt and nxt[1] in ("pm", "am") and nxt[0] <= i + 4:
            rank = 4
        if said_as_time and rank < 2 and not (nxt and nxt[1] in ("morning", "evening") and nxt[0] <= i + 3):
            continue
        if not (0 <= hour <= 23 and 0 <= minute <= 59) or (best and best[0] >= rank):
            continue
        best = (rank, hour, minute)
    if best is None:
        # A part of the day said in words ("mornings", "in the evening"), not the clock's own "am".
        parts = {kind for i, kind, _ in marks if kind in ("am", "pm", "morning", "evening") and toks[i] not in NOTES}
        early, late = bool(parts & {"am", "morning"}), bool(parts & {"pm", "evening"})
        if part_of_day and early != late:
            return (19, 0) if late else (8, 0)
        return None
    _, hour, minute = best
    if pm and 1 <= hour < 12:
        hour += 12
    elif am and hour == 12:
        hour = 0
    return hour, minute
