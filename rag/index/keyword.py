"""BM25 keyword search over chunks (bm25s), using the same stemmed terms as verification.

Built when the index is saved and stored beside the vectors (`keyword/` in each generation): stemming every
chunk's words is most of the cost, so a process that opens the index memory-maps the score matrix instead of
building it again."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..text import terms
from ..types import Chunk

_IDS = "ids.npy"


class KeywordIndex:
    def __init__(self, bm25, ids: np.ndarray) -> None:  # type: ignore[no-untyped-def]
        self._bm25 = bm25
        self.ids = ids
        # Chunks holding each term: the score matrix is column-compressed by term id, with one entry
        # per (term, chunk) it occurs in. (bm25s also lists an empty token past the last column.)
        self._holding = np.diff(bm25.scores["indptr"])

    @classmethod
    def build(cls, chunks: list[Chunk]) -> KeywordIndex:
        import bm25s

        bm25 = bm25s.BM25()
        # bm25s refuses an empty vocabulary; a placeholder term keeps a chunk of only stop words indexable.
        bm25.index([terms(c.text) or ["∅"] for c in chunks] or [["∅"]], show_progress=False)
        return cls(bm25, np.array([c.id for c in chunks], dtype="int64"))

    def save(self, folder: Path) -> list[str]:
        """Write the index into `folder` (made here); returns the names of the files written."""
        folder.mkdir()
        self._bm25.save(str(folder), show_progress=False)
        np.save(folder / _IDS, self.ids)
        return sorted(p.name for p in folder.iterdir())

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        """The index saved in `folder`, its arrays memory-mapped: the operating system reads what searches touch."""
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        bm25 = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
        return cls(bm25, np.load(folder / _IDS, mmap_mode="r"))

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
