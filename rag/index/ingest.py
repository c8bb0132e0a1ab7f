"""Bring an index up to date with a folder of articles: add new ones, re-embed changed ones,
drop deleted ones, and rebuild from scratch only when the settings changed."""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import ArticleError, CorpusMismatchError, IndexNotFoundError, RagError
from ..progress import Progress, progress_bar
from ..text import SPLITTER
from ..types import Article, Chunk
from .chunk import chunk_article
from .embed import EMBEDDERS, Embedder
from .formats import SUFFIXES, read_articles, stored, suffix
from .load import load_articles
from .safety import RULES as SAFETY_RULES
from .store import DocumentRecord, IndexSettings, StoredIndex, Vectors, centroid, recorded_corpus


@dataclass(frozen=True)
class IndexReport:
    added: tuple[str, ...]
    updated: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int
    chunks: int
    rebuilt: bool
    errors: tuple[str, ...]
    message: str = ""
    embedded: int = 0  # chunks embedded by this run
    seconds: float = 0.0  # the time that took

    @property
    def rate(self) -> str:
        per_second = self.embedded / max(self.seconds, 1e-9)
        return f"{self.embedded:,} chunks embedded in {self.seconds:,.1f} s ({per_second:,.0f} chunks/s)"

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt)


def settings_for(config: Config) -> IndexSettings:
    return IndexSettings(
        embedder=config.embedder,
        dimension=EMBEDDERS[config.embedder].dimension if config.embedder in EMBEDDERS else 0,
        chunk_chars=config.chunk_chars,
        chunk_overlap=config.chunk_overlap,
        splitter=SPLITTER,
        safety=SAFETY_RULES,
        context="title" if config.title_context else "",
    )


def build_index(
    config: Config | None = None,
    folder: Path | None = None,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    progress: Progress = False,
    log: Callable[[str], None] = lambda _: None,
) -> IndexReport:
    """Index `folder` (default: the configured corpus) into `config.index_dir`, incrementally."""
    return update_index(config or Config.from_env(), folder, rebuild, embedder, progress, log)[1]


def update_index(
    config: Config,
    folder: Path | None = None,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    progress: Progress = False,
    log: Callable[[str], None] = lambda _: None,
) -> tuple[StoredIndex, IndexReport]:
    """Like build_index, and also hand back the index as it now stands."""
    from filelock import FileLock

    config.index_dir.mkdir(parents=True, exist_ok=True)
    # Two runs writing one index folder would prune each other's half-written generation: the
    # second waits for the first, then finds the index up to date.
    with FileLock(config.index_dir / ".lock"):
        return _update_index(config, folder, rebuild, embedder, progress, log)


def _update_index(
    config: Config,
    folder: Path | None,
    rebuild: bool,
    embedder: Embedder | None,
    progress: Progress,
    log: Callable[[str], None],
) -> tuple[StoredIndex, IndexReport]:
    settings = settings_for(config)
    message = ""
    try:
        index = None if rebuild else StoredIndex.load(config.index_dir, verify_bytes=config.verify_on_load_bytes)
    except IndexNotFoundError:
        index = None
    except RagError as exc:
        message = f"the old index is unusable ({exc}); building a new one"
        index = None
    named = folder or config.corpus_dir
    recorded = index.corpus if index is not None else recorded_corpus(config.index_dir)
    folder = Path(named or recorded or config.default_corpus).resolve()
    articles, errors = load_articles(folder, config)
    if not articles:
        skipped = "".join(f"; {e}" for e in errors[:3]) + (f"; and {len(errors) - 3} more" if len(errors) > 3 else "")
        raise ArticleError(f"no readable articles in {folder}{skipped}")
    if index is not None:
        keep_indexed_articles(index, config.index_dir, folder, named is not None, {a.source for a in articles})
    if index is not None and index.settings != settings:
        message = "the embedder or chunking settings changed; rebuilding the index from scratch"
        index = None
    rebuilt = index is None
    if message:
        log(message)
    index = index or StoredIndex.empty(settings)

    current = {a.source: a for a in articles}
    stale = [s for s, d in index.documents.items() if s not in current or current[s].sha256 != d.sha256]
    fresh = [a for a in articles if a.source not in index.documents or a.source in stale]

    # Untouched when nothing changed: a large index stays memory-mapped, not copied.
    vectors = index.vectors.editable() if len(index) and (fresh or stale) else index.vectors
    chunks = dict(index.chunks)
    documents = dict(index.documents)
    sentences = index.sentences
    drop = [i for s in stale for i in documents[s].chunk_ids]
    if drop:
        vectors.remove_ids(np.array(drop, dtype="int64"))
        for i in drop:
            del chunks[i]
    for source in stale:
        del documents[source]
    texts = {s: t for s, t in index.texts.items() if s in documents}
    # An index saved before titles were recorded gets them from the files it has just read, without re-embedding.
    described = {s: described_as(d, current[s]) for s, d in documents.items()}
    titled = {s: d for s, d in described.items() if d != documents[s]}
    documents.update(titled)

    # Every new article is chunked first (fast), then embedded in parts of about `checkpoint_chunks` chunks, each
    # saved as a generation: an interrupted build keeps the parts it finished.
    next_id = index.next_id
    pieces: list[tuple[Article, list[Chunk]]] = []
    shown = progress if fresh else False
    with progress_bar(len(fresh), "chunking", "article", shown, config.progress_seconds) as bar:
        for article in fresh:
            pieces.append((article, chunk_article(article, settings.chunk_chars, settings.chunk_overlap, next_id)))
            next_id += len(pieces[-1][1])
            bar.update()
    parts = _parts(pieces, config.checkpoint_chunks)
    total = sum(len(p) for _, p in pieces)
    if fresh:
        log(f"embedding {total:,} chunks from {len(fresh):,} articles")
    embedder = embedder or (Embedder.from_config(config) if fresh else None)
    titled_as = {a.source: a.title for a in fresh if a.title} if settings.context == "title" else {}
    changed = set(stale)

    def settled() -> StoredIndex:
        index_now = StoredIndex(settings, documents, chunks, vectors, next_id, sentences, folder, texts)
        return _settle(config, index_now, changed, log)

    clock = time.perf_counter()
    done = 0
    with progress_bar(total, "embedding", "chunk", shown, config.progress_seconds) as bar:
        for number, part in enumerate(parts, 1):
            new_chunks = [c for _, p in part for c in p]
            for article, p in part:
                record = DocumentRecord(article.source, article.sha256, article.date, tuple(c.id for c in p))
                documents[article.source] = described_as(record, article)
                if stored(article.source):
                    texts[article.source] = article.text
            embedded, sentence_vectors = embedder.embed_chunks(new_chunks, bar, context=titled_as)  # type: ignore[union-attr]
            vectors.add_with_ids(embedded, np.array([c.id for c in new_chunks], dtype="int64"))
            sentences = sentences.with_added(sentence_vectors)
            chunks.update({c.id: c for c in new_chunks})
            changed |= {a.source for a, _ in part}
            done += len(new_chunks)
            if number < len(parts):
                updated = settled()
                updated.save(config.index_dir)
                vectors, sentences, changed = updated.vectors, updated.sentences, set()
                documents = dict(updated.documents)
                log(f"saved {done:,} of {total:,} chunks: a run stopped from here on keeps them")
    seconds = time.perf_counter() - clock
    updated = settled()
    if fresh or stale or titled or rebuilt or updated.vectors.layout != index.vectors.layout or index.corpus != folder:
        updated.save(config.index_dir)
    else:
        updated = index  # as it was loaded: with its saved keyword index, memory-mapped
    previously = set(index.documents)
    return updated, IndexReport(
        added=tuple(a.source for a in fresh if a.source not in previously),
        updated=tuple(a.source for a in fresh if a.source in previously),
        removed=tuple(s for s in stale if s not in current),
        unchanged=len(articles) - len(fresh),
        chunks=len(updated.chunks),
        rebuilt=rebuilt,
        embedded=total,
        seconds=seconds,
        errors=tuple(str(e) for e in errors),
        message=message,
    )


def _parts(pieces: list[tuple[Article, list[Chunk]]], size: int) -> list[list[tuple[Article, list[Chunk]]]]:
    """The chunked articles in runs of about `size` chunks (whole articles), the last one shorter."""
    parts: list[list[tuple[Article, list[Chunk]]]] = [[]]
    count = 0
    for piece in pieces:
        if count >= size:
            parts.append([])
            count = 0
        parts[-1].append(piece)
        count += len(piece[1])
    return parts if parts[0] else []


def _settle(config: Config, index: StoredIndex, changed: set[str], log: Callable[[str], None]) -> StoredIndex:
    """The index with its vectors in the layout their number calls for, and the `changed` articles linked to the
    other outlets' articles on the same story."""
    ids = np.fromiter(index.chunks, dtype="int64", count=len(index.chunks))
    index.vectors, vectors = index.vectors.fitted(ids, config.exact_index_limit, config.ivf_nprobe), index.vectors
    if index.vectors.layout.kind != vectors.layout.kind:
        log(f"{len(ids)} vectors: stored as {index.vectors.layout.kind} (exact_index_limit {config.exact_index_limit})")
    if changed:
        index.documents = _link_duplicates(index.documents, index.vectors, changed, config.duplicate_similarity)
    return index


def described_as(record: DocumentRecord, article: Article) -> DocumentRecord:
    """The record with what its source says of the article: title, outlet, author, URL and pages."""
    return replace(
        record, title=article.title, outlet=article.outlet, author=article.author, url=article.url, pages=article.pages
    )


@dataclass(frozen=True)
class Upload:
    """What became of one file offered to the library."""

    name: str
    added: bool
    reason: str


_SAFE_NAME = re.compile(r"^[\w][\w .()\-]*$")


def add_articles(
    config: Config,
    index: StoredIndex,
    folder: Path,
    paths: list[Path],
    max_bytes: int,
    embedder: Embedder | None = None,
    progress: Callable[[float, str], None] = lambda *_: None,
) -> list[Upload]:
    """Save offered article files (any format rag reads) into `folder`, the folder of `index`, and index them. A
    file is saved only once it reads as articles, under its bare name, never over an existing file and never
    twice."""
    if not folder.is_dir():
        reason = f"the library is the one file {folder.name}: add to it there and run rag index, or index a folder"
        return [Upload(path.name, False, reason) for path in paths]
    known = {d.sha256: s for s, d in index.documents.items()}
    results = []
    for i, path in enumerate(paths):
        progress(0.5 * i / max(len(paths), 1), f"checking {path.name}")
        results.append(_save(path, folder, known, max_bytes, config))
    if any(r.added for r in results):
        progress(0.5, f"indexing {sum(r.added for r in results)} new file(s)")
        update_index(replace(config, corpus_dir=folder), embedder=embedder, log=lambda m: progress(0.6, m))
    return results


def _save(path: Path, folder: Path, known: dict[str, str], max_bytes: int, config: Config) -> Upload:
    name = path.name
    if suffix(name) not in SUFFIXES:
        return Upload(name, False, f"rag reads {', '.join(SUFFIXES)} files")
    if not _SAFE_NAME.match(name):
        return Upload(name, False, "use a plain file name (letters, digits, spaces, . - _ ( ))")
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Upload(name, False, f"the upload cannot be read ({exc.strerror})")
    if len(data) > max_bytes:
        return Upload(name, False, f"{len(data):,} bytes is too large to upload (limit {max_bytes:,})")
    try:
        articles, skipped = read_articles(name, data, config.fields, config.max_article_bytes)
    except ArticleError as exc:
        return Upload(name, False, str(exc).removeprefix(f"{name}: "))
    if all(a.sha256 in known for a in articles):
        return Upload(name, False, f"already in the library as {known[articles[0].sha256]}")
    taken = Upload(name, False, "a different file with this name is already in the library; rename the file")
    target = folder / name
    if target.exists():
        return taken
    # Write beside the target under a name the indexer ignores, then link: a reader never sees
    # half a file, and os.link refuses to replace a file that appeared in the meantime.
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".upload-", delete=False) as out:
        out.write(data)
    try:
        os.link(out.name, target)
    except FileExistsError:
        return taken
    finally:
        os.unlink(out.name)
    known.update((a.sha256, a.source) for a in articles)
    notes = []
    if len(articles) > 1:
        notes.append(f"{len(articles)} articles")
    if skipped:
        notes.append(f"{len(skipped)} record(s) skipped: {skipped[0]}")
    if not any(a.date for a in articles):
        notes.append("no publication date: date filters will skip it")
    return Upload(name, True, "added" + (f" ({'; '.join(notes)})" if notes else ""))


def keep_indexed_articles(index: StoredIndex, index_dir: Path, folder: Path, named: bool, sources: set[str]) -> None:
    """Refuses an update that would drop indexed articles only because it was given another folder
    than the one the index was built from: opening an index from a setting left at its default
    must never delete hours of embedding. Deleting articles from the index's own folder removes
    them, as it should; a folder that holds every indexed article (the same folder moved) is taken
    as the index's folder from then on. An index built before its folder was recorded counts a
    folder named on purpose as its own."""
    missing = [s for s in index.documents if s not in sources]
    own = folder == index.corpus or (index.corpus is None and named)
    if missing and not own:
        built_from = f"was built from {index.corpus}" if index.corpus else "was built from another folder"
        raise CorpusMismatchError(
            f"the index in {index_dir} {built_from}, and {folder} lacks {len(missing)} of its "
            f"{len(index.documents)} articles (such as {missing[0]}); indexing {folder} into it would remove "
            f"them. To replace the index with {folder}: rag index {folder} --rebuild; to keep both, give it "
            "its own --index-dir"
        )


def _link_duplicates(
    documents: dict[str, DocumentRecord], vectors: Vectors, changed: set[str], threshold: float
) -> dict[str, DocumentRecord]:
    """Link articles that tell the same story, so an answer can cite every outlet that carried it.

    Only the `changed` articles (added, re-embedded or removed) are compared, against all the
    others, block by block: the cost of an update grows with the corpus, not with its square."""
    sources = [s for s, d in documents.items() if d.chunk_ids]
    position = {s: i for i, s in enumerate(sources)}
    links = {s: {t for t in documents[s].duplicates if t in position and t not in changed} for s in sources}
    rows = [i for i, s in enumerate(sources) if s in changed]
    if len(sources) >= 2 and rows:
        centroids = np.stack(
            [centroid(vectors.reconstruct_batch(np.array(documents[s].chunk_ids, dtype="int64"))) for s in sources]
        )
        for block in np.array_split(np.array(rows), max(1, len(rows) // 1024)):
            similarity = centroids[block] @ centroids.T
            for row, i in enumerate(block):
                for j in np.flatnonzero(similarity[row] >= threshold):
                    if j != i:
                        links[sources[i]].add(sources[j])
                        links[sources[j]].add(sources[i])
    return {
        s: replace(d, duplicates=tuple(sorted(links.get(s, ()), key=position.__getitem__)))
        for s, d in documents.items()
    }
