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
_MONTHS |= {abbr.lower(): i for i, abbr in enumerate(calendar.month_abbr) if abbr}
_MONTH = "(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_ORDINAL = r"(?:st|nd|rd|th)?"
# The date in "the <date> article" and "the article from <date>"; one spelling a group name.
_DATE = (
    r"(?P<date>(?P<iso>\d{4}-\d{2}-\d{2})"
    rf"|(?P<month>{_MONTH})(?:\s+(?P<day>\d{{1,2}}){_ORDINAL})?(?:,?\s+(?P<year>\d{{4}}))?"
    rf"|(?P<day_first>\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?(?P<month_after>{_MONTH})(?:,?\s+(?P<year_after>\d{{4}}))?"
    r"|(?P<year_only>\d{4}))"
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
        rf"the\s+{_NOUN}\s+(?:from|of|dated|published\s+(?:in|on)|written\s+in|on|in)\s+{_DATE}",
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
    """The article(s) `question` names by date, among `dates` ((source, YYYY-MM-DD or None) pairs,
    read only when the question names a date, so a lazy iterable costs nothing per question);
    None when it names no article by date."""
    for pattern in _PATTERNS:
        m = pattern.search(question)
        if m:
            break
    else:
        return None
    dated = {source: date for source, date in dates if date}
    found = m.groupdict()
    if found.get("relative"):
        latest = " ".join(found["relative"].lower().split()) in _LATEST
        pick = max(dated.values(), default=None) if latest else min(dated.values(), default=None)
        sources = [source for source, date in dated.items() if date == pick]
        when = found["relative"]
    else:
        sources = [source for source, date in dated.items() if _on(date, found)]
        when = found["date"]
    rest = question[: m.start()] + "the article" + question[m.end() :]
    return Reference(rest, when, tuple(sorted(sources)), relative=bool(found.get("relative")))


def _on(date: str, found: dict[str, str | None]) -> bool:
    """The article dated `date` (YYYY-MM-DD) is of the date the question gave."""
    year, month, day = (int(part) for part in date.split("-"))
    if found["iso"]:
        return date == found["iso"]
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
