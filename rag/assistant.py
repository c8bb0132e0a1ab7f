"""The pipeline: question -> retrieval -> grounded prompt -> generation -> verified, cited answer."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np

from .config import Config
from .errors import QuestionError
from .generate.llama import Generator, load_generator
from .grounding.compose import compose, name_articles, quote_headless
from .grounding.prompt import REFUSAL_TOKEN, build_messages
from .grounding.recover import recover
from .grounding.verify import Status, Verdict, check_rule_names, prompt_sentences, verify_draft
from .index.articles import ArticleFiles
from .index.embed import Embedder
from .index.ingest import settings_for, update_index
from .index.store import DocumentRecord, StoredIndex
from .search.conversation import Turn, standalone_question
from .search.evidence import evidence_pool
from .search.focus import focus
from .search.reference import article_reference
from .search.retrieve import Filters, Retriever
from .search.when import Window, recent_start, time_window
from .search.when import warm_up as warm_up_time_words
from .timing import timed
from .types import Answer, Draft, Evidence, Hit, Searching, Trace

Event = Searching | Draft | Answer  # what Assistant.stream yields
REFUSAL = "The articles don't say."
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


AskedOn = date | datetime | str | None  # a date, or an ISO string ("2022-11-04"); None is today


def asked_day(asked_on: AskedOn) -> date:
    """The day a question is asked, from what a caller passed."""
    if asked_on is None:
        return date.today()
    if isinstance(asked_on, datetime):
        return asked_on.date()
    if isinstance(asked_on, date):
        return asked_on
    if isinstance(asked_on, str):
        try:
            return datetime.fromisoformat(asked_on.strip()).date()
        except ValueError:
            pass
    raise QuestionError(f"asked_on must be a date or an ISO date such as 2022-11-04, not {asked_on!r}")


def clean_question(question: object, max_chars: int) -> str:
    if not isinstance(question, str):
        raise QuestionError(f"the question must be text, not {type(question).__name__}")
    text = " ".join(_CONTROL.sub(" ", question).split())
    if not text:
        raise QuestionError("the question is empty: type a question about the articles")
    if len(text) > max_chars:
        raise QuestionError(
            f"the question is {len(text):,} characters long; keep it under {max_chars:,} (ask one thing at a time)"
        )
    return text


class Assistant:
    """One index and one model, loaded once and reused for every question."""

    def __init__(self, config: Config | None = None, generator: Generator | None = None, update: bool = False) -> None:
        """Open the configured index; with update=True, first bring it up to date with its folder
        (cheap when nothing changed: it hashes the article files and compares with the manifest)."""
        from threadpoolctl import threadpool_limits

        # NumPy's BLAS threads keep spinning after the small matrix products of MMR and verification
        # and steal the cores llama.cpp is pre-filling on (measured: pipeline overhead over bare
        # llama-cpp-python 10.5% -> 6.4% at the median with one BLAS thread). Serving needs no parallel BLAS.
        threadpool_limits(1, user_api="blas")
        self.config = config or Config.from_env()
        check_rule_names(self.config.grounding.disabled)
        self.embedder = Embedder.from_config(self.config)
        if update:
            index, _ = update_index(self.config, embedder=self.embedder)
        else:
            index = self._load()
        self._open(index)
        self._generator = generator

    def _open(self, index: StoredIndex) -> None:
        self.retriever = Retriever(index, self.embedder, self.config)
        self.articles = ArticleFiles(self.corpus_dir, index.documents, index.texts, self.config)

    @property
    def index(self) -> StoredIndex:
        return self.retriever.index

    @property
    def corpus_dir(self) -> Path:
        """The folder of the indexed articles: the one the index was built from."""
        return self.index.corpus or (self.config.corpus_dir or self.config.default_corpus).resolve()

    def article_text(self, source: str) -> str:
        """An indexed article's text as the loader reads it, which citations' offsets index:
        `article_text(c.source)[c.start:c.end] == c.text` (for a UTF-8 file, `open(path).read()`
        returns the same text). Raises StaleArticleError when the file changed since indexing."""
        return self.articles.text(source)

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            self._generator = load_generator(self.config)
        return self._generator

    def warm_up(self) -> None:
        """Load the model and run the fixed prompt prefix through it once, so the first user does
        not wait for either (the prefix then stays in the KV cache); and load the date parser's data and what
        retrieval loads on first use."""
        for _ in self.generator.stream(build_messages("warm-up", []), 1):
            pass
        warm_up_time_words()
        self.retriever.search("warm-up")  # the query embedder's session, the stemmer, the stop words

    def reload(self) -> None:
        """Pick up an index that was updated after this assistant was made."""
        self._open(self._load())

    def _load(self) -> StoredIndex:
        # An index cut or embedded with other settings than these would be searched wrongly: refused.
        return StoredIndex.load(
            self.config.index_dir, expect=settings_for(self.config), verify_bytes=self.config.verify_on_load_bytes
        )

    def ask(
        self,
        question: str,
        filters: Filters | None = None,
        top_k: int | None = None,
        history: Sequence[Turn] = (),
        *,
        asked_on: AskedOn = None,
    ) -> Answer:
        """The verified answer; `history` holds the earlier turns of a conversation, so a follow-up
        ("and which of them revoked agreements?") is understood. `asked_on` is the day the question
        is asked (default today): nothing published after it is used, and its time words ("this
        week", "in January") count from it."""
        *_, final = self.stream(question, filters, top_k, history, asked_on=asked_on)
        if not isinstance(final, Answer):
            raise TypeError("the answer stream ended without an Answer")
        return final

    def stream(
        self,
        question: str,
        filters: Filters | None = None,
        top_k: int | None = None,
        history: Sequence[Turn] = (),
        *,
        asked_on: AskedOn = None,
    ) -> Iterator[Event]:
        """Yield `Searching` when a follow-up was rewritten into a standalone question, the model's
        draft as it is written (`Draft` pieces), then the verified `Answer`."""
        asked = question = clean_question(question, self.config.max_question_chars)
        day = asked_day(asked_on)
        searched_for = ""
        if history:
            rewrite = standalone_question(
                question, history, self.generator, self.config.rewrite_max_tokens, self.config.rewrite_max_chars
            )
            if rewrite.changed:
                question = searched_for = rewrite.question
                yield Searching(question)
        filters = (filters or Filters()).asked_on(day.isoformat())
        window, weight = self._window(question, day)
        articles = self.retriever.articles(filters)
        reference = article_reference(question, ((s, d.date) for s, d in articles.items()))
        if reference:
            # "According to the November piece, ...": that article is searched and cited, and the
            # date words, which no article's text holds, are not searched for or checked.
            if not reference.sources:
                yield Answer(asked, reference.none_found(), False, searched_for=searched_for, window=window)
                return
            question, filters = reference.question, replace(filters, sources=reference.sources)
            articles = self.retriever.articles(filters)
        timings: dict[str, float] = {}
        with timed(timings, "retrieve"):
            with timed(timings, "retrieve.embed"):
                query = self.embedder.embed([question])[0]
            candidates = self.retriever.candidates(question, filters, query, timings, window, weight)
            with timed(timings, "retrieve.mmr"):
                hits = self.retriever.diversify(candidates, top_k or self.config.top_k)
            # An article edited or deleted since indexing would be cited at offsets that now hold other
            # text: it is left out, and the reader is told.
            stale = sorted({h.chunk.source for h in hits if not self.articles.unchanged(h.chunk.source)})
            notes = (stale_note(stale),) if stale else ()
            hits = [h for h in hits if h.chunk.source not in stale]
        if not hits:
            yield Answer(
                asked, refusal(window), False, timings=timings, notes=notes, searched_for=searched_for, window=window
            )
            return
        with timed(timings, "focus"):
            # The model reads a few sentences of the passages; verification and recovery may cite from
            # the whole of their articles, so a short prompt does not narrow what can be found.
            shown = focus(
                question, query, hits, self.index.sentences.of, self.config.prompt_sentences, self.config.rrf_k
            )
            pool = evidence_pool(hits, self.index, shown, articles, self.config.grounding)
            fresh = {source for source in {e.source for e in pool} if self.articles.unchanged(source)}
            pool = [e for e in pool if e.source in fresh]
            passages = prompt_sentences(pool)
            prompt = build_messages(question, [e.text for e in passages])

        clock = time.perf_counter()
        draft = ""
        visible = False
        for piece in self.generator.stream(prompt, self.config.max_answer_tokens):
            if not draft:
                timings["first_token"] = time.perf_counter() - clock
            draft += piece
            if visible:
                yield Draft(piece)
                continue
            # Hold back a draft that may yet be the refusal token, so the token itself is never shown.
            start = draft.strip().upper()
            if not (REFUSAL_TOKEN.startswith(start) or start.startswith(REFUSAL_TOKEN)):
                visible = True
                yield Draft(draft)
        timings["generate"] = time.perf_counter() - clock

        clock = time.perf_counter()
        checked = verdicts = self._verify(draft, question, pool, passages)
        retry = ""
        if not any(v.status == Status.SUPPORTED for v in verdicts):

            def write(messages: list[dict[str, str]]) -> str:
                with timed(timings, "retry"):  # the second generation, apart from verification's own time
                    return "".join(self.generator.stream(messages, self.config.max_answer_tokens))

            verdicts, retry = recover(question, verdicts, pool, self.config.grounding, write, self._verify)
        final = quote_headless(verdicts, pool, question, self.config.grounding)
        text, citations = compose(final)
        citations = name_articles(citations, self.index.documents)
        timings["verify"] = time.perf_counter() - clock - timings.get("retry", 0.0)
        if not citations:
            notes = (*notes, closest_note(hits[0], self.index.documents[hits[0].chunk.source]))
        yield Answer(
            question=asked,
            text=text or refusal(window),
            answered=bool(citations),
            citations=citations,
            passages=tuple(hits),
            draft=draft,
            timings=timings,
            notes=notes,
            trace=Trace(
                tuple(candidates), tuple(e.text for e in passages), tuple(checked), retry, tuple(final), tuple(prompt)
            ),
            searched_for=searched_for,
            window=window,
        )

    def _window(self, question: str, day: date) -> tuple[Window, float]:
        """The days the question's time words point at and the weight of the preference for them;
        with no time words, the recent days (`TimeWords.recency_weight`, 0 for none)."""
        settings = self.config.time
        window = time_window(question, day, settings)
        if window.words:
            return window, settings.window_weight
        recent = Window(recent_start(day, settings), day, "")
        return (recent, settings.recency_weight) if settings.recency_weight > 0 else (window, 0.0)

    def _verify(self, draft: str, question: str, pool: list[Evidence], shown: list[Evidence]) -> list[Verdict]:
        return verify_draft(draft, question, pool, shown, self.config.grounding, self._similarity)

    def _similarity(self, query: str, sentences: list[Evidence]) -> list[float]:
        """How close each sentence is in meaning to `query`, by the sentence vectors made at ingest: only the query
        is embedded (embedding the sentences again took 113 ms of verification at the median on realnews, 34 ms
        now, and up to seconds on long pages)."""
        vectors = np.stack([self._sentence_vector(e) for e in sentences])
        return [float(x) for x in vectors @ self.embedder.embed([query])[0]]

    def _sentence_vector(self, e: Evidence) -> np.ndarray:
        """The vector made at ingest for the sentence, from the chunk the evidence pool took it from; a sentence
        that came from no chunk is embedded now."""
        if e.chunk is not None:
            chunk = self.index.chunks[e.chunk]
            for span, vector in zip(chunk.sentences, self.index.sentences.of(chunk), strict=True):
                if span.start == e.start:
                    return vector
        return self.embedder.embed([e.text])[0]


def refusal(window: Window) -> str:
    """The refusal; when the question's time words set a window, it says that those days' articles were searched
    (first, and then the others), so the reader knows the question was read for its time."""
    if not window.words:
        return REFUSAL
    return f"The articles don't say: neither those {window.days()} (“{window.words}”) nor any other."


def closest_note(hit: Hit, record: DocumentRecord) -> str:
    """What a refusal adds: the article that came closest, so the reader sees what the articles do cover."""
    named = "".join(f"{part}, " for part in (record.outlet, f"“{record.title}”" if record.title else None) if part)
    return f"Closest article, which does not answer it: {named}{hit.chunk.source}, {hit.chunk.date or 'undated'}."


def stale_note(sources: list[str]) -> str:
    named = ", ".join(sources[:3]) + (f" and {len(sources) - 3} more" if len(sources) > 3 else "")
    return f"Left out {len(sources)} article(s) changed on disk since they were indexed ({named}); run: rag index"


@lru_cache(maxsize=4)
def default_assistant(config: Config) -> Assistant:
    """One assistant per configuration per process: models are loaded once, not per question."""
    return Assistant(config)


def answer(
    question: str, config: Config | None = None, filters: Filters | None = None, *, asked_on: AskedOn = None
) -> Answer:
    """Answer a question from the articles, with citations; `answered` is False when they don't say.
    `asked_on` (default today): nothing published after it is used, and "this week" counts from it."""
    return default_assistant(config or Config.from_env()).ask(question, filters, asked_on=asked_on)


def stream_answer(
    question: str, config: Config | None = None, filters: Filters | None = None, *, asked_on: AskedOn = None
) -> Iterator[Event]:
    """Yield the draft as it is generated (`Draft` pieces), then the final verified `Answer`."""
    return default_assistant(config or Config.from_env()).stream(question, filters, asked_on=asked_on)
