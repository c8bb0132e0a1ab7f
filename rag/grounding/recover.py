"""A second draft when the first verified nothing: the model may have missed the evidence among
the sentences it read, so it reads again only the best few, the one it pointed at first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..config import Grounding
from ..text import about, names
from ..types import Evidence
from .prompt import build_messages
from .verify import Status, Verdict, strongest_sentences

RETRIED = "retried_on_the_best_sentences"  # recorded in Verdict.rules
Write = Callable[[list[dict[str, str]]], str]  # chat messages -> the model's whole draft
# (draft, question, the sentences it may cite, the sentences it was written from) -> its verdicts (verify_draft)
Check = Callable[[str, str, list[Evidence], list[Evidence]], list[Verdict]]


def about_the_question(question: str, pool: list[Evidence]) -> list[Evidence]:
    """The sentences about what the question names: only these are shown again."""
    named = names(question)
    return [e for e in pool if about(e, named)]


def retry_sentences(
    question: str, verdicts: list[Verdict], pool: list[Evidence], relevant: list[Evidence], limits: Grounding
) -> list[Evidence]:
    """The sentences to ask again from, best first, or none when no retry is worth it. Worth it
    when the model answered but only restated the question, pointing at a sentence that holds more
    than `Grounding.quote_match` of the question's words, or when a sentence holds at least
    `Grounding.strong_match` of them. `relevant` is `pool` narrowed to `about_the_question`: the
    sentences that may be shown again."""
    restated = [v for v in verdicts if v.status == Status.RESTATES_QUESTION]
    pointed = {n for v in restated for n in v.claim.cited}
    # The numbers the small model cites are often one off: a neighbour of a cited sentence that
    # holds at least half of what the claim restated counts as pointed at too.
    for v in restated:
        near = [e for e in pool if e.number is not None and any(abs(e.number - n) <= 1 for n in v.claim.cited)]
        pointed |= {e.number for score, e in strongest_sentences(v.claim.text, near, 1) if score >= limits.quote_match}
    pointed_at = [
        e
        for score, e in strongest_sentences(question, [e for e in relevant if e.number in pointed], 1)
        if score > limits.quote_match
    ]
    strongest = strongest_sentences(question, relevant, 3)
    if not pointed_at and not (strongest and strongest[0][0] >= limits.strong_match):
        return []
    narrowed = pointed_at + [e for score, e in strongest if score >= limits.quote_match and e not in pointed_at]
    return narrowed[:3]


def recover(
    question: str, verdicts: list[Verdict], pool: list[Evidence], limits: Grounding, write: Write, check: Check
) -> tuple[list[Verdict], str]:
    """Nothing verified: ask again from `retry_sentences`, and return the second draft's verdicts
    and the draft ([] and "" when no retry was worth it). (Quoting the pointed-at sentence when the
    retry still verified nothing let 4 wrong answers in for 1 right one over realnews and the seed
    sets, measured with rag eval --explain, so it was removed.)"""
    relevant = about_the_question(question, pool)
    narrowed = retry_sentences(question, verdicts, pool, relevant, limits)
    if not narrowed:
        return [], ""
    retry = write(build_messages(question, [e.text for e in narrowed]))
    retried = check(retry, question, relevant, narrowed)
    return [replace(v, rules=(*v.rules, RETRIED)) for v in retried], retry
