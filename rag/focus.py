"""Sentence windows: from the retrieved passages, the few sentences the model reads.

Pre-fill is most of the time to the first token, and a small model answers better from a few
relevant sentences than from whole passages with their side facts. Each candidate sentence is
ranked three ways (closeness in meaning to the question, share of the question's words it holds,
and the rank of the passage it came from) and the rankings are fused by reciprocal rank, as
retrieval fuses its lists.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .safety import looks_like_instruction
from .text import terms
from .types import Hit

# similarity(query, texts) -> one score per text, higher is closer in meaning.
Similarity = Callable[[str, list[str]], list[float]]
SentenceKey = tuple[str, int]  # (source, start offset): one sentence of one article
_RRF_K = 60


def focus(question: str, hits: list[Hit], similarity: Similarity, n: int) -> list[SentenceKey]:
    """The `n` sentences of `hits` that best answer `question`, best first."""
    candidates: dict[SentenceKey, tuple[str, int]] = {}
    for rank, hit in enumerate(hits):
        for span, text in hit.chunk.sentence_texts():
            # Planted instructions are data: they are never put in front of the model.
            if not looks_like_instruction(text):
                candidates.setdefault((hit.chunk.source, span.start), (text, rank))
    if len(candidates) <= n:
        return list(candidates)
    keys = list(candidates)
    texts = [candidates[k][0] for k in keys]
    question_terms = set(terms(question))
    words = [len(question_terms.intersection(terms(t))) / (len(question_terms) or 1) for t in texts]
    passage_rank = [-candidates[k][1] for k in keys]
    fused = np.zeros(len(keys))
    for scores in (similarity(question, texts), words, passage_rank):
        order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
        fused[order] += 1.0 / (_RRF_K + 1 + np.arange(len(keys)))
    return [keys[i] for i in np.argsort(-fused, kind="stable")[:n]]
