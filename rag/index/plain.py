"""Plain-text articles (.txt, .md): decoded the way `open()` reads them, so offsets into the text are offsets
into the file, with the optional ` date YYYY-MM-DD ` header and a headline on the first line."""

from __future__ import annotations

import codecs
import hashlib
import re
from pathlib import Path

from ..errors import ArticleError
from ..types import Article

# The seed files open with " date 2023-11-11 " and the text follows on the same line. Matched from a position
# (the start, or just after a UTF-8 byte-order mark), so no \A: it would not match after the mark.
_DATE_HEADER = re.compile(r"\s*date\s+(\d{4}-\d{2}-\d{2})\s+")
# A headline is one line over a blank line, and short: a lede paragraph set apart the same way runs to hundreds of
# characters (news headlines run to about 60-110).
TITLE_MAX_CHARS = 150
# open() keeps a UTF-8 byte-order mark as this character; the body starts after it.
_UTF8_MARK = "\ufeff"
# A file that opens with one of these marks is in that encoding. The UTF-32-LE mark begins with the UTF-16-LE
# one, so UTF-32 is tried first; both codecs read the mark to choose the byte order, and drop it.
_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Otherwise tried in order; utf-8 keeps a byte-order mark, as open() does, so offsets stay offsets into what
# it returns; latin-1 decodes any byte string, so a file that is not UTF-8 still loads.
_ENCODINGS = ("utf-8", "cp1252", "latin-1")


def decode(data: bytes, name: str) -> str:
    """`data` as text: in the encoding its byte-order mark names, else in the first of `_ENCODINGS` that fits."""
    marked = next((encoding for mark, encoding in _MARKS if data.startswith(mark)), None)
    if marked:
        try:
            text = data.decode(marked)
        except UnicodeDecodeError as exc:
            label = marked.upper()
            raise ArticleError(f"{name}: starts with a {label} byte-order mark but is not valid {label}") from exc
    else:
        for encoding in _ENCODINGS:
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    # Checked in the text, not the bytes: UTF-16 and UTF-32 are full of NUL bytes, but no article holds a NUL.
    if "\x00" in text:
        raise ArticleError(f"{name}: looks like a binary file, not a text article")
    # The same newline translation as open(path).read(), so offsets match what a reader sees.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: Path) -> str:
    """The article at `path` exactly as the loader decodes it, so an article's offsets index this text: for a
    UTF-8 file it is what `open(path).read()` returns, and it reads the files that open() cannot (cp1252, UTF-16)."""
    return decode(read_bytes(path), str(path))


def parse_article(source: str, data: bytes) -> Article:
    text = decode(data, source)
    after_mark = len(_UTF8_MARK) if text.startswith(_UTF8_MARK) else 0
    if not text[after_mark:].strip():
        raise ArticleError(f"{source}: the file is empty")
    match = _DATE_HEADER.match(text, after_mark)
    body_start = match.end() if match else after_mark
    return Article(
        source=source,
        text=text,
        body_start=body_start,
        date=match.group(1) if match else None,
        sha256=hashlib.sha256(data).hexdigest(),
        title=headline(text[body_start:]),
    )


def headline(body: str) -> str | None:
    """The article's title: its first line, when a blank line and more text follow it and it is at most
    `TITLE_MAX_CHARS` long. A first paragraph set apart by a blank line is a lede, not a title, and is rejected by
    its length; a first line that runs on into the next line is the text itself."""
    first, _, rest = body.partition("\n")
    blank, _, after = rest.partition("\n")
    first = " ".join(first.split())
    if not first or blank.strip() or not after.strip():
        return None
    return first if len(first) <= TITLE_MAX_CHARS else None


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"{path}: cannot be read ({exc.strerror})") from exc
