"""Check what the model wrote against the articles, claim by claim, and cite exact sentences.

The model's citation numbers are a hint, not the truth: a claim is kept only when its new
content (the words it adds to the question) stands in an article sentence, numbers included,
and it is cited to the sentences that hold it, wherever the model pointed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from ..config import Grounding
from ..errors import ConfigError
from ..search.when import is_time_word
from ..text import NEGATION, POLARITY, about, content_terms, coverage, names, numbers, stopwords, terms, words
from ..types import Evidence
from .prompt import REFUSAL_TOKEN

# similarity(query, sentences) -> one score per sentence, higher is closer in meaning.
Similarity = Callable[[str, list[Evidence]], list[float]]

_MARKERS = re.compile(r"\s*((?:\[\d+(?:\s*,\s*\d+)*\](?:\s*,\s*)?)+)")
_LEADING = re.compile(r"^[\s.,;:!?]+")
_NUMBER = re.compile(r"\d+")
# Phrases small models use instead of the refusal token they were shown.
_REFUSALS = re.compile(
    r"not found|(?:passages?|articles?|text) (?:do(?:es)? not|don't|doesn't) (?:say|mention|contain|provide|state)"
    r"|no information|cannot be determined|not mentioned",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Claim:
    text: str  # as the model wrote it, without citation markers
    cited: tuple[int, ...]  # sentence numbers the model gave
    opens_sentence: bool = False  # the claim starts a new sentence (not "..., and B [2]")


class Status(StrEnum):
    SUPPORTED = "supported"
    RESTATES_QUESTION = "uninformative"  # adds nothing to the question: kept only as connecting text
    UNSUPPORTED = "unsupported"


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    status: Status
    evidence: tuple[Evidence, ...] = ()
    # The rules that decided it: for an unsupported claim, those that alone stood in its way; for
    # one changed after the check (quoted, retried), what changed it.
    rules: tuple[str, ...] = ()


def is_refusal(draft: str) -> bool:
    return not draft.strip() or REFUSAL_TOKEN in draft.upper() or bool(_REFUSALS.search(draft))


def parse_claims(draft: str) -> list[Claim]:
    """Split a draft at its citation markers: "A [1] and B [2]." is two claims."""
    claims = []
    pos = 0
    text = draft.strip()
    segments = [(m.start(), m.end(), m.group(1)) for m in _MARKERS.finditer(text)] + [(len(text), len(text), "")]
    for start, end, markers in segments:
        raw = text[pos:start]
        lead = _LEADING.match(raw)
        body = raw[lead.end() if lead else 0 :].strip(" ,;")
        if body:
            opens = not claims or bool(lead and re.search(r"[.!?]", lead.group()))
            claims.append(
                Claim(body.rstrip(".") if not markers else body, tuple(int(n) for n in _NUMBER.findall(markers)), opens)
            )
        pos = end
    return claims


def prompt_sentences(pool: list[Evidence]) -> list[Evidence]:
    """The sentences the model is shown, in their prompt order."""
    return sorted((e for e in pool if e.number is not None), key=lambda e: e.number or 0)


@dataclass(frozen=True)
class Check:
    """What every rule reads: one claim, what it takes from and adds to the question, and one
    candidate sentence."""

    claim: Claim
    new: frozenset[str]  # the claim's content beyond the question (claim_content)
    asked: frozenset[str]  # the question's content words
    named: frozenset[str]  # the names the question asks about
    numbers: frozenset[str]  # the claim's numbers
    evidence: Evidence
    limits: Grounding


def states_the_new_content(c: Check) -> bool:
    """Rejects a sentence that holds less than `Grounding.support` of the claim's new words: what a
    claim adds to the question is the answer, and it must be what the sentence says."""
    return coverage(c.new, c.evidence.terms) >= c.limits.support


def states_the_numbers(c: Check) -> bool:
    """Rejects a sentence without every number of the claim: a number is a fact on its own."""
    return c.numbers <= c.evidence.numbers


def keeps_the_negation(c: Check) -> bool:
    """Rejects an affirming sentence for a claim that says "not" where the question did not."""
    return NEGATION not in c.new or NEGATION in c.evidence.terms


def shares_a_question_word(c: Check) -> bool:
    """Rejects a sentence that shares no word with the question: it answers something else."""
    return bool(c.evidence.terms & c.asked) or not c.asked


def is_about_the_names(c: Check) -> bool:
    """Rejects a sentence about someone else than the people, places and bodies the question names:
    each name must stand in the sentence, beside it, or run through its article."""
    return about(c.evidence, set(c.named))


Rule = Callable[[Check], bool]  # True: the sentence may support the claim
RULES: tuple[Rule, ...] = (
    states_the_new_content,
    states_the_numbers,
    keeps_the_negation,
    shares_a_question_word,
    is_about_the_names,
)
ADDS_NOTHING = "adds_nothing_to_the_question"  # the claim-level rule: see claim_content
ANSWERS_THE_KIND = "answers_the_kind"  # a claim-level rule, switched off by name like the others

# What a question asks for by its question words: a place, a quantity or a time. (Who and which-company questions
# ask for a name, which no word list tells from other words.)
_ASKS_PLACE = re.compile(
    r"\b(?:where|(?:which|what) (?:city|country|state|town|nation|region|province|county|continent|island))\b", re.I
)
_ASKS_QUANTITY = re.compile(
    r"\b(?:how (?:many|much|old|long|far|tall|big|large|high)"
    r"|(?:what|which) (?:percentage|percent|share|number|amount|proportion|age|sum|price))\b",
    re.I,
)
_ASKS_TIME = re.compile(r"\b(?:when|(?:what|which) (?:year|day|date|month|time))\b", re.I)
_NUMBER_WORDS = frozenset(
    {
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "hundred",
        "hundreds",
        "thousand",
        "thousands",
        "million",
        "millions",
        "billion",
        "billions",
        "trillion",
        "dozen",
        "dozens",
        "half",
        "quarter",
        "third",
        "twice",
        "double",
        "triple",
    }
)


def answers_the_kind(claim: str, question: str) -> bool:
    """Rejects a claim that gives another kind of thing than the question asks for: only times where a place is
    asked ("Where will the next tournament be held?" - "in June and July"), no number where a quantity is asked,
    neither a number nor a time where a time is asked. Only the words the claim adds to the question count: an
    answer that repeats the question's words around a wrong kind is still the wrong kind."""
    asked = set(words(question))
    added = [w for w in words(claim) if w not in asked and w not in stopwords()]
    if not added:
        return True
    quantities = [bool(numbers(w)) or w in _NUMBER_WORDS for w in added]
    times = [is_time_word(w) or bool(numbers(w)) for w in added]
    # A question may ask for more than one ("Where and when ...?"): a claim may answer either.
    kinds = [
        (_ASKS_PLACE, not all(times)),
        (_ASKS_QUANTITY, any(quantities)),
        (_ASKS_TIME, any(times)),
    ]
    asked_for = [fits for pattern, fits in kinds if pattern.search(question)]
    return any(asked_for) or not asked_for


def check_rule_names(disabled: tuple[str, ...]) -> None:
    known = {r.__name__ for r in RULES} | {ANSWERS_THE_KIND}
    unknown = sorted(set(disabled) - known)
    if unknown:
        raise ConfigError(f"no grounding rule named {', '.join(unknown)}; the rules are: {', '.join(sorted(known))}")


def verify_claim(
    claim: Claim,
    question: str,
    pool: list[Evidence],
    limits: Grounding,
    similarity: Similarity,
    pointed: frozenset[Evidence] = frozenset(),
) -> Verdict:
    """Keep a claim only if an article sentence passes every rule for it; cite the ones that best
    answer the question with it (by meaning, not just shared words), one per outlet. An unsupported
    verdict names the rules that decided it: each one that, alone switched off, would have let a
    sentence support the claim (none when no single rule stood in the way)."""
    new = claim_content(claim.text, question)
    if not new:
        return Verdict(claim, Status.RESTATES_QUESTION, rules=(ADDS_NOTHING,))
    if ANSWERS_THE_KIND not in limits.disabled and not answers_the_kind(claim.text, question):
        return Verdict(claim, Status.UNSUPPORTED, rules=(ANSWERS_THE_KIND,))
    asked = content_terms(question) - POLARITY
    rules = [r for r in RULES if r.__name__ not in limits.disabled]
    check = Check(
        claim,
        frozenset(new),
        frozenset(asked),
        frozenset(names(question)),
        frozenset(numbers(claim.text)),
        pool[0] if pool else None,  # type: ignore[arg-type]
        limits,
    )
    supporting, decisive = [], set()
    for e in pool:
        failed = [r.__name__ for r in rules if not r(replace(check, evidence=e))]
        if not failed:
            supporting.append(e)
        elif len(failed) == 1:
            decisive.add(failed[0])
    if not supporting:
        return Verdict(claim, Status.UNSUPPORTED, rules=tuple(r.__name__ for r in rules if r.__name__ in decisive))
    meaning = dict(zip(supporting, similarity(f"{question} {claim.text}", supporting), strict=True))
    # Full support first; then the sentence the model pointed at; then those it read (the ones retrieval ranked best
    # for the question, where a short claim such as a name is stated by many sentences of the long pages); then the
    # closest in meaning.
    supporting.sort(key=lambda e: (-round(coverage(new, e.terms), 2), e not in pointed, e.number is None, -meaning[e]))
    best = supporting[0]
    chosen = [best]
    # The same fact in another outlet is cited too, when it answers the question about as well.
    for e in supporting[1:]:
        if len(chosen) >= limits.max_citations:
            break
        if e.source not in {c.source for c in chosen} and meaning[e] >= meaning[best] - limits.outlet_margin:
            chosen.append(e)
    return Verdict(claim, Status.SUPPORTED, tuple(chosen))


def verify_draft(
    draft: str, question: str, pool: list[Evidence], shown: list[Evidence], limits: Grounding, similarity: Similarity
) -> list[Verdict]:
    """Each claim of the draft, judged against `pool`; `shown` are the sentences the draft was written
    from, in prompt order, which its citation numbers point at. A refusal has no claims."""
    if is_refusal(draft):
        return []
    verdicts = []
    for claim in parse_claims(draft):
        pointed = frozenset(shown[n - 1] for n in claim.cited if 1 <= n <= len(shown))
        verdicts.append(verify_claim(claim, question, pool, limits, similarity, pointed))
    return verdicts


def claim_content(claim: str, question: str) -> set[str]:
    """The content a claim must find in a sentence: what it adds to the question. When all it adds
    is a "not" ("The council did not approve it" to "Did the council approve it?"), that is the whole
    claim, negation included. A bare "yes" adds nothing: restating a question matches too many
    sentences word for word ("ruled out the use of force" / "use of force to restore rule")."""
    claim_terms = content_terms(claim)
    new = claim_terms - content_terms(question)
    if new - POLARITY:
        return new
    return claim_terms if NEGATION in new else set()


def strongest_sentences(question: str, pool: list[Evidence], n: int) -> list[tuple[float, Evidence]]:
    """The sentences holding most of the question's content words, those the model saw first. The words
    count alike, not by rarity as in retrieval (rag.text.coverage says what was measured)."""
    question_terms = set(terms(question))
    scored = [(coverage(question_terms, e.terms), e) for e in pool]
    scored.sort(key=lambda pair: (-pair[0], pair[1].number is None))
    return scored[:n]
