"""Amounts of time as people type them in English and Spanish: how many hours a week.

"1 hora al dia de lunes a viernes" is 5 hours a week, "media horita diaria" 3.5, "2 hours tuesday
and thursday" 4, "1h mon-fri plus 3h on sunday" 8, "an hour a day except sundays" 6. The words come
from skills.json's ``durations`` vocabulary, read by time_words.py; numbers written as words are
read by text2num, and the short ones ("a couple", "un par de", "half") by the vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chatbot.engine import time_words
from chatbot.engine.time_words import tokens
from chatbot.engine.understand import fold

PER_PERIOD = {"weekday": 5.0, "weekend": 2.0, "day": 7.0, "week": 1.0, "month": 7 / 30.4}
DURATION_WORDS = (
    "hour",
    "minute",
    "half",
    "and_half",
    "quarter",
    "quarters",
    "and_quarter",
    "range",
    "between",
    "plus",
    "days",
    *PER_PERIOD,
)
PARTS = {"half": 0.5, "quarter": 0.25, "quarters": 0.75}  # of an hour: "media hora", "un cuarto de hora"
PART_REACH = {"half": 2, "quarter": 4, "quarters": 4}  # tokens from the part to its unit: "a quarter of an hour"
AND_PARTS = {"and_half": 0.5, "and_quarter": 0.25}  # more than the hours said: "hora y media", "hora y cuarto"
NEAR = 8  # tokens between an amount and a word about its period


@dataclass
class Amount:
    at: int  # token index
    hours: float
    minutes_only: bool = False
    periods: list[str] = field(default_factory=list)
    days: set[str] = field(default_factory=set)
    times: float | None = None  # "3 days a week": times a week
    without: set[str] = field(default_factory=set)  # "every day except sundays": the days left out


def read_marks(toks: list[str], table: dict) -> list[time_words.Mark]:
    """The tokens as (token index, kind, value) for every word of an amount the vocabulary knows."""
    return time_words.marks(time_words.reader(table, DURATION_WORDS), toks)


def at_words(table: dict) -> frozenset[str]:
    """The words that say a time of day follows ("at", "around", "a las": "at", "las")."""
    return frozenset(time_words.split(fold(p))[-1] for p in table.get("at", []) if time_words.split(fold(p)))


def _after_except(toks: list[str], table: dict) -> frozenset[int]:
    """The indexes of the tokens said right after "except", "but" or "menos" (skills.json's
    ``except`` words of the durations), where a day named is one left out."""
    found = time_words.marks(time_words.reader(table, ("except",)), toks)
    return frozenset(i + n for i, kind, _ in found if kind == "except" for n in (1, 2, 3))


def _days_off(toks: list[str], marks: list, table: dict) -> frozenset[int]:
    """The indexes of the days named as left out after them ("pero los domingos no", "sundays
    off": skills.json's ``day_off`` words of the durations)."""
    off = {fold(w) for w in table.get("day_off", [])}
    return frozenset(i for i, kind, _ in marks if kind == "weekday_name" and toks[i + 1 : i + 2] and toks[i + 1] in off)


def _hours_and_minutes(toks: list[str], at: frozenset[str]) -> list[str]:
    """ "1h30" (read as 1, h, 30) is one and a half hours: one number of hours, as "1.5 h". Not a
    time of day ("at 7h30", "a las 18h30": clock() reads those)."""
    out, i = [], 0
    while i < len(toks):
        three = toks[i : i + 3]
        said_at = i > 0 and toks[i - 1] in at
        minutes = len(three) == 3 and len(three[2]) == 2 and three[2].isdigit() and int(three[2]) < 60
        if minutes and not said_at and three[0].isdigit() and three[1] in ("h", "hr", "hrs"):
            out += [f"{int(three[0]) + int(three[2]) / 60:g}", three[1]]
            i += 3
            continue
        out.append(toks[i])
        i += 1
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
    toks = _hours_and_minutes(tokens(text, lang), at_words(table))
    marks = _numbers(_with_dashes(read_marks(toks, table), toks))
    amounts: list[Amount] = []
    k = 0
    while k < len(marks):
        i, kind, value = marks[k]
        after = marks[k + 1] if k + 1 < len(marks) else None
        if kind in PARTS and after and after[1] in ("hour", "minute") and after[0] - i <= PART_REACH[kind]:
            amounts.append(Amount(i, PARTS[kind] if after[1] == "hour" else PARTS[kind] / 60))
            k += 2
        elif kind == "number" and after and after[1] in ("hour", "minute") and after[0] - i <= 1:
            hours = float(value) if after[1] == "hour" else float(value) / 60
            amount = Amount(i, hours, minutes_only=after[1] == "minute")
            k += 2
            rest = marks[k : k + 2]
            if rest and rest[0][1] in AND_PARTS:
                amount.hours += AND_PARTS[rest[0][1]]
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
            if after and after[1] in AND_PARTS:
                amount.hours += AND_PARTS[after[1]]
                k += 1
            if toks[i] in ("hour", "hora", "horita") or after and after[1] in AND_PARTS:
                amounts.append(amount)
            k += 1
        else:
            k += 1
    _attach_periods(marks, amounts, _after_except(toks, table) | _days_off(toks, marks, table))
    return amounts


def _beside_a_day(marks: list, k: int) -> bool:
    """Whether the number at ``marks[k]`` is said of a day named right before or after it, with
    no unit of its own."""
    i = marks[k][0]
    after = marks[k + 1] if k + 1 < len(marks) else None
    more = after is not None and after[1] == "plus" and after[0] == i + 1  # "y tres más el sábado"
    if more:
        after = marks[k + 2] if k + 2 < len(marks) else None
    before = marks[k - 1] if k > 0 else None
    plus = k > 0 and marks[k - 1][1] == "plus"  # "plus 2 extra on sundays"
    if after and after[1] == "weekday_name" and after[0] - i <= (3 if plus or more else 2):
        return True
    unit_after = after is not None and after[1] in ("hour", "minute") and after[0] - i <= 1
    return bool(before and before[1] == "weekday_name" and i - before[0] <= 2 and not unit_after)


def _first_number(marks: list, amount: Amount) -> float:
    """The number an amount was said with (the hours of "2 horas" are 2, of "30 minutes" 0.5)."""
    return next((float(v) for i, kind, v in marks if i == amount.at and kind == "number"), amount.hours)


def _attach_periods(marks: list, amounts: list[Amount], excepted: frozenset[int]) -> None:
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
        if kind == "weekend" and i in excepted:
            target.without |= {"sat", "sun"}  # "every day except weekends"
        elif kind in PER_PERIOD and not (kind == "week" and _times_a_week(marks, k, amounts)):
            target.periods.append(kind)
        elif kind == "weekday_name" and i in excepted:
            target.without.add(str(value))
        elif kind == "weekday_name":
            target.days |= _days_through(marks, k)
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


WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _days_through(marks: list, k: int) -> set[str]:
    """The day of the week at ``marks[k]``, or every day from it through the next one when a range
    word joins them ("de lunes a sábado", "monday to saturday": six days)."""
    day = str(marks[k][2])
    joined = k + 2 < len(marks) and marks[k + 1][1] in ("range", "dash") and marks[k + 2][1] == "weekday_name"
    if not joined or day not in WEEK or str(marks[k + 2][2]) not in WEEK:
        return {day}
    first, last = WEEK.index(day), WEEK.index(str(marks[k + 2][2]))
    return {WEEK[(first + n) % 7] for n in range((last - first) % 7 + 1)}


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
        marks = _numbers(_with_dashes(read_marks(toks, table), toks))
        numbers = [m for m in marks if m[1] == "number" and not _said_as_time(toks, m[0], at_words(table))]
        if len(numbers) != 1 or _counts_something_else(toks, numbers[0][0], marks):
            return None
        if any(kind == "days" and at - numbers[0][0] <= 2 for at, kind, _ in marks if at > numbers[0][0]):
            return None  # "5 days a week", "3 días a la semana": how many days, not hours
        amounts = [Amount(numbers[0][0], float(numbers[0][2]))]
        _attach_periods(marks, amounts, _after_except(toks, table) | _days_off(toks, marks, table))
    with_period = [a for a in amounts if a.periods or a.days or a.times]
    parts = with_period if len(with_period) > 1 else amounts[:1]
    total = sum(weekly(a) for a in parts)
    return total if total > 0 else None


CONNECTORS = frozenset({"range", "plus", "dash", "between"})  # words between amounts, not of time


def _counts_something_else(toks: list[str], i: int, marks: list) -> bool:
    """ "two kids", "3 jobs": a bare number that counts the word after it, not hours ("5", "maybe 6",
    "4 or so", "ocho más o menos", "a couple of hours" are hours)."""
    after = toks[i + 1 : i + 2]
    alone = [v for at, kind, v in marks if at == i and kind == "number"] == [1]  # not "a couple of"
    if toks[i] in time_words.ARTICLES and alone and after and after[0].isalpha() and i + 1 not in {m[0] for m in marks}:
        return True  # "un ratito cada noche", "a little every day": an article, no amount
    if any(at > i and kind != "number" and kind not in CONNECTORS for at, kind, _ in marks):
        return False  # a word of time follows: "a couple of hours" (not "two kids and a job")
    return bool(after) and after[0].isalpha() and after[0] not in BARE_NUMBER_AFTER


def _said_as_time(toks: list[str], i: int, at: frozenset[str]) -> bool:
    """ "at 9", "9pm", "9:30": a number said as a time of day, not an amount."""
    return (i > 0 and toks[i - 1] in at) or toks[i + 1 : i + 2] in (["am"], ["pm"], [":"])
