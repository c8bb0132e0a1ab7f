"""Questions that name an article by its date: parsing, and answers from the real model."""

import pytest

from rag import Filters
from rag.app.page import render_answer, render_sources
from rag.search.reference import article_reference

NOVEMBER = "000_e4d5b5d28518737a.txt"  # dated 2023-11-11
AUGUST = "003_3fa78a0fed2da99f.txt"  # dated 2023-08-16
DATES = {NOVEMBER: "2023-11-11", AUGUST: "2023-08-16", "undated.txt": None}


@pytest.mark.parametrize(
    ("question", "when", "sources", "rest"),
    [
        ("According to the November piece, who?", "November", (NOVEMBER,), "According to the article, who?"),
        ("Who, according to the Nov. article?", "Nov.", (NOVEMBER,), "Who, according to the article?"),
        ("What does the August 16 report say?", "August 16", (AUGUST,), "What does the article say?"),
        ("What does the 16th of August, 2023 story say?", "16th of August, 2023", (AUGUST,), None),
        ("In the article from 2023-08-16, who called?", "2023-08-16", (AUGUST,), "In the article, who called?"),
        ("What does the report published in August say?", "August", (AUGUST,), None),
        ("What does the 2023 article say?", "2023", (NOVEMBER, AUGUST), None),
        ("What did the latest report say?", "latest", (NOVEMBER,), None),
        ("What does the earlier story say?", "earlier", (AUGUST,), None),
        ("What did the March article say?", "March", (), None),
        ("What does the Sept. 3 report say?", "Sept. 3", (), None),
        ("In the article from 2023-8-16, who called?", "2023-8-16", (AUGUST,), "In the article, who called?"),
        (
            "Does the August article agree with the November piece?",
            "August",
            (NOVEMBER, AUGUST),
            "Does the article agree with the article?",
        ),
    ],
)
def test_an_article_named_by_its_date_is_found(question, when, sources, rest):
    reference = article_reference(question, DATES.items())
    assert reference is not None
    assert (reference.when, reference.sources) == (when, sources)
    assert rest is None or reference.question == rest


@pytest.mark.parametrize(
    "question",
    [
        "In which city did the ECOWAS heads of state convene on August 10?",  # an event's date
        "Who filed the first report of the coup?",
        "What is the story of the coup?",
        "Which countries had troops in Niger?",
        "What does the report of July 26 say about the coup?",  # event dates, not the article's
        "What does the story on August 17 say about Ghana?",
        "What is the story of Jan Kowalski?",
        "What did the coverage of May's resignation say?",
        "Who wrote the may report?",  # a month is capitalised
    ],
)
def test_a_question_that_names_no_article_by_date_is_left_alone(question):
    assert article_reference(question, DATES.items()) is None


def test_the_november_piece_is_searched_and_cited_and_november_is_not_asked_of_the_text(assistant):
    # "November" stands in no article's text: read as a name the question is about, it refused this.
    answer = assistant.ask(
        "According to the November piece, which powers have a vested interest in the region"
        " because of Niger's importance?"
    )
    assert answer.answered, answer.text
    assert "china" in answer.text.lower() and "russia" in answer.text.lower()
    assert {c.source for c in answer.citations} == {NOVEMBER}
    assert any("United States, China, Europe, and Russia" in c.text for c in answer.citations)


def test_only_the_named_article_is_cited_though_the_other_outlet_says_it_too(assistant):
    # Both outlets put the meeting in Ghana; asked about the August article, only it is cited.
    answer = assistant.ask("Where are the ECOWAS military chiefs meeting, according to the August article?")
    assert answer.answered and "ghana" in answer.text.lower(), answer.text
    assert {c.source for c in answer.citations} == {AUGUST}
    assert answer.question.endswith("according to the August article?")


def test_a_date_no_article_has_is_an_honest_refusal_that_says_so(assistant):
    answer = assistant.ask("What did the March article say about the meeting in Ghana?")
    assert not answer.answered and not answer.citations
    assert "March" in answer.text
    # The page shows why, not only "The articles don't say."
    assert "from March" in render_answer(answer, 1) and "from March" in render_sources(answer, 1)


def test_a_named_article_that_the_filters_keep_out_is_a_refusal(assistant):
    answer = assistant.ask("According to the November piece, who leads Wagner?", Filters(sources=(AUGUST,)))
    assert not answer.answered and not answer.citations
    assert "from November" in answer.text


def test_the_latest_article_is_the_latest_of_those_the_filters_admit():
    admitted = [(AUGUST, DATES[AUGUST])]  # what Assistant.stream passes with Filters(sources=(AUGUST,))
    reference = article_reference("What does the latest report say about Ghana?", admitted)
    assert reference is not None and reference.sources == (AUGUST,)


@pytest.mark.parametrize(
    ("question", "source"),
    [
        ("What natural resources make Niger strategically important?", AUGUST),
        ("Who is the ousted president of Niger?", NOVEMBER),
    ],
)
def test_filters_keep_the_other_outlet_out_of_the_citations(assistant, question, source):
    # Both outlets state these facts, and the two articles are linked as one story: before the
    # filters reached verification, the answer was cited to the filtered-out outlet as well.
    answer = assistant.ask(question, Filters(sources=(source,)))
    assert answer.answered, answer.text
    assert {c.source for c in answer.citations} == {source}
