"""Offline question answering over a folder of news articles, with every claim cited to the
exact sentence that supports it.

    from rag import answer
    a = answer("Which countries had troops in Niger?")
    print(a.text, a.citations)
"""

from .assistant import REFUSAL, Assistant, answer, stream_answer
from .config import Config
from .errors import (
    ArticleError,
    BackendError,
    ConfigError,
    CorpusMismatchError,
    CorruptIndexError,
    IndexNotFoundError,
    IndexWriteError,
    ModelIntegrityError,
    ModelNotFoundError,
    QuestionError,
    RagError,
    StaleArticleError,
    StaleIndexError,
)
from .index.ingest import IndexReport, build_index
from .search.retrieve import Filters
from .types import Answer, Article, Chunk, Citation, Draft, Hit, Searching

__all__ = [
    "REFUSAL",
    "Answer",
    "Article",
    "ArticleError",
    "Assistant",
    "BackendError",
    "ConfigError",
    "Chunk",
    "Citation",
    "Config",
    "Draft",
    "CorpusMismatchError",
    "CorruptIndexError",
    "Filters",
    "Hit",
    "IndexNotFoundError",
    "IndexReport",
    "IndexWriteError",
    "ModelIntegrityError",
    "ModelNotFoundError",
    "QuestionError",
    "RagError",
    "Searching",
    "StaleArticleError",
    "StaleIndexError",
    "answer",
    "build_index",
    "stream_answer",
]
