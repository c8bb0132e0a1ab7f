"""Split articles into chunks of whole sentences that keep their offsets into the file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .text import sentence_spans
from .types import Article, Chunk, Span


def chunk_article(article: Article, max_chars: int, overlap: int, first_id: int = 0) -> list[Chunk]:
    """Greedy windows of sentences up to `max_chars` (a longer sentence stands alone), each
    window starting `overlap` sentences before the previous one ended."""
    sentences = sentence_spans(article.text, article.body_start)
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
