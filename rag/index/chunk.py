"""Split articles into chunks of whole sentences that keep their offsets into the file."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ..text import sentence_spans
from ..types import Article, Chunk, Span
from .safety import hidden_spans, looks_like_instruction


def chunk_article(article: Article, max_chars: int, overlap: int, first_id: int = 0) -> list[Chunk]:
    """Greedy windows of sentences up to `max_chars` (a longer sentence stands alone), each
    window starting `overlap` sentences before the previous one ended. A sentence that is not
    article text (rag/index/safety.py: hidden markup, or words addressed to the machine reading it) ends
    a window and is left out of every chunk, so it is never embedded, searched, shown or cited."""
    chunks: list[Chunk] = []
    for run in indexable_runs(article):
        chunks += _windows(article, run, max_chars, overlap, first_id + len(chunks))
    return chunks


def indexable_runs(article: Article) -> list[list[Span]]:
    """The article's sentences in runs of consecutive ones that may be indexed."""
    hidden = hidden_spans(article.text)
    runs: list[list[Span]] = [[]]
    for span in sentence_spans(article.text, article.body_start):
        visible = _outside(article.text, span, hidden)
        if visible is None or looks_like_instruction(article.text[visible.start : visible.end]):
            runs.append([])
            continue
        # A chunk's text runs from its first sentence to its last: hidden markup between two
        # sentences must not end up inside one.
        previous = runs[-1][-1].end if runs[-1] else visible.start
        if any(previous < h.end and h.start < visible.start for h in hidden):
            runs.append([])
        runs[-1].append(visible)
    return [run for run in runs if run]


def _outside(text: str, span: Span, hidden: list[Span]) -> Span | None:
    """The sentence without the hidden markup at its start or end (the splitter may join a comment's
    close to the next sentence), or None when nothing visible is left or markup sits inside it."""
    start, end = span.start, span.end
    for h in hidden:
        if h.start < end and start < h.end:
            if h.start <= start:
                start = h.end
            elif h.end >= end:
                end = h.start
            else:
                return None
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if re.search(r"\w", text[start:end]) else None


def _windows(article: Article, sentences: list[Span], max_chars: int, overlap: int, first_id: int) -> list[Chunk]:
    chunks: list[Chunk] = []

    def window_end(i: int) -> int:
        j = i + 1
        while j < len(sentences) and sentences[j].end - sentences[i].start <= max_chars:
            j += 1
        return j

    i = 0
    while i < len(sentences):
        j = window_end(i)
        window = sentences[i:j]
        start, end = window[0].start, window[-1].end
        chunks.append(
            Chunk(
                id=first_id + len(chunks),
                source=article.source,
                date=article.date,
                start=start,
                end=end,
                text=article.text[start:end],
                sentences=tuple(window),
            )
        )
        if j >= len(sentences):
            break
        i = max(i + 1, j - overlap)
        if window_end(i) <= j:
            # A window that cannot reach past this one would only repeat sentences already chunked.
            i = j
    return chunks


def chunk_articles(articles: Iterable[Article], max_chars: int, overlap: int, first_id: int = 0) -> Iterator[Chunk]:
    next_id = first_id
    for article in articles:
        for chunk in chunk_article(article, max_chars, overlap, next_id):
            yield chunk
            next_id = chunk.id + 1


def sentence_at(chunk: Chunk, span: Span) -> str:
    return chunk.text[span.start - chunk.start : span.end - chunk.start]
