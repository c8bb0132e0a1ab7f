"""Hybrid retrieval: FAISS dense search and BM25 fused by reciprocal rank, then diversified (MMR)
so near-identical passages from two outlets do not crowd the evidence out of the top k."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import Config
from .embed import Embedder
from .keyword import KeywordIndex
from .store import StoredIndex
from .types import Chunk, Hit

MODES = ("hybrid", "dense", "keyword")


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some article files and/or a date range (inclusive, YYYY-MM-DD)."""

    sources: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None

    def admits(self, chunk: Chunk) -> bool:
        if self.sources and chunk.source not in self.sources:
            return False
        if (self.date_from or self.date_to) and chunk.date is None:
            return False
        if self.date_from and chunk.date < self.date_from:  # type: ignore[operator]
            return False
        return not (self.date_to and chunk.date > self.date_to)  # type: ignore[operator]

    def __bool__(self) -> bool:
        return bool(self.sources or self.date_from or self.date_to)


class Retriever:
    def __init__(self, index: StoredIndex, embedder: Embedder, config: Config) -> None:
        self.index = index
        self.embedder = embedder
        self.config = config
        self.keyword = KeywordIndex(list(index.chunks.values()))

    def search(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        mode: str = "hybrid",
        query: np.ndarray | None = None,
    ) -> list[Hit]:
        """The top `k` chunks for `question`; `query` is its embedding, if the caller already has it."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        k = k or self.config.top_k
        allowed = self._allowed(filters)
        if allowed is not None and not len(allowed):
            return []
        n = self.config.candidates
        dense = self._dense(question, n, allowed, query) if mode != "keyword" else []
        keyword = self.keyword.search(question, n, allowed) if mode != "dense" else []
        if mode == "dense":
            return [self._hit(i, s, dense_rank=r) for r, (i, s) in enumerate(dense[:k])]
        if mode == "keyword":
            return [self._hit(i, s, keyword_rank=r) for r, (i, s) in enumerate(keyword[:k])]
        return self._diversify(self._fuse(dense, keyword), k)

    def _allowed(self, filters: Filters | None) -> np.ndarray | None:
        if not filters:
            return None
        return np.array([c.id for c in self.index.chunks.values() if filters.admits(c)], dtype="int64")

    def _dense(
        self, question: str, n: int, allowed: np.ndarray | None, query: np.ndarray | None
    ) -> list[tuple[int, float]]:
        import faiss

        if not self.index.vectors.ntotal:
            return []
        # One query does not pay for a thread team; two threads racing llama.cpp were 30x slower.
        faiss.omp_set_num_threads(1)
        if query is None:
            query = self.embedder.embed([question])[0]
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed)) if allowed is not None else None
        scores, ids = self.index.vectors.search(query[None, :], min(n, self.index.vectors.ntotal), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _fuse(self, dense: list[tuple[int, float]], keyword: list[tuple[int, float]]) -> list[Hit]:
        """One list from the two: reciprocal rank fusion (the default), or with fusion="weighted" a
        convex sum of min-max normalised scores, kept to measure against it."""
        found: dict[int, dict[str, tuple[int, float]]] = {}
        for name, results in (("dense", dense), ("keyword", keyword)):
            if not results:
                continue
            values = np.array([score for _, score in results])
            normalised = (values - values.min()) / (np.ptp(values) or 1.0)
            for rank, ((chunk_id, _), value) in enumerate(zip(results, normalised, strict=True)):
                found.setdefault(chunk_id, {})[name] = (rank, float(value))
        c = self.config.rrf_k
        weight = {"dense": self.config.dense_weight, "keyword": 1 - self.config.dense_weight}

        def score(by: dict[str, tuple[int, float]]) -> float:
            if self.config.fusion == "rrf":
                return sum(1.0 / (c + 1 + rank) for rank, _ in by.values())
            return sum(weight[name] * value for name, (_, value) in by.items())

        def rank(by: dict[str, tuple[int, float]], name: str) -> int | None:
            return by[name][0] if name in by else None

        hits = [self._hit(i, score(by), rank(by, "dense"), rank(by, "keyword")) for i, by in found.items()]
        return sorted(hits, key=lambda h: -h.score)

    def _diversify(self, hits: list[Hit], k: int) -> list[Hit]:
        """Maximal marginal relevance over the fused list."""
        if len(hits) <= 1:
            return hits[:k]
        vectors = self.index.vectors.reconstruct_batch(np.array([h.chunk.id for h in hits], dtype="int64"))
        # RRF scores bunch together (0.029..0.033); stretched to 0..1 they can outweigh redundancy.
        scores = np.array([h.score for h in hits])
        relevance = (scores - scores.min()) / (np.ptp(scores) or 1.0)
        similarity = vectors @ vectors.T
        lam = self.config.mmr_lambda
        chosen = [0]
        while len(chosen) < min(k, len(hits)):
            redundancy = similarity[:, chosen].max(axis=1)
            gain = lam * relevance - (1 - lam) * redundancy
            gain[chosen] = -np.inf
            chosen.append(int(gain.argmax()))
        return [hits[i] for i in chosen]

    def _hit(self, chunk_id: int, score: float, dense_rank: int | None = None, keyword_rank: int | None = None) -> Hit:
        return Hit(self.index.chunks[chunk_id], score, dense_rank, keyword_rank)
