"""The citable sentences retrieval hands grounding: every sentence of the articles the passages
came from (and of the same story from other outlets), each with what its article is about."""

from __future__ import annotations

from collections import Counter
from collections.abc import Container
from dataclasses import replace

from ..config import Grounding
from ..index.store import StoredIndex
from ..text import content_terms, names, numbers
from ..types import Evidence, Hit


def evidence_pool(
    hits: list[Hit],
    index: StoredIndex,
    shown: list[tuple[str, int]] | None = None,
    admitted: Container[str] | None = None,
    limits: Grounding | None = None,
) -> list[Evidence]:
    """Every sentence of the articles the passages came from, and of the articles linked to them as
    the same story from another outlet, so a fact can be cited wherever it is stated (but only from
    the `admitted` articles, `Retriever.articles`, when given). The sentences the model is shown, given as (source,
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
            if (admitted is None or source in admitted) and source not in sources:
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
                    chunk=chunk_id,
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
