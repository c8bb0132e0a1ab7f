"""Hybrid retrieval: FAISS dense search and BM25 over chunks, plus each chunk's best sentence,
fused by reciprocal rank, then diversified (MMR) so near-identical passages (the same sentence in
two overlapping chunks, the same story from two outlets) do not crowd the evidence out of the top k."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from ..config import Config
from ..errors import QuestionError
from ..index.embed import Embedder
from ..index.store import DocumentRecord, StoredIndex
from ..text import coverage, terms
from ..timing import timed
from ..types import Chunk, Hit, Span
from .when import Window

MODES = ("hybrid", "dense", "keyword")
Ranked = list[tuple[int, float]]  # (chunk id, score), best first


def outlet_articles(documents: Mapping[str, DocumentRecord], outlets: Iterable[str]) -> list[str]:
    """Every indexed article from the named outlets (matched without regard to case); a name no article has is a
    QuestionError, so a filter that would search nothing says so instead of refusing every question."""
    named = {o.strip().lower(): o.strip() for o in outlets}
    found = [d.source for d in documents.values() if d.outlet and d.outlet.lower() in named]
    missing = sorted(named[o] for o in set(named) - {d.outlet.lower() for d in documents.values() if d.outlet})
    if missing:
        raise QuestionError(f"no indexed article is from {', '.join(missing)}")
    return found


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to some article files and/or a date range (inclusive, YYYY-MM-DD).

    A date range admits only dated articles. `until`, the day the question was asked, is a bound of another kind:
    nothing published after it is searched or cited, but an undated article (a page saved without its date) is
    admitted, as nothing shows it came later."""

    sources: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None
    until: str | None = None

    def admits(self, chunk: Chunk) -> bool:
        return self.admits_article(chunk.source, chunk.date)

    def admits_article(self, source: str, date: str | None) -> bool:
        if self.sources and source not in self.sources:
            return False
        if (self.date_from or self.date_to) and date is None:
            return False
        if self.date_from and date < self.date_from:  # type: ignore[operator]
            return False
        if self.until and date is not None and date > self.until:
            return False
        return not (self.date_to and date > self.date_to)  # type: ignore[operator]

    def asked_on(self, day: str) -> Filters:
        """These filters with nothing published after the day the question is asked."""
        return replace(self, until=min(self.until or day, day))

    def within(self, window: Window) -> Filters:
        """These filters narrowed to a window's days (which admit dated articles only)."""
        start = window.start.isoformat() if window.start else None
        end = window.end.isoformat()
        return replace(
            self,
            date_from=max(filter(None, (self.date_from, start)), default=None),
            date_to=min(filter(None, (self.date_to, end))),
        )

    def __bool__(self) -> bool:
        return bool(self.sources or self.date_from or self.date_to or self.until)


@dataclass(frozen=True)
class SentenceMatch:
    """A chunk's sentence that best matches the question: the share of the question's words it
    holds, weighted by rarity (BM25's idf), with closeness in meaning to break ties."""

    span: Span
    words: float
    closeness: float

    @property
    def key(self) -> tuple[float, float]:
        return (self.words, self.closeness)


class Retriever:
    def __init__(self, index: StoredIndex, embedder: Embedder, config: Config) -> None:
        self.index = index
        self.embedder = embedder
        self.config = config
        self.keyword = index.keyword
        self.newest = max((d.date for d in index.documents.values() if d.date), default=None)

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
        if mode == "hybrid":
            return self.diversify(self.candidates(question, filters, query), k)
        allowed = self._allowed(filters)
        if allowed is not None and not len(allowed):
            return []
        if mode == "keyword":
            keyword = self.keyword.search(question, self.config.candidates, allowed)
            return [self._hit(i, s, {"keyword": r}) for r, (i, s) in enumerate(keyword[:k])]
        query = self.embedder.embed([question])[0] if query is None else query
        dense = self._dense(query, self.config.candidates, allowed)
        return [self._hit(i, s, {"dense": r}) for r, (i, s) in enumerate(dense[:k])]

    def candidates(
        self,
        question: str,
        filters: Filters | None = None,
        query: np.ndarray | None = None,
        timings: dict[str, float] | None = None,
        prefer: Window | None = None,
        prefer_weight: float = 0.0,
    ) -> list[Hit]:
        """Every chunk the dense and keyword searches found for `question`, fused into one ranking
        with their best sentences, best first: what `diversify` picks the passages from. With a
        window to `prefer`, the window's articles are searched on their own too, and that ranking
        is added with `prefer_weight` (`prefer_window`). Each stage's seconds are added to
        `timings` ("retrieve.dense", ...), for the benchmarks."""
        timings = {} if timings is None else timings
        whole = self._fused(question, filters, query, timings)
        if prefer is None or prefer_weight <= 0:
            return whole
        inside = self._fused(question, (filters or Filters()).within(prefer), query, timings)
        return prefer_window(whole, inside, prefer_weight)

    def _fused(
        self, question: str, filters: Filters | None, query: np.ndarray | None, timings: dict[str, float]
    ) -> list[Hit]:
        with timed(timings, "retrieve.filters"):
            allowed = self._allowed(filters)
        if allowed is not None and not len(allowed):
            return []
        n = self.config.candidates
        with timed(timings, "retrieve.keyword"):
            keyword = self.keyword.search(question, n, allowed)
        with timed(timings, "retrieve.embed"):
            query = self.embedder.embed([question])[0] if query is None else query
        with timed(timings, "retrieve.dense"):
            dense = self._dense(query, n, allowed)
        with timed(timings, "retrieve.sentences"):
            matches = self._best_sentences(question, query, list(dict.fromkeys(i for i, _ in dense + keyword)))
        with timed(timings, "retrieve.fusion"):
            return self._fuse({"dense": dense, "keyword": keyword, "sentence": by_best_sentence(matches)}, matches)

    def articles(self, filters: Filters | None) -> Mapping[str, DocumentRecord]:
        """The articles a question with these filters may search and cite: the one place filters are
        applied (retrieval's chunk ids, the evidence pool and article references all come from it)."""
        if self._admits_all(filters):
            return self.index.documents
        return admitted_articles(self.index.documents, filters)  # type: ignore[arg-type]

    def _admits_all(self, filters: Filters | None) -> bool:
        if not filters:
            return True
        only_until = not (filters.sources or filters.date_from or filters.date_to)
        # Asked after the newest article: every article is admitted, so none is listed.
        return only_until and (self.newest is None or self.newest <= filters.until)  # type: ignore[operator]

    def _allowed(self, filters: Filters | None) -> np.ndarray | None:
        return None if self._admits_all(filters) else admitted_chunks(self.index.documents, filters)  # type: ignore[arg-type]

    def _dense(self, query: np.ndarray, n: int, allowed: np.ndarray | None) -> Ranked:
        import faiss

        if not self.index.vectors.ntotal:
            return []
        # One query does not pay for a thread team; two threads racing llama.cpp were 30x slower.
        faiss.omp_set_num_threads(1)
        params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed)) if allowed is not None else None
        scores, ids = self.index.vectors.search(query[None, :], min(n, self.index.vectors.ntotal), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def _best_sentences(self, question: str, query: np.ndarray, candidates: list[int]) -> dict[int, SentenceMatch]:
        """Each candidate's best sentence. A question is most often answered by one sentence, and
        chunk scores blur it: BM25 credits words scattered over a chunk's sentences, and the chunk
        vector averages the answer with its neighbours. Sentence vectors were made at ingest."""
        wanted = set(terms(question))
        weight = {t: self.keyword.idf(t) for t in wanted}.__getitem__
        best = {}
        for i in candidates:
            chunk = self.index.chunks[i]
            closeness = self.index.sentences.of(chunk) @ query
            matches = [
                SentenceMatch(span, coverage(wanted, set(terms(text)), weight), float(close))
                for (span, text), close in zip(chunk.sentence_texts(), closeness, strict=True)
            ]
            if matches:
                best[i] = max(matches, key=lambda m: m.key)
        return best

    def _fuse(self, ranked: dict[str, Ranked], matches: dict[int, SentenceMatch] | None = None) -> list[Hit]:
        """One list from several: reciprocal rank fusion (the default), or with fusion="weighted" a
        convex sum of min-max normalised scores, kept to measure against it."""
        found: dict[int, dict[str, tuple[int, float]]] = {}
        for name, results in ranked.items():
            if not results:
                continue
            values = np.array([score for _, score in results])
            normalised = (values - values.min()) / (np.ptp(values) or 1.0)
            for rank, ((chunk_id, _), value) in enumerate(zip(results, normalised, strict=True)):
                found.setdefault(chunk_id, {})[name] = (rank, float(value))
        c = self.config.rrf_k
        # Reciprocal rank fusion gives each list one vote, so two of the three are lexical: measured
        # on the dev set, 52 own questions and 30 paraphrased ones, that beat dense + BM25 alone on
        # all three. A weighted sum splits the keyword share between the chunk's words and its best
        # sentence's.
        lexical = (1 - self.config.dense_weight) / (2 if ranked.get("sentence") else 1)
        weight = {"dense": self.config.dense_weight, "keyword": lexical, "sentence": lexical}

        def score(by: dict[str, tuple[int, float]]) -> float:
            if self.config.fusion == "rrf":
                return sum(1.0 / (c + 1 + rank) for rank, _ in by.values())
            return sum(weight[name] * value for name, (_, value) in by.items())

        matches = matches or {}
        hits = [
            self._hit(i, score(by), {name: rank for name, (rank, _) in by.items()}, matches.get(i))
            for i, by in found.items()
        ]
        return sorted(hits, key=lambda h: -h.score)

    def diversify(self, hits: list[Hit], k: int) -> list[Hit]:
        """Maximal marginal relevance over the fused list. Chunks overlap by a sentence: a chunk
        whose best sentence is an earlier pick's best sentence comes after every chunk that brings
        a new one, since what else it holds matched the question less. (Putting off every chunk
        that holds any sentence of an earlier pick measured worse on paraphrased questions.)"""
        if len(hits) <= 1:
            return hits[:k]
        vectors = self.index.vectors.reconstruct_batch(np.array([h.chunk.id for h in hits], dtype="int64"))
        # RRF scores bunch together (0.029..0.033); stretched to 0..1 they can outweigh redundancy.
        scores = np.array([h.score for h in hits])
        relevance = (scores - scores.min()) / (np.ptp(scores) or 1.0)
        similarity = vectors @ vectors.T
        lam = self.config.mmr_lambda
        best = [(h.chunk.source, h.sentence.start) if h.sentence else None for h in hits]
        chosen = [0]
        while len(chosen) < min(k, len(hits)):
            gain = lam * relevance - (1 - lam) * similarity[:, chosen].max(axis=1)
            gain[chosen] = -np.inf
            held = {best[i] for i in chosen} - {None}
            fresh = np.array([b not in held for b in best]) & np.isfinite(gain)
            chosen.append(int(np.where(fresh, gain, -np.inf).argmax() if fresh.any() else gain.argmax()))
        return [hits[i] for i in chosen]

    def _hit(self, chunk_id: int, score: float, ranks: dict[str, int], match: SentenceMatch | None = None) -> Hit:
        chunk = self.index.chunks[chunk_id]
        return Hit(chunk, score, ranks.get("dense"), ranks.get("keyword"), ranks.get("sentence"), match and match.span)


def admitted_articles(documents: Mapping[str, DocumentRecord], filters: Filters) -> dict[str, DocumentRecord]:
    """The articles the filters admit; named sources are looked up, not searched for."""
    named = (documents[s] for s in filters.sources if s in documents) if filters.sources else documents.values()
    return {d.source: d for d in named if filters.admits_article(d.source, d.date)}


def admitted_chunks(documents: Mapping[str, DocumentRecord], filters: Filters) -> np.ndarray:
    """The ids of the chunks the filters admit, found article by article: a chunk has its article's
    source and date, and at a million chunks a pass over every chunk took ~100 ms a question
    (benchmarks/bench_retrieval.py measures this way)."""
    admitted = admitted_articles(documents, filters).values()
    return np.array([i for d in admitted for i in d.chunk_ids], dtype="int64")


def prefer_window(whole: list[Hit], inside: list[Hit], weight: float) -> list[Hit]:
    """One ranking from the whole collection's and a time window's own: a chunk's score is its
    score in the whole collection plus `weight` times its score among the window's articles.

    A question about "this week" is one of many on its topic across the weeks: its week's
    article may rank below older ones in the whole collection, or not among its candidates at
    all, and the window's own search finds it. Articles outside the window are not removed (an
    event is often reported days later, and a question may repeat an article's own "last week"):
    a strong match outside can still outrank a weak one inside."""
    scores: dict[int, float] = {}
    found: dict[int, Hit] = {}
    for hits, factor in ((whole, 1.0), (inside, weight)):
        for hit in hits:
            scores[hit.chunk.id] = scores.get(hit.chunk.id, 0.0) + factor * hit.score
            found.setdefault(hit.chunk.id, hit)
    ranked = sorted(scores, key=lambda i: -scores[i])
    return [replace(found[i], score=scores[i]) for i in ranked]


def by_best_sentence(matches: dict[int, SentenceMatch]) -> Ranked:
    """Chunks ranked by their best sentence."""
    return [(i, m.words) for i, m in sorted(matches.items(), key=lambda item: item[1].key, reverse=True)]
