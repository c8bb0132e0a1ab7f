"""Articles out of the files people keep news in: plain text, saved web pages, CMS or scraper exports
(JSONL, JSON, CSV), PDFs and RSS/Atom feeds.

A `.txt` or `.md` file is its own text, so its offsets are offsets into the file. Every other format is
extracted by a maintained library (trafilatura for HTML, pypdf for PDF, feedparser for feeds, the standard
library for exports) into an article text that the index stores; offsets index that stored text. An export
or a feed holds many articles: each is named `file#N`, N being its line in a JSONL or CSV file or its
position in a JSON list or a feed, so appending records to an export re-embeds only the new ones.

A record, page or entry that cannot be read becomes an `ArticleError` that says which and why; the rest of
the file still loads.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from ..config import Fields
from ..errors import ArticleError
from ..types import Article
from .plain import decode, headline, parse_article

PLAIN = (".txt", ".md")
HTML = (".html", ".htm")
EXPORTS = (".jsonl", ".json", ".csv")
PDF = (".pdf",)
FEEDS = (".rss", ".atom", ".xml")
SUFFIXES = PLAIN + HTML + EXPORTS + PDF + FEEDS
# Formats that hold many articles: each is named `file#N`.
MANY = EXPORTS + FEEDS
# A day written as a number is seconds since 1970, or milliseconds past this many seconds (year 2286).
_MILLISECONDS = 10**10


def suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def file_of(source: str) -> str:
    """The file an article was read from: `export.jsonl#12` -> `export.jsonl`; a file name is its own."""
    name, mark, _ = source.rpartition("#")
    return name if mark and suffix(name) in MANY else source


def stored(source: str) -> bool:
    """The article's text was extracted from its file, so the index keeps it (offsets index it, not the file)."""
    return suffix(file_of(source)) not in PLAIN


def read_articles(name: str, data: bytes, fields: Fields, max_article_bytes: int) -> tuple[list[Article], list[str]]:
    """The articles in file `name` holding `data`, and why any part of it was skipped. Raises ArticleError
    when nothing of the file can be read (not a feed, a PDF with no text layer, a CSV without a text column)."""
    kind = suffix(name)
    if kind in PLAIN:
        return [parse_article(name, data)], []
    if kind in HTML:
        return [_html(name, data, max_article_bytes)], []
    if kind in PDF:
        return [_pdf(name, data, max_article_bytes)], []
    records = _feed(name, data) if kind in FEEDS else _export(name, kind, data, fields)
    articles, skipped = [], []
    for key, record in records:
        source = f"{name}#{key}"
        if isinstance(record, str):
            skipped.append(f"{source}: {record}")
            continue
        try:
            articles.append(_article(source, record, max_article_bytes))
        except ArticleError as exc:
            skipped.append(str(exc))
    if not articles and skipped:
        raise ArticleError(f"{name}: no article could be read; the first: {skipped[0]}")
    if not articles:
        raise ArticleError(f"{name}: holds no articles")
    return articles, skipped


@dataclass(frozen=True)
class Record:
    """One article as a source describes it, before it is made an `Article`."""

    text: str
    title: str | None = None
    date: str | None = None
    outlet: str | None = None
    author: str | None = None
    url: str | None = None
    pages: tuple[int, ...] = ()  # where each page after the first starts in `text` (PDF)


def _article(source: str, record: Record, max_article_bytes: int) -> Article:
    raw = record.text.replace("\r\n", "\n").replace("\r", "\n")
    body = raw.strip()
    if not body:
        raise ArticleError(f"{source}: has no text")
    if len(body.encode()) > max_article_bytes:
        raise ArticleError(
            f"{source}: {len(body.encode()):,} bytes of text is over the limit of {max_article_bytes:,} bytes for "
            "an article; raise it with RAG_MAX_ARTICLE_BYTES (Config.max_article_bytes)"
        )
    title = " ".join(record.title.split()) if record.title else None
    text = with_title(title, body)
    # Page starts index the record's text: move them past a headline put before it and blank space cut from it.
    shift = len(text) - len(body) - (len(raw) - len(raw.lstrip()))
    fingerprint = json.dumps([text, title, record.date, record.outlet, record.author, record.url], ensure_ascii=False)
    return Article(
        source=source,
        text=text,
        body_start=0,
        date=record.date,
        sha256=hashlib.sha256(fingerprint.encode()).hexdigest(),
        title=title or headline(text),
        outlet=record.outlet,
        author=record.author,
        url=record.url,
        pages=tuple(max(0, p + shift) for p in record.pages),
    )


def with_title(title: str | None, body: str) -> str:
    """The article as a reader sees it: its headline over a blank line, then the text (which already opens with
    the headline on many pages, and then is left as it is). The same shape as a `.txt` article's, so the headline
    is one sentence of its own, and an export of a folder chunks as the folder does."""
    if not title or body.startswith(title):
        return body
    return f"{title}\n\n{body}"


# --- dates ------------------------------------------------------------------------------------------------------


def day(value: Any) -> str | None:
    """A publication date as YYYY-MM-DD, from an ISO string, a feed's or e-mail's date ("Tue, 10 Jan 2023 08:00:00
    GMT"), a number of seconds or milliseconds since 1970, or None when it is not a date. The day as the source
    wrote it: a time zone is not converted, as the outlet dated the article in its own."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > _MILLISECONDS else value
        try:
            return dt.datetime.fromtimestamp(seconds, dt.UTC).date().isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    import dateparser

    parsed = dateparser.parse(text, languages=["en"], settings={"PREFER_DAY_OF_MONTH": "first"})
    return parsed.date().isoformat() if parsed else None


# --- exports ----------------------------------------------------------------------------------------------------


def _export(name: str, kind: str, data: bytes, fields: Fields) -> Iterator[tuple[int, Record | str]]:
    text = decode(data, name)
    if kind == ".jsonl":
        rows = _jsonl(text)
    elif kind == ".csv":
        rows = _csv(name, text, fields)
    else:
        rows = _json(name, text)
    for key, row in rows:
        yield key, row if isinstance(row, str) else _record(row, fields)


def _jsonl(text: str) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            yield number, f"line {number} is not JSON ({exc})"
            continue
        yield number, row if isinstance(row, dict) else f"line {number} is not a JSON object"


def _json(name: str, text: str) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ArticleError(f"{name}: is not JSON ({exc})") from exc
    # An export is a list of records, a news API's answer a record that holds one ({"articles": [...]}), or the
    # file is one record.
    if isinstance(value, dict):
        listed = next((v for v in value.values() if isinstance(v, list) and v and isinstance(v[0], dict)), None)
        value = listed if listed is not None else [value]
    if not isinstance(value, list):
        raise ArticleError(f"{name}: holds neither a record nor a list of records")
    for number, row in enumerate(value, 1):
        yield number, row if isinstance(row, dict) else f"item {number} is not a JSON object"


def _csv(name: str, text: str, fields: Fields) -> Iterator[tuple[int, Mapping[str, Any] | str]]:
    # A news article in one cell is longer than the csv module's default limit of 128 kB.
    csv.field_size_limit(2**31 - 1)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise ArticleError(f"{name}: is not CSV ({exc})") from exc
    if not {h.lower() for h in header} & {name.lower() for name in fields.text}:
        raise ArticleError(
            f"{name}: has no text column (looked for {', '.join(fields.text)}; its columns: {', '.join(header)}); "
            "name it with rag index --field text=COLUMN"
        )
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        yield reader.line_num, f"line {reader.line_num} is not CSV ({exc})"


def _record(row: Mapping[str, Any], fields: Fields) -> Record | str:
    text = _value(_pick(row, fields.text))
    if not text:
        return f"has no text (looked for a field named {', '.join(fields.text)})"
    return Record(
        text=text,
        title=_value(_pick(row, fields.title)),
        date=day(_pick(row, fields.date)),
        outlet=_value(_pick(row, fields.outlet)),
        author=_value(_pick(row, fields.author)),
        url=_value(_pick(row, fields.url)),
    )


def _pick(row: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    """The value of the first of `names` that the record has and fills, matched without regard to case."""
    lowered = {str(k).lower(): v for k, v in row.items()}
    for name in names:
        value = lowered.get(name.lower())
        if value not in (None, "", [], {}):
            return value
    return None


def _value(value: Any) -> str | None:
    """A field as text: a name from an object ({"name": "Reuters"}), names from a list (authors) joined."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("name") or value.get("title") or value.get("id")
    if isinstance(value, list):
        value = ", ".join(filter(None, (_value(v) for v in value)))
    text = str(value).strip() if value is not None else ""
    return text or None


# --- web pages --------------------------------------------------------------------------------------------------


def _html(name: str, data: bytes, max_article_bytes: int) -> Article:
    import trafilatura

    # trafilatura logs every page it cannot read; the skip carries the reason instead.
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    page = decode(data, name)
    try:
        document = trafilatura.bare_extraction(page, with_metadata=True, include_comments=False, include_tables=True)
    except Exception as exc:  # noqa: BLE001 - whatever the extractor chokes on, the page is skipped with it
        raise ArticleError(f"{name}: the page cannot be read ({type(exc).__name__}: {exc})") from exc
    if document is None or not (document.text or "").strip():
        raise ArticleError(f"{name}: no article text found in the page (menus and boilerplate only?)")
    record = Record(
        text=paragraphs(document.text),
        title=document.title,
        date=day(document.date),
        outlet=document.sitename or document.hostname,
        author=document.author,
        url=document.url,
    )
    return _article(name, record, max_article_bytes)


# --- PDF --------------------------------------------------------------------------------------------------------


def _pdf(name: str, data: bytes, max_article_bytes: int) -> Article:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ArticleError(f"{name}: the PDF is encrypted; save an unprotected copy to index it")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        info = reader.metadata or {}
    except ArticleError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ArticleError(f"{name}: the PDF cannot be read ({exc})") from exc
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on damaged files; skip the file with it
        raise ArticleError(f"{name}: the PDF cannot be read ({type(exc).__name__}: {exc})") from exc
    if not any(pages):
        raise ArticleError(f"{name}: the PDF has no text layer (a scan?); run OCR on it first, then index it")
    # Pages apart by a blank line, as paragraphs are; a blank page keeps its place, so page numbers stay true.
    text, starts = pages[0], []
    for page in pages[1:]:
        text += "\n\n"
        starts.append(len(text))
        text += page
    record = Record(
        text=text,
        title=_value(info.get("/Title")),
        date=_pdf_day(info.get("/CreationDate")),
        author=_value(info.get("/Author")),
        pages=tuple(starts),
    )
    return _article(name, record, max_article_bytes)


def _pdf_day(value: Any) -> str | None:
    """A PDF date ("D:20230816120000+02'00'") as YYYY-MM-DD."""
    text = str(value or "").removeprefix("D:")
    return day(f"{text[:4]}-{text[4:6]}-{text[6:8]}") if len(text) >= 8 and text[:8].isdigit() else None


# --- feeds ------------------------------------------------------------------------------------------------------


def _feed(name: str, data: bytes) -> Iterator[tuple[int, Record | str]]:
    import feedparser

    # A stream, never bytes or a string: feedparser takes those for a file name or an address to fetch.
    feed = feedparser.parse(io.BytesIO(data), resolve_relative_uris=False, sanitize_html=True)
    if not feed.entries:
        reason = f" ({feed.bozo_exception})" if feed.get("bozo") and feed.get("bozo_exception") else ""
        raise ArticleError(f"{name}: not an RSS or Atom feed, or a feed with no entries{reason}")
    outlet = _value(feed.feed.get("title"))
    for number, entry in enumerate(feed.entries, 1):
        content = entry.get("content") or []
        markup = max((c.get("value", "") for c in content), key=len, default="") or entry.get("summary", "")
        text = _markup_text(markup)
        if not text:
            yield number, "the entry has no summary or content"
            continue
        published = entry.get("published_parsed") or entry.get("updated_parsed")
        yield (
            number,
            Record(
                text=text,
                title=_value(entry.get("title")),
                date=dt.date(*published[:3]).isoformat() if published else None,
                outlet=outlet,
                author=_value(entry.get("author")),
                url=_value(entry.get("link")),
            ),
        )


def _markup_text(markup: str) -> str:
    """The text of a feed entry's HTML, a paragraph a line."""
    if "<" not in markup:
        return markup.strip()
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (ValueError, lxml.etree.ParserError):
        return ""
    for block in root.iter("p", "br", "div", "li", "h1", "h2", "h3", "h4", "blockquote"):
        block.tail = "\n" + (block.tail or "")
    return paragraphs(root.text_content())


def paragraphs(text: str) -> str:
    """Text with a line a paragraph (as extractors give it) set out with blank lines between paragraphs, as a
    `.txt` article is: a headline or a line without a full stop is then a sentence of its own, not the start of
    the next paragraph's first one."""
    return "\n\n".join(" ".join(line.split()) for line in text.split("\n") if line.strip())
