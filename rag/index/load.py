"""Find the articles under a folder, or in one file, and read them into `Article`s, whatever their format
(rag/index/formats.py)."""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from ..errors import ArticleError
from ..types import Article
from .formats import MANY, PDF, SUFFIXES, read_articles, suffix
from .plain import read_bytes


def corpus_root(corpus: Path) -> Path:
    """The folder article names are relative to: the corpus itself, or the folder of a corpus that is one file."""
    return corpus if corpus.is_dir() else corpus.parent


def article_paths(corpus: Path) -> list[Path]:
    """Every file of a format rag reads under the folder `corpus`, or `corpus` itself when it is such a file."""
    if corpus.is_file():
        if suffix(corpus.name) not in SUFFIXES:
            raise ArticleError(f"{corpus}: rag reads {', '.join(SUFFIXES)} files, not {corpus.suffix or 'this'}")
        return [corpus]
    if not corpus.is_dir():
        raise ArticleError(f"{corpus}: no such folder or file of articles")
    # rglob does not descend into linked sub-folders; a file reached through one would fail
    # load_file's check anyway if it lay outside.
    return sorted(p for p in corpus.rglob("*") if p.is_file() and suffix(p.name) in SUFFIXES)


def load_file(path: Path, root: Path, config: Config) -> tuple[list[Article], list[str]]:
    """The articles in the file at `path`, named by its path under `root`, and the parts of it that were skipped
    and why. It is read only if it lies inside `root` once links are resolved, so a link cannot make a file
    elsewhere (say /etc/passwd) citable, and only if its size is within the limit, checked before a byte is read:
    `max_article_bytes` for a file that is one article, `max_file_bytes` for an export, feed or PDF."""
    source = path.relative_to(root).as_posix()
    try:
        target = path.resolve(strict=True)
        size = target.stat().st_size
    except OSError as exc:
        raise ArticleError(f"{path}: cannot be read ({exc.strerror})") from exc
    if not target.is_relative_to(root.resolve()):
        raise ArticleError(f"{source}: links outside the article folder (to {target}), so it is not read")
    many = suffix(source) in MANY + PDF
    limit, setting = (
        (config.max_file_bytes, "RAG_MAX_FILE_BYTES (Config.max_file_bytes)")
        if many
        else (config.max_article_bytes, "RAG_MAX_ARTICLE_BYTES (Config.max_article_bytes)")
    )
    if size > limit:
        kind = "file" if many else "an article"
        raise ArticleError(
            f"{source}: {size:,} bytes is over the limit of {limit:,} bytes for {kind}; raise it with {setting}"
        )
    return read_articles(source, read_bytes(target), config.fields, config.max_article_bytes)


def load_articles(corpus: Path, config: Config | None = None) -> tuple[list[Article], list[ArticleError]]:
    """Every readable article under the folder `corpus` (or in the file `corpus`), plus the errors for what could
    not be read: one bad file or record must not stop the rest from being indexed.

    Only files inside the folder are read: a link to a file elsewhere is an error, and linked sub-folders are
    not followed. A link to a file inside loads under the link's name, unless that file is itself one of the
    articles: then the link is skipped as a duplicate, so one story is not indexed twice."""
    config = config or Config()
    root = corpus_root(corpus)
    paths = article_paths(corpus)
    articles_by_target = {p.resolve(): p for p in paths if not p.is_symlink()}
    articles, errors = [], []
    for path in paths:
        original = articles_by_target.get(path.resolve(), path)
        if original != path:
            name, target = (p.relative_to(root).as_posix() for p in (path, original))
            errors.append(ArticleError(f"{name}: a link to {target}, which is loaded under its own name"))
            continue
        try:
            found, skipped = load_file(path, root, config)
        except ArticleError as exc:
            errors.append(exc)
            continue
        articles += found
        errors += [ArticleError(s) for s in skipped]
    return articles, errors
