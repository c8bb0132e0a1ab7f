"""The typed values that pass between the stages: Article -> Chunk -> Hit -> Evidence -> Citation/Answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .grounding.verify import Verdict
    from .search.when import Window


@dataclass(frozen=True)
class Article:
    """One article. For a `.txt` or `.md` file, `text` is the whole file as `rag.index.load.read_text(path)`
    returns it, which for a UTF-8 file is what `open(path).read()` returns, so offsets into it are offsets into the
    file; `body_start` skips a byte-order mark and the optional ` date YYYY-MM-DD ` header. For every other format
    (rag/index/formats.py) `text` is what was extracted from the file, which the index stores."""

    source: str  # file name relative to the corpus folder; `file#N` for the Nth record of an export or feed
    text: str
    body_start: int
    date: str | None  # the day it was published, YYYY-MM-DD
    sha256: str
    title: str | None = None  # the source's title, or a .txt file's first line when it reads as a headline
    outlet: str | None = None
    author: str | None = None
    url: str | None = None
    pages: tuple[int, ...] = ()  # where each page after the first starts in `text` (PDF)

    @property
    def published(self) -> str | None:
        return self.date


@dataclass(frozen=True)
class Span:
    start: int
    end: int


SentenceKey = tuple[str, int]  # (source, start offset): one sentence of one article


@dataclass(frozen=True)
class Chunk:
    """A window of whole sentences; offsets index the article file."""

    id: int
    source: str
    date: str | None
    start: int
    end: int
    text: str
    sentences: tuple[Span, ...]

    def sentence_texts(self) -> list[tuple[Span, str]]:
        return [(s, self.text[s.start - self.start : s.end - self.start]) for s in self.sentences]


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with the evidence of how it was found."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    keyword_rank: int | None = None
    sentence_rank: int | None = None  # of its best sentence, among the candidates' best sentences
    sentence: Span | None = None  # its sentence that best matches the question (hybrid search)


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
    chunk: int | None = None  # the first chunk that holds it, whose sentence vectors hold its vector


@dataclass(frozen=True)
class Citation:
    """An exact span of an article: `Assistant.article_text(source)[start:end] == text`, which for a `.txt` file
    is `open(corpus/source).read()[start:end]` (UTF-8)."""

    n: int
    source: str
    date: str | None
    start: int
    end: int
    text: str
    title: str | None = None  # the article's headline, when it has one
    outlet: str | None = None
    author: str | None = None
    url: str | None = None
    page: int | None = None  # the PDF page the sentence starts on

    @property
    def published(self) -> str | None:
        return self.date

    def heading(self) -> str:
        """The article as a reader names it: outlet · “headline” · date — file, p. N."""
        named = " · ".join(filter(None, (self.outlet, f"“{self.title}”" if self.title else None)))
        where = self.source + (f", p. {self.page}" if self.page else "")
        return f"{named} · {self.date or 'undated'} — {where}" if named else f"{where} ({self.date or 'undated'})"


@dataclass(frozen=True)
class Searching:
    """A follow-up was rewritten into this standalone question, which is what is searched for."""

    question: str


@dataclass(frozen=True)
class Draft:
    """A piece of the model's draft as it is written: not checked yet, so never to be shown as an answer."""

    text: str


@dataclass(frozen=True)
class Trace:
    """How an answer was reached, stage by stage: what `rag eval --explain` reads."""

    candidates: tuple[Hit, ...] = ()  # every chunk retrieval fused, best first, before the passages were chosen
    shown: tuple[str, ...] = ()  # the sentences the model read, in prompt order
    checked: tuple[Verdict, ...] = ()  # the draft's claims as the rules judged them
    retry: str = ""  # the second draft, when the first verified nothing
    final: tuple[Verdict, ...] = ()  # what the answer was composed from
    messages: tuple[dict[str, str], ...] = ()  # the chat messages the first draft was written from


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    answered: bool
    citations: tuple[Citation, ...] = ()
    passages: tuple[Hit, ...] = ()
    draft: str = ""  # what the model wrote before verification, for debugging and evaluation
    notes: tuple[str, ...] = ()  # what the reader should know about how it was answered (articles left out)
    trace: Trace = field(default_factory=Trace)
    searched_for: str = ""  # the standalone question a follow-up was rewritten into, if it was
    timings: dict[str, float] = field(default_factory=dict)
    # The days the question's time words pointed at, relative to the day it was asked (`window.words` is ""
    # when it had none; `window.end` is then the asking day, after which nothing is used).
    window: Window | None = None
