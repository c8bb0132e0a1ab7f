"""Check what the model wrote against the articles, claim by claim, and cite exact sentences.

The model's citation numbers are a hint, not the truth: a claim is kept only when its new
content (the words it adds to the question) stands in an article sentence, numbers included,
and it is cited to the sentences that hold it, wherever the model pointed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from ..config import Grounding
from ..errors import ConfigError
from ..index.store import StoredIndex
from ..search.retrieve import Filters
from ..text import NEGATION, POLARITY, content_terms, coverage, numbers, terms
from ..types import Hit
from .prompt import REFUSAL_TOKEN

# similarity(query, texts) -> one score per text, higher is closer in meaning.
Similarity = Callable[[str, list[str]], list[float]]
_CAPITALISED = re.compile(r"\b[A-Z][\w'’.-]*")
_OPENERS = '.!?:"“'  # what ends the word before one that opens a sentence
_ABBREVIATION = re.compile(r"[A-Z][a-z]{0,3}\.")  # Mr. Dr. Gen. Sen. Jan.: no sentence ends there
# What a place's name gains to become its people's or its adjective, as stems (Chinese -> chines).
_ADJECTIVE_ENDINGS = frozenset({"n", "an", "ian", "ien", "es", "ese", "i", "ish"})

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
class Evidence:
    """One article sentence that may be cited."""

    source: str
    date: str | None
    start: int
    end: int
    text: str
    terms: frozenset[str]
    numbers: frozenset[str]
    number: int | None  # its number in the prompt, None if the model did not see it
    # Terms of this sentence, of its neighbours and of names its article keeps coming back to:
    # what a reader of this sentence knows it is about.
    context: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Claim:
    text: str  # as the model wrote it, without citation markers
    cited: tuple[int, ...]  # sentence numbers the model gave
    opens_sentence: bool = False  # the claim starts a new sentence (not "..., and B [2]")
    sentence: str = ""  # the whole sentence of the draft it is part of, without citation markers


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
    # "Mali and Burkina Faso [1] revoked agreements with France [2]" is one statement in two claims.
    sentences: list[list[Claim]] = []
    for claim in claims:
        if claim.opens_sentence or not sentences:
            sentences.append([])
        sentences[-1].append(claim)
    return [replace(c, sentence=" ".join(p.text for p in group)) for group in sentences for c in group]


def evidence_pool(
    hits: list[Hit],
    index: StoredIndex,
    shown: list[tuple[str, int]] | None = None,
    filters: Filters | None = None,
    limits: Grounding | None = None,
) -> list[Evidence]:
    """Every sentence of the articles the passages came from, and of the articles linked to them as
    the same story from another outlet, so a fact can be cited wherever it is stated (but never
    from an article the filters keep out). The sentences the model is shown, given as (source,
    start) in prompt order (by default every sentence of the passages, in rank order), are numbered."""
    if shown is None:
        shown = [(hit.chunk.source, span.start) for hit in hits for span, text in hit.chunk.sentence_texts()]
    numbers_shown: dict[tuple[str, int], int] = {}
    for key in shown:
        numbers_shown.setdefault(key, len(numbers_shown) + 1)
    sources: list[str] = []
    for hit in hits:
        record = index.documents.get(hit.chunk.source)
        for source in (hit.chunk.source, *(record.duplicates if record else ())):
            admitted = not filters or filters.admits_article(source, index.documents[source].date)
            if admitted and source not in sources:
                sources.append(source)
    pool: list[Evidence] = []
    for source in sources:
        article: dict[int, Evidence] = {}
        for chunk_id in index.documents[source].chunk_ids:
            chunk = index.chunks[chunk_id]
            for span, text in chunk.sentence_texts():
                if span.start in article:
                    continue
                article[span.start] = Evidence(
                    source,
                    chunk.date,
                    span.start,
                    span.end,
                    text,
                    frozenset(content_terms(text)),
                    frozenset(numbers(text)),
                    numbers_shown.get((source, span.start)),
                )
        pool += _in_context(sorted(article.values(), key=lambda e: e.start), limits or Grounding())
    return pool


def _in_context(sentences: list[Evidence], limits: Grounding) -> list[Evidence]:
    """The article's sentences (in order) with their context filled in: their own terms, their
    neighbours', and those the article keeps coming back to (`Grounding.recurring`)."""
    mentions = Counter(term for e in sentences for term in e.terms)
    named = set().union(*(names(e.text) for e in sentences))
    recurring = frozenset(
        term for term, n in mentions.items() if n >= (limits.recurring_name if term in named else limits.recurring)
    )
    return [
        replace(e, context=recurring.union(*(n.terms for n in sentences[max(i - 1, 0) : i + 2])))
        for i, e in enumerate(sentences)
    ]


def same_name(a: str, b: str) -> bool:
    """Two terms name the same place or its people, for regular adjectives: Nigeria and Nigerian,
    Russia and Russian, Italy and Italian, China and Chinese (stems "china" and "chines"). Not
    France and French, and not Niger and Nigeria ("ia" is not an adjective's ending), though Niger
    and Nigerian do match."""
    short, long = sorted((a, b), key=len)
    if long.startswith(short):
        return long[len(short) :] in _ADJECTIVE_ENDINGS or not long[len(short) :]
    return short[-1:] in "aeiouy" and long.startswith(short[:-1]) and long[len(short) - 1 :] in _ADJECTIVE_ENDINGS


def names(text: str) -> set[str]:
    """Terms of the capitalised words that do not open a sentence: the people, places and bodies
    a question is about. Acronyms ("U.S.", "ECOWAS") are left out, since the articles may spell
    them out, and so are titles ("Mr."). In a question in capitals or title case (every word of
    four letters or more capitalised) capitals mark nothing, so it names nothing."""
    found = []
    long_words = re.findall(r"[^\W\d_][\w'’]{3,}", text)
    if len(long_words) >= 3 and all(w[0].isupper() for w in long_words):
        return set()
    for m in _CAPITALISED.finditer(text):
        word, before = m.group(), text[: m.start()].split()
        opens = not before or (before[-1][-1] in _OPENERS and not _ABBREVIATION.fullmatch(before[-1]))
        if not (opens or _ABBREVIATION.fullmatch(word) or word.rstrip(".").isupper() or "." in word.rstrip(".")):
            found.append(word)
    return set(terms(" ".join(found)))


def _held(wanted: set[str], have: frozenset[str], named: set[str]) -> float:
    """The share of `wanted` terms that `have` holds, a place's adjective counting as the place
    for the names in `named`."""
    held = [w in have or (w in named and any(same_name(w, h) for h in have)) for w in wanted]
    return sum(held) / len(wanted) if wanted else 0.0


def about(e: Evidence, named: set[str]) -> bool:
    """The sentence, read in its article, is about every one of these names."""
    return all(any(same_name(name, term) for term in e.context) for name in named)


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
    restated: frozenset[str]  # the question's words the claim's sentence repeats as part of what it states
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


def says_what_it_restates(c: Check) -> bool:
    """Rejects a sentence where less than half of what the claim repeats from the question is said
    (in it, beside it, or throughout its article): a claim that "X did what the question asks" is
    not supported by a sentence where X did something else that shares the rest of its words."""
    return not c.restated or _held(set(c.restated), c.evidence.context, set(c.named)) > c.limits.restated


Rule = Callable[[Check], bool]  # True: the sentence may support the claim
RULES: tuple[Rule, ...] = (
    states_the_new_content,
    states_the_numbers,
    keeps_the_negation,
    shares_a_question_word,
    is_about_the_names,
    says_what_it_restates,
)
ADDS_NOTHING = "adds_nothing_to_the_question"  # the claim-level rule: see claim_content


def check_rule_names(disabled: tuple[str, ...]) -> None:
    known = {r.__name__ for r in RULES}
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
    asked = content_terms(question) - POLARITY
    rules = [r for r in RULES if r.__name__ not in limits.disabled]
    check = Check(
        claim,
        frozenset(new),
        frozenset(asked),
        frozenset(names(question)),
        frozenset(content_terms(claim.sentence or claim.text) & asked),
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
    meaning = dict(zip(supporting, similarity(f"{question} {claim.text}", [e.text for e in supporting]), strict=True))
    # Full support first; then the sentence the model pointed at; then the closest in meaning.
    supporting.sort(key=lambda e: (-round(coverage(new, e.terms), 2), e not in pointed, -meaning[e]))
    best = supporting[0]
    chosen = [best]
    # The same fact in another outlet is cited too, when it answers the question about as well.
    for e in supporting[1:]:
        if len(chosen) >= limits.max_citations:
            break
        if e.source not in {c.source for c in chosen} and meaning[e] >= meaning[best] - limits.outlet_margin:
            chosen.append(e)
    return Verdict(claim, Status.SUPPORTED, tuple(chosen))


def claim_content(claim: str, question: str) -> set[str]:
    """The content a claim must find in a sentence: what it adds to the question. When all it adds
    is a "not" ("Paris does not recognize them" to "Does Paris recognize them?"), that is the whole
    claim, negation included. A bare "yes" adds nothing: restating a question matches too many
    sentences word for word ("ruled out the use of force" / "use of force to restore rule")."""
    claim_terms = content_terms(claim)
    new = claim_terms - content_terms(question)
    if new - POLARITY:
        return new
    return claim_terms if NEGATION in new else set()


def strongest_sentences(question: str, pool: list[Evidence], n: int) -> list[tuple[float, Evidence]]:
    """The sentences holding most of the question's content words, those the model saw first."""
    question_terms = set(terms(question))
    scored = [(coverage(question_terms, e.terms), e) for e in pool]
    scored.sort(key=lambda pair: (-pair[0], pair[1].number is None))
    return scored[:n]
