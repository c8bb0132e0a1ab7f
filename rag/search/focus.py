"""Sentence windows: from the retrieved passages, the few sentences the model reads.

Pre-fill is most of the time to the first token, and a small model answers better from a few
relevant sentences than from whole passages with their side facts. Each candidate sentence is
ranked three ways (closeness in meaning to the question, share of the question's words it holds,
and the rank of the passage it came from) and the rankings are fused by reciprocal rank, as
retrieval fuses its lists. Sentence vectors come from the index (made at ingest), so this step
embeds nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..text import coverage, terms
from ..types import Chunk, Hit, SentenceKey

SentenceVectorsOf = Callable[[Chunk], np.ndarray]  # one unit row per sentence of the chunk


def focus(
    question: str, query: np.ndarray, hits: list[Hit], vectors_of: SentenceVectorsOf, n: int, rrf_k: int = 60
) -> list[SentenceKey]:
    """The `n` sentences of `hits` that best answer `question` (embedded as `query`); the rankings
    are fused as retrieval fuses its lists (`Config.rrf_k`)."""
    candidates: dict[SentenceKey, tuple[str, int, float]] = {}
    for rank, hit in enumerate(hits):
        closeness = vectors_of(hit.chunk) @ query
        for (span, text), close in zip(hit.chunk.sentence_texts(), closeness, strict=True):
            candidates.setdefault((hit.chunk.source, span.start), (text, rank, float(close)))
    keys = list(candidates)
    question_terms = set(terms(question))
    meaning = [candidates[k][2] for k in keys]
    words = [coverage(question_terms, set(terms(candidates[k][0]))) for k in keys]
    passage_rank = [-candidates[k][1] for k in keys]
    fused = np.zeros(len(keys))
    for scores in (meaning, words, passage_rank):
        order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
        fused[order] += 1.0 / (rrf_k + 1 + np.arange(len(keys)))
    best = [keys[i] for i in np.argsort(-fused, kind="stable")[:n]]
    # Shown in reading order, article by article (the best sentence's article first): out of order,
    # a sentence that continues the one before it ("it was initiated by ...") loses what it refers to.
    articles = list(dict.fromkeys(source for source, _ in best))
    return sorted(best, key=lambda k: (articles.index(k[0]), k[1]))
