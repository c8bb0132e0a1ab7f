"""The days a question's time words point at: "this week", "last Tuesday", "in November 2022", "recently".

A news question is asked on a day, and its time words count from that day. dateparser finds and reads the date
expressions (`search_dates`, each found phrase read again alone by `DateDataParser.get_date_data`, whose `period`
— day, week, month or year — turns the point date it returns into a range); `RETURN_TIME_SPAN` adds "the past N
days/weeks/months". Only a short vocabulary of recency words ("recently", "latest", ...) that no date parser
reads is matched here.

The ranges:

- a day ("yesterday", "on Monday", "last Tuesday", "on November 3", "3 days ago") is that day;
- "this week" is the rolling `week_days` days ending on the asking day (asked on a Tuesday, "this week" means the days
  just past, which a calendar week starting on Monday would cut off); "last week" is the `week_days` before
  those, "two weeks ago" the ones before those, and "the past week" is "this week";
- "the past N days/weeks/months" is that many days, ending on the asking day;
- a month ("this month", "last month", "in January", "in November 2022") is that whole calendar month;
- a year ("this year", "so far this year", "last year", "in 2021") starts on its January 1 and, by default
  (`TimeWords.open_years`), ends on the asking day: what a year is asked about (its GDP, its winners, a product
  "launched last year and back this week") is reported after it ends, so a year bounds only the start;
- "since X" and "after X" run from X to the asking day; "before X" and "until X" have no lower bound;
- a recency word is the `recent_days` days ending on the asking day.

Every range is widened by `slack_days` on both sides, because an article's date is the day it was published, often
a day before or after the event it reports, and is then cut at the asking day. A question with several time
expressions gets the narrowest window (the fewest days; the first of equals): "What did she say on Monday about
last year's results?" asks about Monday.

False windows cost more than missed ones (a wrong window hides the articles that answer), so dateparser's finds are
rejected unless they are plainly about when:

- a phrase without a month name, a full weekday name, a year (four digits, 1900-2100) or a relative word (today,
  yesterday, tonight, week, month, year, ago, last, this, past): dateparser reads "$40", "2 of 3", "now", "the 50%",
  "a decade" and "Sun" (as in The Sun) as dates;
- a unit (day, week, month, year) with no "this", "last", "past" or "ago": "ten days past Labor Day", "35 years",
  "a 5-year deal", "in 120 years" count a length, not a time;
- a month or a year standing alone without a time preposition (in, on, during, since, until, till, through,
  throughout, before, after, from, between) before it: "Who will March in the parade?", "May I ask", "the 2018
  Olympics", "a 2030 bid", "Person of the Year for 2019";
- a date after a determiner or possessive ("the March 3 accord", "its 2019 person of the year", "the November
  piece": those name a thing, and `rag/search/reference.py` reads a date that names an article);
- a month or weekday written in lower case, when the question uses capitals at all ("who may win", "march");
- a capitalised word that touches another capitalised word, with no preposition before it, and a capitalised
  relative word inside a sentence: names such as "Black Friday", "Super Tuesday", "Tuesday Weld", "USA Today";
- "previous", "next", "following" and other words that count from another event or into the future ("the previous
  week", "next year", "in 2026"): only windows that start on or before the asking day are kept.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from ..config import TimeWords

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

__all__ = ["TimeWords", "Window", "time_window", "warm_up"]


@dataclass(frozen=True)
class Window:
    """The days a question's time words point at, relative to the day it was asked (inclusive)."""

    start: date | None  # None: no lower bound
    end: date  # never after the asking day
    words: str  # the phrase of the question that set it ("this week"); "" when none did

    def __post_init__(self) -> None:
        if self.start is not None and self.start > self.end:
            raise ValueError(f"Window: start {self.start} is after end {self.end}")

    def days(self) -> str:
        """ "from 2023-01-02 to 2023-01-08", or "up to 2023-01-08" when it has no start."""
        return f"up to {self.end}" if self.start is None else f"from {self.start} to {self.end}"

    def describe(self) -> str:
        """What the page and the CLI say of it: "Preferring articles from 2023-01-02 to 2023-01-08 (“this week”)"."""
        return f"Preferring articles {self.days()} (“{self.words}”)" if self.words else f"Articles up to {self.end}"


_MONTHS = {m.lower() for m in calendar.month_name[1:]} | {a.lower() for a in calendar.month_abbr[1:]} | {"sept"}
# Full names only: dateparser also reads "Sun", "Sat" and "Wed" as weekdays.
_WEEKDAYS = {d.lower() for d in calendar.day_name}
_UNITS = {"day", "days", "week", "weeks", "fortnight", "month", "months", "year", "years"}
_DEICTIC = {"today", "yesterday", "tonight", "this", "last", "past", "ago"}
_PARTS_OF_DAY = {"morning", "afternoon", "evening", "night"}
_NUMBER_WORDS = {"a", "an", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven"}
_NUMBER_WORDS |= {"twelve"}
_TIME_PREPOSITIONS = {"in", "on", "during", "since", "until", "till", "through", "throughout", "before", "after"}
_TIME_PREPOSITIONS |= {"from", "between"}
# Words between a preposition and its month or year: "in early 2021", "since late March".
_SEASON_OF = {"early", "late", "mid"}
_DETERMINERS = {"the", "a", "an", "that", "these", "those", "its", "his", "her", "their", "our", "your", "my"}
_DETERMINERS |= {"whose", "which", "what", "every", "each"}
_YEAR = re.compile(r"(?:19|20)\d\d|2100")
_ISO = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_DIGITS = re.compile(r"\d{1,2}(?:st|nd|rd|th)?")
_PUNCT = ".,;:!?()[]\"'“”‘’"
# dateparser's search splits "Nov. 1" at the full stop; a space in its place keeps every offset.
_ABBREVIATION_STOP = re.compile(r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.", re.IGNORECASE)
_RECENT = re.compile(r"\b(?:recently|lately|latest|most\s+recent|newest)\b", re.IGNORECASE)
_POSSESSIVE = re.compile(r"['’]s$")
# Words on each side of a date word that the "ngram" search reads: "on the 3rd of November 2022" is six.
_NEIGHBOURS = 4
_SPAN_MARK = re.compile(r" \((start|end)\)$")


def time_window(question: str, asked_on: date, settings: TimeWords | None = None) -> Window:
    """The window the question's time words set, or `Window(None, asked_on, "")` when it has none."""
    settings = settings or TimeWords()
    found = list(_date_windows(question, asked_on, settings)) + list(_recent_windows(question, asked_on, settings))
    if not found:
        return Window(None, asked_on, "")
    # The narrowest; `min` keeps the first of equals, and the found windows are in the question's order.
    _, window = min(found, key=lambda pair: (_days(pair[1]), pair[0]))
    return window


def warm_up() -> None:
    """Load dateparser's English data now (about 0.2 s), not on the first question."""
    time_window("What happened last week, on Monday November 7, 2022?", date(2023, 1, 13))


def _days(window: Window) -> float:
    return float("inf") if window.start is None else (window.end - window.start).days


def recent_start(asked_on: date, s: TimeWords) -> date:
    """The first of the `recent_days` days that end on the asking day: what "recently" means, and the days a
    question without time words prefers (`TimeWords.recency_weight`)."""
    return asked_on - timedelta(days=s.recent_days - 1)


def _recent_windows(question: str, asked_on: date, s: TimeWords) -> Iterator[tuple[int, Window]]:
    for match in _RECENT.finditer(question):
        yield match.start(), _widen(recent_start(asked_on, s), asked_on, match.group(0), asked_on, s)


def _date_windows(question: str, asked_on: date, s: TimeWords) -> Iterator[tuple[int, Window]]:
    text = _ABBREVIATION_STOP.sub(lambda m: m.group(1) + " ", question)
    base = datetime(asked_on.year, asked_on.month, asked_on.day)
    from dateparser.search import search_dates  # imported where used: loading its data takes a fifth of a second

    settings = {"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past", "RETURN_TIME_SPAN": True}
    anchors = [(a, b) for a, b, word in _words(text, 0, len(text)) if _is_anchor(word)]
    if not anchors:
        return  # nothing a window could be made of (see the module doc); searching would only cost time
    # Each of dateparser's two search strategies misses what the other finds: "split" loses "this week" in "at a
    # Lisbon museum this week", "ngram" loses "a week ago". "ngram" parses every run of words, tens of milliseconds
    # over a whole question, so it reads only the words around each word a date needs.
    results = search_dates(text, languages=["en"], settings=settings, add_period=True) or []
    yield from _windows_found(text, question, results, 0, asked_on, s)
    for start, end in _neighbourhoods(text, anchors):
        results = search_dates(text[start:end], languages=["en"], settings=settings, add_period=True, strategy="ngram")
        yield from _windows_found(text, question, results or [], start, asked_on, s)


def is_time_word(word: str) -> bool:
    """A lower-case word that names a time: a month, a weekday, a year, a unit of time, a part of the day, or
    "today" and its kin."""
    return (
        word in _MONTHS
        or word in _WEEKDAYS
        or word in _UNITS
        or word in _PARTS_OF_DAY
        or word in {"today", "yesterday", "tonight", "tomorrow", "ago"}
        or bool(_YEAR.fullmatch(word))
    )


def _is_anchor(word: str) -> bool:
    """A word without which no found phrase is kept."""
    return word in _MONTHS or word in _WEEKDAYS or word in _DEICTIC or word in _UNITS or bool(_YEAR.fullmatch(word))


def _neighbourhoods(text: str, anchors: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The stretches of text from `_NEIGHBOURS` words before each anchor to as many after it, overlaps joined."""
    words = [m.span() for m in re.finditer(r"\S+", text)]
    stretches: list[tuple[int, int]] = []
    for anchor_start, _ in anchors:
        i = next(k for k, (a, b) in enumerate(words) if a <= anchor_start < b)
        start, end = words[max(0, i - _NEIGHBOURS)][0], words[min(len(words) - 1, i + _NEIGHBOURS)][1]
        if stretches and start <= stretches[-1][1]:
            stretches[-1] = (stretches[-1][0], max(end, stretches[-1][1]))
        else:
            stretches.append((start, end))
    return stretches


def _windows_found(
    text: str,
    question: str,
    results: list[tuple[str, datetime, str | None]],
    cursor: int,
    asked_on: date,
    s: TimeWords,
) -> Iterator[tuple[int, Window]]:
    """The windows of the phrases one search of the text from `cursor` on found, each with where its words start."""
    spans: dict[str, dict[str, datetime]] = {}
    taken: list[tuple[int, int]] = []  # the characters a dated phrase took, so a span over the same words is skipped
    first = cursor
    for phrase, when, _ in results:
        if mark := _SPAN_MARK.search(phrase):
            spans.setdefault(phrase[: mark.start()], {})[mark.group(1)] = when
            continue
        place = _find(text, phrase, cursor)
        if place is None:
            continue
        at, cursor = place
        core = _core(text, at, cursor)
        if core is None:
            continue
        window = _window_of(text, *core, asked_on, s, question)
        if window is not None:
            taken.append(core)
            yield core[0], window
    for phrase, ends in spans.items():
        place = _find(text, phrase, first)
        if place is None or "start" not in ends or "end" not in ends:
            continue
        core = _core(text, *place)
        if core is None or any(a < core[1] and core[0] < b for a, b in taken):
            continue
        words = question[core[0] : core[1]]
        if not {"past", "last"} & {w.lower() for w in words.split()}:  # not "previous": it counts from another event
            continue
        # "the past N days" ends on the asking day; dateparser makes "the past week" the calendar week before.
        length = (ends["end"] - ends["start"]).days
        yield core[0], _widen(asked_on - timedelta(days=length), asked_on, words, asked_on, s)


def _find(text: str, phrase: str, cursor: int) -> tuple[int, int] | None:
    """Where dateparser's phrase stands in the text, from `cursor` on: it gives the words with runs of spaces made
    one."""
    pattern = r"\s+".join(re.escape(word) for word in phrase.split())
    match = re.compile(pattern).search(text, cursor)
    return None if match is None else match.span()


def _words(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """The words between two offsets, each with its span and its lower-case form stripped of punctuation."""
    found = []
    for match in re.finditer(r"\S+", text[start:end]):
        word = match.group(0)
        lead = len(word) - len(word.lstrip(_PUNCT))
        bare = _POSSESSIVE.sub("", word.strip(_PUNCT)).strip(_PUNCT)  # "this week’s election"
        if bare:
            a = start + match.start() + lead
            found.append((a, a + len(bare), bare.lower()))
    return found


def _is_date_word(word: str) -> bool:
    return (
        word in _MONTHS
        or word in _WEEKDAYS
        or word in _UNITS
        or word in _DEICTIC
        or word in _PARTS_OF_DAY
        or bool(_YEAR.fullmatch(word) or _ISO.fullmatch(word) or _DIGITS.fullmatch(word))
    )


def _core(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span of the date words in a found phrase: dateparser's phrases carry words around them ("this week in",
    "Match 3 this week")."""
    words = _words(text, start, end)
    while words and not _is_date_word(words[0][2]) and words[0][2] not in _NUMBER_WORDS:
        words.pop(0)
    while words and not _is_date_word(words[-1][2]):
        words.pop()
    # A number leads only a count ("3 days ago", "two weeks ago") or a day of a month ("3rd of November").
    while len(words) > 1 and (_DIGITS.fullmatch(words[0][2]) or words[0][2] in _NUMBER_WORDS):
        follower = words[1][2]
        if follower in _UNITS or follower in _MONTHS or follower == "of":
            break
        words.pop(0)
    # A number ends a date only as a year or a month's day ("November 3", "November 3, 2022").
    if len(words) > 1 and _DIGITS.fullmatch(words[-1][2]) and words[-2][2] not in _MONTHS:
        words.pop()
    if not words or (words[0][2] in _NUMBER_WORDS and len(words) == 1):
        return None
    return words[0][0], words[-1][1]


def _window_of(text: str, start: int, end: int, asked_on: date, s: TimeWords, question: str) -> Window | None:
    """The window of the date words at text[start:end], or None when they are rejected (see the module doc);
    `question` is the text as asked (with "Nov." where the text has "Nov "), for the window's words."""
    phrase = text[start:end]
    words = [w for _, _, w in _words(text, start, end)]
    has_month = any(w in _MONTHS for w in words)
    has_weekday = any(w in _WEEKDAYS for w in words)
    has_year = any(_YEAR.fullmatch(w) for w in words) or any(_ISO.fullmatch(w) for w in words)
    deictic = any(w in _DEICTIC for w in words)
    if not (has_month or has_weekday or has_year or deictic or any(w in _UNITS for w in words)):
        return None
    if any(w in _UNITS for w in words) and not deictic:
        return None
    before = _words(text, 0, start)
    previous = before[-1][2] if before else ""
    # The preposition's place among the words before: "in early 2021" has "early" between.
    place = len(before) - (2 if previous in _SEASON_OF and len(before) > 1 else 1)
    preposition = before[place][2] if before else ""
    has_preposition = preposition in _TIME_PREPOSITIONS
    if (has_month or has_weekday or has_year) and (previous in _DETERMINERS or text[:start].endswith(("'s ", "’s "))):
        return None
    bare = all(w in _MONTHS or _YEAR.fullmatch(w) for w in words) and not (has_month and has_year)
    if bare and not has_preposition:
        return None
    if not has_preposition and _looks_like_name(text, start, end, before):
        return None
    if (has_month or has_weekday) and any(c.isupper() for c in text):
        named = [w for w in re.findall(r"[A-Za-z]+", phrase) if w.lower() in _MONTHS | _WEEKDAYS]
        if any(not w[0].isupper() for w in named):
            return None

    data = _parser(asked_on).get_date_data(phrase)
    if data.date_obj is None or data.date_obj.date() > asked_on:
        return None  # the future: "next week", "this Friday" asked on a Wednesday
    first, last = _period(data.date_obj.date(), data.period or "day", asked_on, s)
    lower: date | None = first
    upper = last
    said = question[start:end]
    if preposition in {"since", "after", "before", "until", "till"}:
        said = question[before[place][0] : end]  # "since early 2021"
        if preposition == "since":
            upper = asked_on
        elif preposition == "after":
            lower, upper = last + timedelta(days=1), asked_on
        elif preposition == "before":
            lower, upper = None, first - timedelta(days=1)
        else:
            lower = None
    elif data.period == "year" and s.open_years:
        upper = asked_on
    if lower is not None and (lower > asked_on or lower > upper):
        return None  # the future ("in 2026"), or "after today"
    return _widen(lower, upper, said, asked_on, s)


def _looks_like_name(text: str, start: int, end: int, before: list[tuple[int, int, str]]) -> bool:
    """A capitalised date word that touches another capitalised word ("Black Friday", "USA Today", "Tuesday Weld"),
    or a capitalised relative word inside a sentence ("according to Today")."""
    if not text[start].isupper():
        return False
    sentence_start = not text[:start].strip() or text[:start].rstrip().endswith((".", "!", "?", ":", '"', "“"))
    first_word = text[start:end].split()[0].strip(_PUNCT).lower()
    if first_word in _DEICTIC and not sentence_start:
        return True
    touching_before = bool(before) and text[before[-1][1] : start] == " " and text[before[-1][0]].isupper()
    touching_after = re.match(r" [A-Z]", text[end:]) is not None
    return touching_before or touching_after


def _period(day: date, period: str, asked_on: date, s: TimeWords) -> tuple[date, date]:
    """The first and last day of the period dateparser read around `day`."""
    if period == "week":
        weeks_back = max(0, round((asked_on - day).days / 7))
        last = asked_on - timedelta(days=weeks_back * s.week_days)
        return last - timedelta(days=s.week_days - 1), last
    if period == "month":
        return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    if period == "year":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    return day, day  # "day", and "time" or "part_of_day" ("last night")


def _widen(start: date | None, end: date, words: str, asked_on: date, s: TimeWords) -> Window:
    slack = timedelta(days=s.slack_days)
    return Window(None if start is None else start - slack, min(end + slack, asked_on), words)


@lru_cache(maxsize=32)
def _parser(asked_on: date) -> DateDataParser:
    from dateparser.date import DateDataParser

    base = datetime(asked_on.year, asked_on.month, asked_on.day)
    return DateDataParser(languages=["en"], settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past"})
