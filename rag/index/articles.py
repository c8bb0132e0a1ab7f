"""The indexed articles as files on disk: their text read the one way the loader reads it, and a
check that a file is still what was indexed before any of its offsets are shown.

Offsets in the index point into each file as it was when it was indexed. A file edited or
deleted under a running server would make them point at other text, so every article is checked
against the hash the index recorded before it is cited or shown. The check costs one `stat` a
question per article; a file is read and hashed again only when its size or mtime moved.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from ..errors import ArticleError, StaleArticleError
from .load import load_article
from .store import DocumentRecord


class ArticleFiles:
    def __init__(self, folder: Path, documents: Mapping[str, DocumentRecord], max_bytes: int) -> None:
        self.folder = folder
        self.documents = documents
        self.max_bytes = max_bytes
        self._checked: dict[str, tuple[int, int, bool]] = {}  # source -> (mtime_ns, size, unchanged)
        self._lock = threading.Lock()

    def unchanged(self, source: str) -> bool:
        """The file still holds the bytes that were indexed."""
        record = self.documents.get(source)
        path = self.folder / source
        try:
            stat = path.stat()
        except OSError:
            return False
        seen = self._checked.get(source)
        if seen and seen[:2] == (stat.st_mtime_ns, stat.st_size):
            return seen[2]
        try:
            same = record is not None and load_article(path, self.folder, self.max_bytes).sha256 == record.sha256
        except ArticleError:
            same = False
        with self._lock:
            self._checked[source] = (stat.st_mtime_ns, stat.st_size, same)
        return same

    def text(self, source: str) -> str:
        """The article's text, which citations' offsets index; refuses a file changed since indexing."""
        if source not in self.documents:
            raise StaleArticleError(f"{source} is not in the index")
        try:
            article = load_article(self.folder / source, self.folder, self.max_bytes)
        except ArticleError as exc:
            raise StaleArticleError(f"{source} cannot be read any more ({exc}); run: rag index") from exc
        if article.sha256 != self.documents[source].sha256:
            raise StaleArticleError(f"{source} changed since it was indexed; run: rag index")
        return article.text
