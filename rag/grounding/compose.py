"""The verified claims as the answer's text: a claim left headless by a dropped one is quoted or
dropped, and the rest are joined with citation numbers in order of first use."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from ..config import Grounding
from ..text import about, names, numbers
from ..types import Citation, Evidence
from .verify import Claim, Status, Verdict, strongest_sentences

if TYPE_CHECKING:
    from ..index.store import DocumentRecord

_JOINS = "and|but|while|whereas|also"  # words that join a claim to the one before it
_LEADING_JOIN = re.compile(rf"^(?:{_JOINS})\b[\s,]*", re.IGNORECASE)
_STANDS_ALONE = re.compile(rf"^(?:(?:{_JOINS}|or)\b|[A-Z0-9])")  # a list item or a new subject

# What changed a verdict after the rules had judged the draft, as recorded in Verdict.rules.
QUOTED_HEADLESS = "quoted_the_sentence_of_a_headless_claim"
DROPPED_HEADLESS = "dropped_a_headless_claim"


def quoted(evidence: Evidence, rule: str) -> Verdict:
    claim = Claim(f"The articles say: “{evidence.text}”", (), opens_sentence=True)
    return Verdict(claim, Status.SUPPORTED, (evidence,), rules=(rule,))


def quote_headless(
    verdicts: list[Verdict], pool: list[Evidence], question: str, limits: Grounding | None = None
) -> list[Verdict]:
    """A claim that goes on a sentence whose first claim was dropped ("Spain and Portugal [1]
    revoked the treaty [2]") would say, alone, what the articles do not: who did it.
    The article sentence about the question's names that holds most of its words (and all its
    numbers) is quoted instead, or the claim is dropped. A list item ("and Germany [2]") or a new
    subject stands alone, and what follows it in the sentence stands on it."""
    limits = limits or Grounding()
    named = names(question)
    kept: list[Verdict] = []
    headless = False
    for verdict in verdicts:
        if verdict.claim.opens_sentence:
            headless = verdict.status == Status.UNSUPPORTED
        elif headless and verdict.status == Status.SUPPORTED:
            if _STANDS_ALONE.match(verdict.claim.text):
                headless = False
            else:
                candidates = [e for e in pool if about(e, named) and numbers(verdict.claim.text) <= e.numbers]
                best = strongest_sentences(verdict.claim.text, candidates, 1)
                if best and best[0][0] >= limits.quote_match:
                    verdict = quoted(best[0][1], QUOTED_HEADLESS)
                else:
                    verdict = replace(verdict, status=Status.UNSUPPORTED, rules=(DROPPED_HEADLESS,))
        if verdict not in kept:
            kept.append(verdict)
    return kept


def compose(verdicts: list[Verdict]) -> tuple[str, tuple[Citation, ...]]:
    """The verified claims as one text with citation numbers in order of first use. A claim that
    only restates the question stays as connecting text (it asserts nothing new); an unsupported
    one is dropped."""
    if not any(v.status == Status.SUPPORTED for v in verdicts):
        return "", ()
    numbering: dict[tuple[str, int], Citation] = {}
    parts = []
    for verdict in verdicts:
        if verdict.status == Status.UNSUPPORTED:
            continue
        markers = []
        for e in verdict.evidence:
            key = (e.source, e.start)
            if key not in numbering:
                numbering[key] = Citation(len(numbering) + 1, e.source, e.date, e.start, e.end, e.text)
            markers.append(f"[{numbering[key].n}]")
        claim = verdict.claim.text
        if not parts:
            claim = _LEADING_JOIN.sub("", claim)
        if not parts or verdict.claim.opens_sentence:
            claim = claim[:1].upper() + claim[1:]
            if parts and not re.search(r"[.!?]$", parts[-1]):
                parts[-1] += "."
        parts.append(f"{claim} {''.join(markers)}".strip())
    text = " ".join(parts)
    if not re.search(r"[.!?][”\"]?\s*(?:\[\d+\])*$", text):
        text += "."
    return text, tuple(numbering.values())


def name_articles(citations: tuple[Citation, ...], documents: Mapping[str, DocumentRecord]) -> tuple[Citation, ...]:
    """The citations with what their sources say of each article: title, outlet, author, URL and page."""
    return tuple(
        replace(
            c,
            title=(d := documents[c.source]).title,
            outlet=d.outlet,
            author=d.author,
            url=d.url,
            page=d.page(c.start),
        )
        for c in citations
    )
