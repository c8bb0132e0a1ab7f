"""All settings in one place. Defaults work on a fresh checkout; a few `RAG_*` variables and the
CLI flags override them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path


def _home() -> Path:
    # An editable install runs from the checkout, which holds seeds/, index/ and models/.
    return Path(os.environ.get("RAG_HOME") or Path(__file__).resolve().parents[1])


@dataclass(frozen=True)
class Grounding:
    """The thresholds of the grounding stage, each beside the rule that reads it (rag/grounding/verify.py
    for the rules on claims, rag/assistant.py for the retry and the quotes)."""

    support: float = 0.75  # states_the_new_content: share of a claim's new content words a sentence holds
    recurring: int = 3  # sentences of an article that say a word before the article is about it
    recurring_name: int = 2  # ...and for a name: in the lede and again later is what an article is about
    outlet_margin: float = 0.1  # how much less close in meaning another outlet's sentence may be and be cited too
    max_citations: int = 3  # sentences cited for one claim, one per outlet
    strong_match: float = 0.75  # share of the question's words a sentence holds to retry a refusal on it
    quote_match: float = 0.5  # share of a claim's or question's words a sentence holds to be shown again or quoted
    # Rules switched off, by name (rag.grounding.verify.RULES): to measure what each one does (rag eval --without).
    disabled: tuple[str, ...] = ()


@dataclass(frozen=True)
class TimeWords:
    """How a question's time words and the day it was asked shape retrieval (rag/search/when.py).

    Nothing dated after the asking day is searched or cited. A window the time words set ("this week") is a
    preference, not a wall: its articles are searched on their own as well, and that search's ranking is one more
    vote in the fusion (`window_weight`). A wall would hide the answer whenever an article reports an event days
    after it, or a question's "last week" is the article's own."""

    # "recently", "lately", "latest", "most recent", "newest": the days ending on the asking day.
    recent_days: int = 30
    # "this week" is the rolling week ending on the asking day, "last week" the one before it.
    week_days: int = 7
    # Added on both sides of every window: an article is dated the day it was published, often a day after (or,
    # across time zones, before) the event.
    slack_days: int = 1
    # A year bounds only the start: what a year is asked about is reported after it ends.
    open_years: bool = True
    # The vote of the search inside the window the question's time words set, against the whole collection's
    # (dense, keyword and best-sentence lists, fused): 1.0 counts it as much as the whole collection's.
    window_weight: float = 1.0
    # A question with no time words prefers the `recent_days` before it was asked with this weight (0: no
    # preference).
    recency_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.recent_days < 1 or self.week_days < 1:
            raise ValueError("TimeWords: recent_days and week_days must be at least 1")
        if self.slack_days < 0:
            raise ValueError("TimeWords: slack_days cannot be negative")
        if self.window_weight < 0 or self.recency_weight < 0:
            raise ValueError("TimeWords: the weights cannot be negative")


@dataclass(frozen=True)
class Fields:
    """The names an export's records (JSONL, JSON, CSV) give each part of an article, tried in order and matched
    without regard to case (rag/index/formats.py). `rag index --field text=story` puts one name in place of a list."""

    text: tuple[str, ...] = ("text", "body", "content", "article", "maintext", "full_text", "story")
    title: tuple[str, ...] = ("title", "headline", "name")
    date: tuple[str, ...] = ("date", "published", "publishedAt", "published_at", "pubDate", "datetime", "timestamp")
    outlet: tuple[str, ...] = ("outlet", "source", "publisher", "site_name", "sitename", "site", "domain")
    author: tuple[str, ...] = ("author", "byline", "authors", "creator")
    url: tuple[str, ...] = ("url", "link", "canonical_url", "permalink")

    def overridden(self, pairs: list[str]) -> Fields:
        """These names with `part=NAME` pairs put in (`text=story`); a part rag does not know is a ConfigError."""
        from .errors import ConfigError

        chosen: dict[str, tuple[str, ...]] = {}
        for pair in pairs:
            part, _, name = pair.partition("=")
            if part.strip() not in {f.name for f in fields(self)} or not name.strip():
                known = ", ".join(f.name for f in fields(self))
                raise ConfigError(f"--field {pair!r}: give PART=NAME, PART one of {known}")
            chosen[part.strip()] = (name.strip(),)
        return replace(self, **chosen)


@dataclass(frozen=True)
class Config:
    # The article folder. None: the folder the index was built from (its manifest records it), or
    # seeds/ for a new index, so opening an index never re-syncs it with another folder.
    corpus_dir: Path | None = None
    index_dir: Path = field(default_factory=lambda: _home() / "index")
    models_dir: Path = field(default_factory=lambda: _home() / "models")

    # A catalogue name (see `rag models`), a file name in models_dir, or a path to any GGUF.
    model: str = "qwen2.5-1.5b"
    # "llama" runs the GGUF in this process; "openai" talks to an OpenAI-compatible server.
    backend: str = "llama"
    server_url: str = "http://127.0.0.1:8000/v1"
    server_timeout: float = 120.0  # seconds to wait for each piece of the answer stream
    server_model: str = ""  # the model id to ask the server for; "" asks the server what it serves
    server_retries: int = 3  # tries again before the first token only: a half-shown answer is not repeated
    server_backoff: float = 0.5  # seconds before the first retry, doubled for each next one
    threads: int = 2  # the machine has 2 cores; more threads than cores slows llama.cpp down
    context_tokens: int = 2048  # prompt ~700 tokens + answer: 2k leaves room and halves the KV cache of 4k
    max_answer_tokens: int = 160  # answers are a sentence or two
    temperature: float = 0.0  # deterministic answers are easier to verify and to test

    embedder: str = "all-MiniLM-L6-v2"  # see rag.index.embed.EMBEDDERS; changing it rebuilds the index
    # "auto" (bfloat16 on CPUs with bf16 instructions, else float32), "float32" or "bfloat16". The
    # vectors agree to 0.9999 cosine, so an index built at one precision serves the other.
    embed_precision: str = "auto"
    chunk_chars: int = 450  # two or three news sentences: small enough to cite, big enough to embed
    chunk_overlap: int = 1  # sentences shared by neighbouring chunks, so no fact is cut in two
    # Embed each chunk after its article's title (rag.index.embed.Embedder.embed_chunks); changing it rebuilds the
    # index. Off: on realnews it lost gold evidence (candidates 51 -> 49, sentences read 34 -> 30 of 71), as many
    # pages there are digests whose one title spans several stories.
    title_context: bool = False
    # Up to this many vectors the index is exact (flat); above it, IVF: 200k x 384 floats is ~300 MB,
    # and an exact search over it takes ~80 ms per question on 2 cores (IVF, nprobe 32: ~3 ms).
    exact_index_limit: int = 200_000
    ivf_nprobe: int = 32  # IVF lists searched per question: more is slower and closer to exact
    # An index whose files total at most this many bytes has their sha256 checked at every load:
    # ~1.5 GB/s here (benchmarks/bench_checksum.py), so at most ~0.3 s. Larger ones are checked by
    # size at load and in full by `rag index --check`.
    verify_on_load_bytes: int = 400_000_000
    # Passages retrieved per question. The model reads only the best `prompt_sentences` sentences
    # of them (rag/search/focus.py); verification may cite from the whole of their articles.
    top_k: int = 6
    # Pre-fill is most of the time to the first token: whole passages (4 of them, ~280 tokens) took
    # 1.7-1.9 s to the first token with the 1.5B model; five sentences (~220 tokens) take 1.34-1.42 s.
    prompt_sentences: int = 5
    candidates: int = 30  # per retriever, before fusion
    fusion: str = "rrf"  # "rrf" (reciprocal rank fusion) or "weighted" (convex sum of normalised scores)
    rrf_k: int = 60  # the constant from the reciprocal rank fusion paper
    dense_weight: float = 0.5  # for "weighted" fusion: the dense share of the score
    # Two articles whose mean chunk vectors are this close are linked as one story from two outlets,
    # so a fact is cited in both. Chosen on the one pair of seed outlets (0.89); not yet measured on realnews.
    duplicate_similarity: float = 0.85
    mmr_lambda: float = 0.75  # 1.0 is pure relevance; lower trades relevance for variety

    grounding: Grounding = field(default_factory=Grounding)
    time: TimeWords = field(default_factory=TimeWords)
    max_question_chars: int = 2000
    # A long news article is ~50 kB, and the biggest of a real 607-article collection 101 kB; a file 50 times
    # that is not one article, and chunking it (a 50 MB file made 286k chunks) would swamp the index.
    max_article_bytes: int = 5_000_000
    # An export, feed or PDF holds many articles (each held to max_article_bytes): a 607-article JSONL export is
    # 7 MB. Past this, a file is skipped unread.
    max_file_bytes: int = 1_000_000_000
    fields: Fields = field(default_factory=Fields)
    # Indexing saves the index after every this many new chunks (a few minutes of embedding on 2 cores), so a
    # stopped run keeps what it finished; each save rewrites the index, so not much more often.
    checkpoint_chunks: int = 20_000
    # Indexing's progress when the output is not a terminal: a log line at most this often.
    progress_seconds: float = 30.0
    # An upload on the page: a long news article is ~50 kB; anything near this is not one. Gradio
    # refuses a larger file while it streams in, not after it is stored.
    max_upload_bytes: int = 2_000_000
    # The page shows a cited sentence inside its paragraph, with at most this much article text on each side.
    context_chars: int = 500
    # Rewriting a follow-up into a standalone question (rag/search/conversation.py): the tokens the
    # model may write, and the longest line taken as a question (longer is the model rambling).
    rewrite_max_tokens: int = 60
    rewrite_max_chars: int = 300

    @classmethod
    def from_env(cls, **overrides: object) -> Config:
        env: dict[str, object] = {}
        for name, key, cast in (
            ("corpus_dir", "RAG_CORPUS_DIR", Path),
            ("index_dir", "RAG_INDEX_DIR", Path),
            ("models_dir", "RAG_MODELS_DIR", Path),
            ("model", "RAG_MODEL", str),
            ("backend", "RAG_BACKEND", str),
            ("server_url", "RAG_SERVER_URL", str),
            ("server_model", "RAG_SERVER_MODEL", str),
            ("threads", "RAG_THREADS", int),
            ("top_k", "RAG_TOP_K", int),
            ("prompt_sentences", "RAG_PROMPT_SENTENCES", int),
            ("embedder", "RAG_EMBEDDER", str),
            ("embed_precision", "RAG_EMBED_PRECISION", str),
            ("max_article_bytes", "RAG_MAX_ARTICLE_BYTES", int),
            ("max_file_bytes", "RAG_MAX_FILE_BYTES", int),
        ):
            if os.environ.get(key):
                env[name] = cast(os.environ[key])
        env.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **env)

    @property
    def default_corpus(self) -> Path:
        """The folder a new index is built from when none is named."""
        return _home() / "seeds"

    def describe(self) -> dict[str, object]:
        return {f.name: str(getattr(self, f.name)) for f in fields(self)}
