"""The saved index: FAISS vectors, chunk metadata and a manifest that describes them.

Layout under the index folder:
    CURRENT             names the live generation folder; replaced atomically
    gen-<n>/manifest.json   settings, documents (hash, date, chunk ids, duplicates), file sizes
    gen-<n>/chunks.jsonl    one chunk a line, with offsets into its article file
    gen-<n>/dense.faiss     vectors keyed by chunk id (IndexIDMap2)

An update writes a whole new generation and only then points CURRENT at it, so a crash or a
kill at any moment leaves the previous generation loadable.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CorruptIndexError, IndexNotFoundError, StaleIndexError
from .types import Chunk, Span

FORMAT = 1
_FILES = ("manifest.json", "chunks.jsonl", "dense.faiss")


@dataclass(frozen=True)
class IndexSettings:
    """What the stored vectors and chunks depend on: change any of it and they must be rebuilt."""

    embedder: str
    dimension: int
    chunk_chars: int
    chunk_overlap: int


@dataclass(frozen=True)
class DocumentRecord:
    source: str
    sha256: str
    date: str | None
    chunk_ids: tuple[int, ...]
    duplicates: tuple[str, ...] = ()


class StoredIndex:
    """Chunks and their vectors, in memory; `load` and `save` move them to and from disk."""

    def __init__(
        self,
        settings: IndexSettings,
        documents: dict[str, DocumentRecord],
        chunks: dict[int, Chunk],
        vectors: Any,  # faiss.IndexIDMap2
        next_id: int,
    ) -> None:
        self.settings = settings
        self.documents = documents
        self.chunks = chunks
        self.vectors = vectors
        self.next_id = next_id

    @classmethod
    def empty(cls, settings: IndexSettings) -> StoredIndex:
        import faiss

        vectors = faiss.IndexIDMap2(faiss.IndexFlatIP(settings.dimension))
        return cls(settings, {}, {}, vectors, 0)

    def __len__(self) -> int:
        return len(self.chunks)

    # --- disk -------------------------------------------------------------------------------

    @classmethod
    def load(cls, folder: Path, expect: IndexSettings | None = None) -> StoredIndex:
        generation = current_generation(folder)
        rebuild = f"rebuild it with: rag index --rebuild (index folder {folder})"
        try:
            manifest = json.loads((generation / "manifest.json").read_text())
            if manifest.get("format") != FORMAT:
                raise CorruptIndexError(f"the index has format {manifest.get('format')}, not {FORMAT}; {rebuild}")
            for name, size in manifest["sizes"].items():
                if (generation / name).stat().st_size != size:
                    raise CorruptIndexError(f"the index file {name} is truncated or altered; {rebuild}")
            settings = IndexSettings(**manifest["settings"])
            documents = {
                d["source"]: DocumentRecord(
                    d["source"], d["sha256"], d["date"], tuple(d["chunk_ids"]), tuple(d["duplicates"])
                )
                for d in manifest["documents"]
            }
            chunks = {}
            with open(generation / "chunks.jsonl", encoding="utf-8") as handle:
                for line in handle:
                    row = json.loads(line)
                    row["sentences"] = tuple(Span(*s) for s in row["sentences"])
                    chunks[row["id"]] = Chunk(**row)
        except CorruptIndexError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CorruptIndexError(f"the index in {generation} cannot be read ({exc}); {rebuild}") from exc
        if expect is not None and expect != settings:
            raise StaleIndexError(
                f"the index was built with {asdict(settings)} but {asdict(expect)} is configured; {rebuild}"
            )
        import faiss

        try:
            vectors = faiss.read_index(str(generation / "dense.faiss"), faiss.IO_FLAG_READ_ONLY)
        except RuntimeError as exc:
            raise CorruptIndexError(f"the vector file in {generation} cannot be read; {rebuild}") from exc
        if vectors.ntotal != len(chunks) or vectors.d != settings.dimension:
            raise CorruptIndexError(
                f"the index holds {vectors.ntotal} vectors of dimension {vectors.d} for {len(chunks)} "
                f"chunks of dimension {settings.dimension}; {rebuild}"
            )
        return cls(settings, documents, chunks, vectors, manifest["next_id"])

    def save(self, folder: Path) -> Path:
        import faiss

        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
        with open(staging / "chunks.jsonl", "w", encoding="utf-8") as handle:
            for chunk in self.chunks.values():
                row = asdict(chunk)
                row["sentences"] = [[s.start, s.end] for s in chunk.sentences]
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        faiss.write_index(self.vectors, str(staging / "dense.faiss"))
        manifest = {
            "format": FORMAT,
            "settings": asdict(self.settings),
            "documents": [asdict(d) for d in self.documents.values()],
            "next_id": self.next_id,
            "count": len(self.chunks),
            "sizes": {name: (staging / name).stat().st_size for name in _FILES[1:]},
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
        for name in _FILES:
            _fsync(staging / name)
        number = max((_generation_number(p) for p in folder.glob("gen-*")), default=0) + 1
        generation = folder / f"gen-{number:06d}"
        os.rename(staging, generation)
        pointer = folder / "CURRENT.tmp"
        pointer.write_text(generation.name)
        _fsync(pointer)
        os.replace(pointer, folder / "CURRENT")
        _prune(folder, keep=generation)
        return generation


def current_generation(folder: Path) -> Path:
    pointer = folder / "CURRENT"
    if not pointer.exists():
        raise IndexNotFoundError(f"no index in {folder}: build one with: rag index FOLDER")
    generation = folder / pointer.read_text().strip()
    if not generation.is_dir():
        raise CorruptIndexError(
            f"{pointer} names {generation.name}, which is missing; rebuild with: rag index --rebuild"
        )
    return generation


def _generation_number(path: Path) -> int:
    try:
        return int(path.name.split("-", 1)[1])
    except (IndexError, ValueError):
        return 0


def _prune(folder: Path, keep: Path) -> None:
    # Older generations and staging folders left by killed runs; the live one stays.
    for path in list(folder.glob("gen-*")) + list(folder.glob(".staging-*")):
        if path != keep:
            shutil.rmtree(path, ignore_errors=True)


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def centroid(vectors: np.ndarray) -> np.ndarray:
    mean = vectors.mean(axis=0)
    return mean / (np.linalg.norm(mean) or 1.0)
