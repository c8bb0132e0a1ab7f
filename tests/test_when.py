"""Time words become days relative to the asking day (rag/search/when.py), and a window is a
preference in retrieval, never a wall; nothing after the asking day is admitted. No model, no index."""

from datetime import date

import pytest

from rag.assistant import asked_day
from rag.config import TimeWords
from rag.errors import QuestionError
from rag.search.retrieve import Filters, prefer_window
from rag.search.when import Window, time_window
from rag.types import Chunk, Hit

FRIDAY = date(2022, 11, 4)


def days(question: str, asked_on: date = FRIDAY) -> tuple[str | None, str, str]:
    w = time_window(question, asked_on)
    return (w.start and w.start.isoformat(), w.end.isoformat(), w.words)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # The rolling week ending on the asking day, a day of slack before it (an article is dated when published).
        ("Which city this week agreed to pay the fishermen?", ("2022-10-28", "2022-11-04", "this week")),
        ("Who resigned last week?", ("2022-10-21", "2022-10-29", "last week")),
        ("Who won the race yesterday?", ("2022-11-02", "2022-11-04", "yesterday")),
        ("What did the court decide on Monday?", ("2022-10-30", "2022-11-01", "Monday")),
        ("Which company recently announced layoffs?", ("2022-10-05", "2022-11-04", "recently")),
        ("Which is the latest tech giant to cut jobs?", ("2022-10-05", "2022-11-04", "latest")),
        ("What was announced in October?", ("2022-09-30", "2022-11-01", "October")),
        ("How many people died in 2021?", ("2020-12-31", "2022-11-04", "2021")),
        ("What did the minister say this month?", ("2022-10-31", "2022-11-04", "this month")),
    ],
)
def test_time_words_become_a_window_relative_to_the_asking_day(question, expected):
    assert days(question) == expected


@pytest.mark.parametrize(
    "question",
    [
        "Which team won the 2018 Olympic final?",  # a year that names a thing
        "What did shoppers buy on Black Friday?",  # a name made of a weekday
        "Who signed a 5-year deal?",  # a length, not a time
        "Which country will host the summit next week?",  # the future
        "Who will march in the parade?",  # a verb, not a month
        "Which planets did the probe photograph?",  # no time words at all
    ],
)
def test_words_that_only_look_like_dates_set_no_window(question):
    assert time_window(question, FRIDAY) == Window(None, FRIDAY, "")


def test_the_narrowest_of_several_time_expressions_wins():
    assert days("What did she say on Monday about last year's results?")[2] == "Monday"


def test_a_window_never_ends_after_the_asking_day_and_holds_dated_articles_only():
    window = time_window("What happened this week?", FRIDAY, TimeWords(slack_days=3))
    assert window.end == FRIDAY
    inside = Filters().within(window)
    assert inside.admits_article("a", "2022-11-01") and not inside.admits_article("a", "2022-11-05")
    assert not inside.admits_article("undated", None)


def test_the_asking_day_bounds_dated_articles_but_admits_undated_ones():
    filters = Filters().asked_on("2022-11-04")
    assert filters.admits_article("a", "2022-11-04") and not filters.admits_article("a", "2022-11-05")
    assert filters.admits_article("undated", None)
    # A date range chosen on the page is kept, and still admits only dated articles.
    ranged = Filters(date_from="2022-11-01").asked_on("2022-11-04")
    assert not ranged.admits_article("undated", None)
    assert Filters(until="2022-10-01").asked_on("2022-11-04").until == "2022-10-01"


def test_filters_within_a_window_take_the_narrower_bounds():
    window = Window(date(2022, 10, 28), FRIDAY, "this week")
    narrowed = Filters(date_from="2022-11-01", sources=("x",)).within(window)
    assert (narrowed.date_from, narrowed.date_to, narrowed.sources) == ("2022-11-01", "2022-11-04", ("x",))


def _hit(chunk_id: int, score: float) -> Hit:
    return Hit(Chunk(chunk_id, f"{chunk_id}.txt", None, 0, 1, "x", ()), score)


def test_the_window_search_is_a_vote_not_a_wall():
    whole = [_hit(1, 0.05), _hit(2, 0.03)]  # 1 is another week's, 2 this week's
    inside = [_hit(2, 0.03), _hit(3, 0.02)]  # 3 only the window's own search found
    ranked = prefer_window(whole, inside, 1.0)
    assert [h.chunk.id for h in ranked] == [2, 1, 3]
    assert ranked[0].score == pytest.approx(0.06)
    # A much stronger match outside the window still outranks a weak one inside.
    assert [h.chunk.id for h in prefer_window([_hit(1, 0.09), _hit(2, 0.03)], [_hit(2, 0.03)], 1.0)][0] == 1


@pytest.mark.parametrize(
    ("given", "expected"), [("2022-11-04", FRIDAY), (FRIDAY, FRIDAY), ("2022-11-04T09:30:00", FRIDAY)]
)
def test_asked_on_takes_a_date_or_an_iso_string(given, expected):
    assert asked_day(given) == expected


@pytest.mark.parametrize("given", ["last Friday", "2022-13-01", 20221104])
def test_asked_on_that_is_not_a_date_is_a_clear_error(given):
    with pytest.raises(QuestionError, match="asked_on"):
        asked_day(given)


def test_a_refusal_says_which_days_were_searched_first():
    from rag.assistant import REFUSAL, refusal

    assert refusal(Window(None, FRIDAY, "")) == REFUSAL
    said = refusal(time_window("Who resigned last week?", FRIDAY))
    assert said == "The articles don't say: neither those from 2022-10-21 to 2022-10-29 (“last week”) nor any other."
