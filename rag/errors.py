"""Errors a user can act on: each message says what went wrong and what to do next."""


class RagError(Exception):
    """Base class: the CLI and the page show the message as it is."""


class ConfigError(RagError, ValueError):
    """A setting has a value rag does not know."""


class QuestionError(RagError, ValueError):
    """The question is empty, too long, or not text."""


class ModelNotFoundError(RagError, FileNotFoundError):
    """The chosen GGUF file (or the packages it is assembled from) is not on disk."""


class ModelIntegrityError(RagError):
    """A model file does not match its published size or sha256."""


class IndexNotFoundError(RagError, FileNotFoundError):
    """No index has been built yet in the index folder."""


class CorruptIndexError(RagError):
    """The index files are unreadable, truncated or inconsistent with each other."""


class IndexWriteError(RagError):
    """A new index could not be written (disk full, quota, I/O error); the previous one is kept."""


class StaleIndexError(RagError):
    """The index was built with other settings (embedder, chunking) than the ones asked for."""


class CorpusMismatchError(RagError):
    """Updating the index from the folder given would remove articles it was built from elsewhere."""


class ArticleError(RagError):
    """An article file cannot be read as text."""


class StaleArticleError(ArticleError):
    """An indexed article's file changed or vanished since it was indexed: its offsets no longer hold."""


class BackendError(RagError):
    """The generation backend failed (server down, timed out, stream cut)."""
