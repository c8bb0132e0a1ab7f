"""BM25 keyword search over chunks (bm25s), using the same stemmed terms as verification."""

from __future__ import annotations

import numpy as np

from ..text import terms
from ..types import Chunk


class KeywordIndex:
    def __init__(self, chunks: list[Chunk]) -> None:
        import bm25s

        self.ids = np.array([c.id for c in chunks], dtype="int64")
        self._bm25 = bm25s.BM25()
        # bm25s refuses an empty vocabulary; a placeholder term keeps a chunk of only stop words indexable.
        self._bm25.index([terms(c.text) or ["∅"] for c in chunks], show_progress=False)
        # Chunks holding each term: the score matrix is column-compressed by term id, with one entry
        # per (term, chunk) it occurs in. (bm25s also lists an empty token past the last column.)
        self._holding = np.diff(self._bm25.scores["indptr"])

    def idf(self, term: str) -> float:
        """How rare a stemmed `term` (as `rag.text.terms` gives) is across chunks, as BM25 (Lucene's
        variant) weighs it."""
        i = self._bm25.vocab_dict.get(term)
        holding = int(self._holding[i]) if i is not None and i < len(self._holding) else 0
        return float(np.log(1 + (len(self.ids) - holding + 0.5) / (holding + 0.5)))

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(chunk id, score) pairs, best first; only chunks with a score above zero."""
        query_terms = terms(query)
        if not query_terms or not len(self.ids):
            return []
        scores = self._bm25.get_scores(query_terms)
        if allowed is not None:
            scores = np.where(np.isin(self.ids, allowed), scores, 0.0)
        # A partial sort: at a million chunks a full argsort alone would take most of the budget.
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top if scores[i] > 0]
