"""A question that names an article by its date: "according to the November piece", "the August 16
article", "the report from 2023-08-16", "the latest story".

An article's date is metadata, not text of the article, so the words that name it would only
mislead the rest of the pipeline: BM25 and the embedder would look for "November" in the text, and
verification would want the name "November" to stand beside the evidence. They are read here
instead: they choose the articles to search (and to cite), and the question goes on with "the
article" in their place.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass

_NOUN = r"(?:article|piece|report|story|coverage)"
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS |= {abbr.lower(): i for i, abbr in enumerate(calendar.month_abbr) if abbr} | {"sept": 9}
# A month is a capitalised word ("the May article", not "the may report"), whatever the case of
# the rest of the question.
_MONTH = "(?-i:" + "|".join(sorted((m.title() for m in _MONTHS), key=len, reverse=True)) + r")\.?"
_ORDINAL = r"(?:st|nd|rd|th)?"
# The date in "the <date> article" and "the article from <date>"; one spelling a group name. A
# year is four digits that no "-8-16" or "/08" goes on from.
_DATE = (
    r"(?P<date>(?P<iso>\d{4}-\d{1,2}-\d{1,2})"
    rf"|(?P<month>{_MONTH})(?:\s+(?P<day>\d{{1,2}}){_ORDINAL})?(?:,?\s+(?P<year>\d{{4}}))?"
    rf"|(?P<day_first>\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?(?P<month_after>{_MONTH})(?:,?\s+(?P<year_after>\d{{4}}))?"
    r"|(?P<year_only>\d{4})(?![-/]\d))"
)
# Words that order articles in time; "first" and "last" are left out, since "the first report of
# the coup" is as likely to mean an event as an article.
_LATEST = ("latest", "most recent", "newest", "newer", "later", "more recent")
_EARLIEST = ("earliest", "oldest", "older", "earlier")
_RELATIVE = "|".join(sorted(_LATEST + _EARLIEST, key=len, reverse=True)).replace(" ", r"\s+")
_PATTERNS = tuple(
    re.compile(rf"\b{p}\b", re.IGNORECASE)
    for p in (
        rf"the\s+{_DATE}(?:'s|’s)?\s+{_NOUN}",
        # Not "the report of July 26" or "the story on August 17": those name an event's date.
        rf"the\s+{_NOUN}\s+(?:from|dated|published\s+(?:in|on)|written\s+(?:in|on))\s+{_DATE}",
        rf"the\s+(?P<relative>{_RELATIVE})\s+{_NOUN}",
    )
)


@dataclass(frozen=True)
class Reference:
    """The articles a question names by date, and the question with "the article" instead."""

    question: str
    when: str  # the date words as the question gave them: "November", "August 16", "latest"
    sources: tuple[str, ...]  # the articles of that date; none when no article has it
    relative: bool = False  # "latest", "earlier": a date relative to the other articles'

    def none_found(self) -> str:
        if self.relative:
            return "None of the articles searched has a date, so the articles don't say."
        return f"None of the articles searched is from {self.when}, so the articles don't say."


def article_reference(question: str, dates: Iterable[tuple[str, str | None]]) -> Reference | None:
    """The article(s) `question` names by date, among `dates` ((source, YYYY-MM-DD or None) pairs:
    the articles that may be searched), or None when it names no article by date. `dates` is read
    only when the question names one, so a lazy iterable costs nothing per question. Every
    reference counts ("the August article and the November piece")."""
    found = sorted((m for pattern in _PATTERNS for m in pattern.finditer(question)), key=lambda m: m.start())
    found = [m for i, m in enumerate(found) if not any(m.start() < f.end() for f in found[:i])]
    if not found:
        return None
    dated = {source: date for source, date in dates if date}
    sources: set[str] = set()
    for m in found:
        sources |= _named(m.groupdict(), dated)
    rest = question
    for m in reversed(found):
        rest = rest[: m.start()] + "the article" + rest[m.end() :]
    first = found[0].groupdict()
    relative = bool(first.get("relative"))
    return Reference(rest, first["relative"] if relative else first["date"], tuple(sorted(sources)), relative)


def _named(found: dict[str, str | None], dated: dict[str, str]) -> set[str]:
    """The articles of `dated` (source -> date) that one matched date phrase names."""
    if found.get("relative"):
        latest = " ".join((found["relative"] or "").lower().split()) in _LATEST
        pick = (max if latest else min)(dated.values(), default=None)
        return {source for source, date in dated.items() if date == pick}
    return {source for source, date in dated.items() if _on(date, found)}


def _on(date: str, found: dict[str, str | None]) -> bool:
    """The article dated `date` (YYYY-MM-DD) is of the date the question gave."""
    try:
        year, month, day = (int(part) for part in date.split("-"))
    except ValueError:  # the loader writes YYYY-MM-DD; anything else names no date
        return False
    if found["iso"]:
        return (year, month, day) == tuple(int(part) for part in found["iso"].split("-"))
    if found["year_only"]:
        return year == int(found["year_only"])
    name = (found["month"] or found["month_after"] or "").lower().rstrip(".")
    given_day = found["day"] or found["day_first"]
    given_year = found["year"] or found["year_after"]
    return (
        month == _MONTHS[name]
        and (given_day is None or day == int(given_day))
        and (given_year is None or year == int(given_year))
    )
