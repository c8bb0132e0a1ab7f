"""The shipped evaluation: its judging rules, and the system's scores on the development questions."""

import os
import re
from pathlib import Path

import pytest

from rag.app.evaluate import Question, judge, load_questions, retrieval_table, run, summarise
from rag.types import Answer, Citation

from .conftest import ROOT

DEV_QUESTIONS = ROOT.parent / "shared" / "eval" / "questions.jsonl"
# 34 more questions on the seeds, written for this project in the same format, with shapes the dev set
# lacks (when, why, how many, yes/no): tuning on the 10 dev questions shows here when it overfits.
MORE_QUESTIONS = Path(__file__).parent / "data" / "more_questions.jsonl"


@pytest.fixture(scope="module")
def dev_questions() -> list[Question]:
    if not DEV_QUESTIONS.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{DEV_QUESTIONS} is missing: CI must have shared/ beside the clone")
        pytest.skip("no shared/eval beside this checkout")
    return load_questions(Path(DEV_QUESTIONS))


def cited(text: str, *sentences: str, answered: bool = True) -> Answer:
    citations = tuple(Citation(n, "a.txt", None, 0, len(s), s) for n, s in enumerate(sentences, 1))
    return Answer("Which countries had troops in Niger?", text, answered, citations)


def test_judging_expect_forbid_and_evidence_with_quotes_and_spaces_normalised():
    q = Question("t", "Which countries had troops in Niger?", ("italy", "france"), ("china",), "hosting  “troops” from")
    good = judge(q, cited("France and Italy [1].", 'Niger was hosting "troops" from France and Italy.'), 1.0)
    assert good.correct and good.evidence_cited and good.supported_citations == 1
    assert not judge(q, cited("France, Italy and China [1].", "France, Italy and China."), 1.0).correct
    assert not judge(q, cited("France [1].", "France."), 1.0).correct
    # "Italian" does not match "italy" on a word boundary; the set writes "italy|italian" when both count.
    assert not judge(q, cited("France and the Italians [1].", "France and Italians."), 1.0).correct


def test_a_citation_that_does_not_hold_its_claim_is_counted_against_precision():
    q = Question("t", "Which countries had troops in Niger?", ("italy",))
    result = judge(q, cited("Italy and Spain [1].", "The weather in Niger was hot."), 1.0)
    assert result.supported_citations == 0


def test_unanswerable_is_correct_only_when_refused():
    q = Question("t", "What was Niger's GDP in 2022?", unanswerable=True)
    assert judge(q, cited("The articles don't say.", answered=False), 1.0).correct
    assert not judge(q, cited("About $15 billion [1].", "GDP was $15 billion."), 1.0).correct


def test_dev_questions_on_the_default_model(assistant, dev_questions):
    summary = summarise(run(assistant, dev_questions))
    assert summary.answerable_correct == 1.0
    assert summary.refusals_correct == 1.0
    assert summary.citation_precision >= 0.95
    assert summary.evidence_cited == 1.0


def test_more_questions_on_the_default_model(assistant):
    summary = summarise(run(assistant, load_questions(MORE_QUESTIONS)))
    # Measured 41/43: "Where is Bazoum being held?" and "how many" Wagner mercenaries
    # ("many hundred") are refused. All 9 unanswerable ones refused, among them "the general who leads
    # Niger's junta" (once answered "Bazoum", whom the articles call president).
    assert summary.answerable_correct >= 0.9
    assert summary.refusals_correct == 1.0
    assert summary.citation_precision >= 0.95


def test_hybrid_retrieval_beats_dense_on_the_dev_questions(assistant, dev_questions):
    table, scores = retrieval_table(assistant, dev_questions)
    assert "| hybrid, RRF |" in table
    # Each question's evidence rank, per retriever: the seed question's trap, dense 3rd, hybrid 1st.
    assert re.search(r"^\| d01 \| 3 \| \d+ \| 1 \| \d+ \|$", table, re.M)
    assert scores["hybrid, RRF"]["MRR"] > scores["dense"]["MRR"]
    assert scores["hybrid, RRF"]["recall@3"] >= scores["dense"]["recall@3"]


def test_explain_shows_where_an_answer_was_lost_and_what_each_rule_did():
    from rag.app.evaluate import explain_rows, rule_effects
    from rag.grounding.verify import Claim, Status, Verdict
    from rag.types import Chunk, Hit, Trace

    q = Question("t", "Which countries had troops in Niger?", ("italy",), evidence="troops from Italy")
    chunk = Chunk(0, "a.txt", None, 0, 30, "Niger hosted troops from Italy.", ())
    stopped_right = Verdict(Claim("Italy", (1,)), Status.UNSUPPORTED, rules=("is_about_the_names",))
    stopped_wrong = Verdict(Claim("China", (1,)), Status.UNSUPPORTED, rules=("states_the_new_content",))
    trace = Trace((Hit(chunk, 1.0),), ("Niger hosted Italian troops.",), (stopped_right, stopped_wrong))
    answer = Answer(q.question, "The articles don't say.", False, draft="Italy [1]. China [1].", trace=trace)
    result = judge(q, answer, 1.0)
    assert not result.correct and not result.answered_wrong
    effects = rule_effects([result])
    assert (
        effects["is_about_the_names"]["stopped right"] == 1 and effects["states_the_new_content"]["stopped wrong"] == 1
    )
    rows = explain_rows([result])
    # In the candidates, not among the passages or the sentences read; right in the draft, lost in the answer.
    assert "| t | yes | - | - | yes | - | is_about_the_names, states_the_new_content |" in rows


def test_an_answer_that_is_not_the_right_one_counts_as_answered_wrong():
    q = Question("t", "Which countries had troops in Niger?", ("italy",))
    wrong = judge(q, cited("China [1].", "China had troops."), 1.0)
    assert wrong.answered_wrong and wrong.supported_citations == 0
    summary = summarise([wrong, judge(q, cited("Italy [1].", "Italy had troops."), 1.0)])
    assert summary.counts["answered wrong"] == (1, 2) and summary.counts["precise citations"] == (1, 2)
