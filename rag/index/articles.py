"""The indexed articles as they stand on disk: their text the one way the index read it, and a check that a
file is still what was indexed before any of its offsets are shown.

Offsets in the index point into each article as it was when it was indexed: into the file for a `.txt`, into
the text the index stored for a format it extracted. A file edited or deleted under a running server would make
them point at other text, so every article is checked against the hash the index recorded before it is cited
or shown. The check costs one `stat` a question per file; a file is read again only when its size or mtime
moved.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from ..config import Config
from ..errors import ArticleError, StaleArticleError
from .formats import file_of, stored
from .load import corpus_root, load_file
from .store import DocumentRecord


class ArticleFiles:
    def __init__(
        self, corpus: Path, documents: Mapping[str, DocumentRecord], texts: Mapping[str, str], config: Config
    ) -> None:
        self.root = corpus_root(corpus)
        self.documents = documents
        self.texts = texts
        self.config = config
        # file -> (mtime_ns, size, the sha256 of each article it holds now)
        self._seen: dict[str, tuple[int, int, dict[str, str]]] = {}
        self._lock = threading.Lock()

    def unchanged(self, source: str) -> bool:
        """The article's file still holds what was indexed for it."""
        record = self.documents.get(source)
        return record is not None and self._hashes(file_of(source)).get(source) == record.sha256

    def _hashes(self, name: str) -> dict[str, str]:
        path = self.root / name
        try:
            stat = path.stat()
        except OSError:
            return {}
        seen = self._seen.get(name)
        if seen and seen[:2] == (stat.st_mtime_ns, stat.st_size):
            return seen[2]
        try:
            hashes = {a.source: a.sha256 for a in load_file(path, self.root, self.config)[0]}
        except ArticleError:
            hashes = {}
        with self._lock:
            self._seen[name] = (stat.st_mtime_ns, stat.st_size, hashes)
        return hashes

    def text(self, source: str) -> str:
        """The article's text, which citations' offsets index; refuses an article changed since indexing."""
        if source not in self.documents:
            raise StaleArticleError(f"{source} is not in the index")
        if stored(source):
            if not self.unchanged(source):
                raise StaleArticleError(f"{source} changed or cannot be read since it was indexed; run: rag index")
            return self.texts[source]
        try:
            (article,), _ = load_file(self.root / source, self.root, self.config)
        except ArticleError as exc:
            raise StaleArticleError(f"{source} cannot be read any more ({exc}); run: rag index") from exc
        if article.sha256 != self.documents[source].sha256:
            raise StaleArticleError(f"{source} changed since it was indexed; run: rag index")
        return article.text
