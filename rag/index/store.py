"""The saved index: FAISS vectors, chunk metadata and a manifest that describes them.

Layout under the index folder:
    CURRENT             names the live generation folder; replaced atomically
    gen-<n>/manifest.json   settings, documents (hash, date, chunk ids, duplicates), the other
                            files' sizes and sha256 checksums
    gen-<n>/chunks.jsonl    one chunk a line, with offsets into its article file
    gen-<n>/dense.faiss     vectors keyed by chunk id: exact (IndexIDMap2 over IndexFlatIP) up to
                            Config.exact_index_limit vectors, IVF (IndexIVFFlat) above it
    gen-<n>/sentences.npy   one float16 vector per sentence of each chunk, in chunks.jsonl order,
                            so choosing the sentences the model reads costs no embedding at query time
    gen-<n>/texts.jsonl     the text of each article extracted from another format than .txt/.md
                            (rag/index/formats.py), which its offsets index; absent in older indexes
    gen-<n>/keyword/        the BM25 index of the chunks (rag/index/keyword.py), memory-mapped on load;
                            an older index without it has it built when it is first searched

An update writes a whole new generation and only then points CURRENT at it, so a crash or a
kill at any moment leaves the previous generation loadable; a write that fails (disk full)
removes the half-written generation and says how much space the index needs.

A large (IVF) index is memory-mapped on load: a multi-GB file opens in milliseconds, and the
operating system pages in only the inverted lists that searches touch. IVF rather than HNSW
because IVF supports add_with_ids and remove_ids, so incremental updates keep working.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Config
from ..errors import CorruptIndexError, IndexNotFoundError, IndexWriteError, RagError, StaleIndexError
from ..types import Chunk, Span
from .keyword import KeywordIndex

FORMAT = 2  # 2: sentences.npy
_FILES = ("manifest.json", "chunks.jsonl", "dense.faiss", "sentences.npy")
_KEYWORD = "keyword"
# The names a manifest may list: a file of the generation or of its keyword folder, never a path out of it.
_LISTED_NAME = re.compile(rf"(?:{_KEYWORD}/)?\w[\w.-]*")
_GENERATION_NAME = re.compile("gen-[0-9]+")
# sha256 runs at ~1.5 GB/s on this CPU (it has SHA instructions), blake2b at ~0.8 GB/s
# (benchmarks/bench_checksum.py). The manifest keys the checksums by this name.
_CHECKSUM = "sha256"


@dataclass(frozen=True)
class IndexSettings:
    """What the stored vectors and chunks depend on: change any of it and they must be rebuilt."""

    embedder: str
    dimension: int
    chunk_chars: int
    chunk_overlap: int
    splitter: str = "pysbd"  # the sentence splitter before it was recorded
    safety: str = "1"  # rag.index.safety.RULES, which sentences chunks leave out ("1": before it was recorded)
    context: str = ""  # what is read before each chunk when it is embedded: "title", or "" (none)


@dataclass(frozen=True)
class VectorLayout:
    """How the vectors are stored; recorded in the manifest so the index describes itself."""

    kind: str = "flat"  # "flat": exact search; "ivf": inverted lists, approximate
    nlist: int = 0  # IVF: number of lists (k-means centroids)
    nprobe: int = 0  # IVF: lists searched per query
    trained_on: int = 0  # IVF: vectors in the index when the centroids were trained


FLAT = VectorLayout()
_BATCH = 65_536  # vectors moved at a time when converting, so memory stays bounded


def layout_for(count: int, current: VectorLayout, exact_limit: int, nprobe: int) -> VectorLayout:
    """The layout an index of `count` vectors should have. Exact up to `exact_limit`; IVF above,
    with about 4*sqrt(n) lists, retrained when the index has grown 4x since its training. Back
    to exact only under half the limit, so an index near the limit is not converted back and
    forth by every update."""
    if current.kind == "ivf" and count >= exact_limit // 2 and count <= 4 * current.trained_on:
        return replace(current, nprobe=nprobe)
    if count <= exact_limit:
        return FLAT
    # k-means wants at least 39 training points per centroid.
    nlist = max(1, min(int(4 * math.sqrt(count)), count // 39))
    return VectorLayout("ivf", nlist, nprobe, count)


class Vectors:
    """FAISS vectors keyed by chunk id, whatever the layout, behind the calls the rest of the
    package makes (ntotal, d, search, reconstruct_batch, add_with_ids, remove_ids)."""

    def __init__(self, index: Any, layout: VectorLayout = FLAT, mapped_from: Path | None = None) -> None:
        self.index = index
        self.layout = layout
        self.mapped_from = mapped_from  # the file a memory-mapped (read-only) index lives in

    @classmethod
    def empty(cls, dimension: int) -> Vectors:
        import faiss

        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dimension)))

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @property
    def d(self) -> int:
        return int(self.index.d)

    def search(self, queries: np.ndarray, k: int, params: Any = None) -> tuple[np.ndarray, np.ndarray]:
        if self.layout.kind != "ivf":
            return self.index.search(queries, k, params=params)
        import faiss

        # An IVF index takes only IVF search parameters; a plain id filter is carried over.
        ivf = faiss.SearchParametersIVF()
        ivf.nprobe = self.layout.nprobe
        if params is not None and params.sel is not None:
            ivf.sel = params.sel
        return self.index.search(queries, k, params=ivf)

    def reconstruct_batch(self, ids: np.ndarray) -> np.ndarray:
        return self.index.reconstruct_batch(ids)

    def add_with_ids(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        self.index.add_with_ids(vectors, ids)

    def remove_ids(self, ids: np.ndarray) -> int:
        return int(self.index.remove_ids(ids))

    def editable(self) -> Vectors:
        """A private in-memory copy to update; a memory-mapped index is read again without mapping."""
        import faiss

        if self.mapped_from is not None:
            return Vectors(faiss.read_index(str(self.mapped_from)), self.layout)
        return Vectors(faiss.clone_index(self.index), self.layout)

    def fitted(self, ids: np.ndarray, exact_limit: int, nprobe: int) -> Vectors:
        """These vectors (all of `ids`) in the layout their number calls for: the same object
        when it already has it, else a new index trained and filled in batches."""
        wanted = layout_for(len(ids), self.layout, exact_limit, nprobe)
        if wanted == self.layout:
            return self
        if replace(wanted, nprobe=0) == replace(self.layout, nprobe=0):
            return Vectors(self.index, wanted, self.mapped_from)
        import faiss

        if wanted.kind == "flat":
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.d))
        else:
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(self.d), self.d, wanted.nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.spherical = True  # unit vectors compared by inner product: unit centroids
            sample = np.sort(np.random.default_rng(0).choice(ids, min(len(ids), 64 * wanted.nlist), replace=False))
            index.train(np.concatenate([self.reconstruct_batch(b) for b in np.array_split(sample, _splits(sample))]))
            # A hashtable direct map lets reconstruct and remove_ids work with any chunk ids.
            index.set_direct_map_type(faiss.DirectMap.Hashtable)
        for batch in np.array_split(ids, _splits(ids)):
            index.add_with_ids(self.reconstruct_batch(batch), batch)
        return Vectors(index, wanted)

    def __getattr__(self, name: str) -> Any:
        # Anything else FAISS offers, on the underlying index.
        return getattr(self.index, name)


def _splits(ids: np.ndarray) -> int:
    return max(1, math.ceil(len(ids) / _BATCH))


class SentenceVectors:
    """One vector per sentence of every chunk: a (memory-mapped) float16 matrix whose rows follow
    the chunks in order, plus vectors of chunks added since it was written."""

    def __init__(self, matrix: np.ndarray, rows: dict[int, int], added: dict[int, np.ndarray] | None = None) -> None:
        self.matrix = matrix
        self.rows = rows  # chunk id -> its first row in `matrix`
        self.added = added or {}

    @classmethod
    def empty(cls, dimension: int) -> SentenceVectors:
        return cls(np.zeros((0, dimension), dtype="float16"), {})

    @classmethod
    def load(cls, path: Path, chunks: list[Chunk], dimension: int) -> SentenceVectors:
        matrix = np.load(path, mmap_mode="r")
        rows, at = {}, 0
        for chunk in chunks:
            rows[chunk.id] = at
            at += len(chunk.sentences)
        if matrix.ndim != 2 or matrix.shape != (at, dimension):
            raise ValueError(f"sentences.npy holds {matrix.shape}, not ({at}, {dimension})")
        return cls(matrix, rows)

    def of(self, chunk: Chunk) -> np.ndarray:
        """The chunk's sentence vectors, one row per sentence, as float32 unit vectors."""
        if chunk.id in self.added:
            return self.added[chunk.id]
        first = self.rows[chunk.id]
        return np.asarray(self.matrix[first : first + len(chunk.sentences)], dtype="float32")

    def with_added(self, vectors: dict[int, np.ndarray]) -> SentenceVectors:
        return SentenceVectors(self.matrix, self.rows, {**self.added, **vectors})

    def write(self, path: Path, chunks: list[Chunk]) -> None:
        """Rows for exactly `chunks`, in order: those of deleted chunks are left behind.

        Streamed through a file, not a memory map: on a full disk a store into a mapped page is a
        SIGBUS that kills the process, where a file write raises OSError."""
        shape = (sum(len(c.sentences) for c in chunks), self.matrix.shape[1])
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype("float16")), "fortran_order": False, "shape": shape}
        with open(path, "wb") as handle:
            np.lib.format.write_array_header_1_0(handle, header)
            for chunk in chunks:
                handle.write(self.of(chunk).astype("float16").tobytes())


@dataclass(frozen=True)
class DocumentRecord:
    source: str
    sha256: str
    date: str | None
    chunk_ids: tuple[int, ...]
    duplicates: tuple[str, ...] = ()
    title: str | None = None  # the article's headline, for citations and refusals
    outlet: str | None = None
    author: str | None = None
    url: str | None = None
    pages: tuple[int, ...] = ()  # where each page after the first starts (PDF)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DocumentRecord:
        return cls(
            d["source"],
            d["sha256"],
            d["date"],
            tuple(d["chunk_ids"]),
            tuple(d["duplicates"]),
            *(d.get(name) for name in ("title", "outlet", "author", "url")),
            pages=tuple(d.get("pages", ())),
        )

    def page(self, offset: int) -> int | None:
        """The page an offset of the article's text is on, for an article that has pages."""
        return bisect.bisect_right(self.pages, offset) + 1 if self.pages else None


@dataclass(frozen=True)
class FileCheck:
    name: str
    size: int
    checksummed: bool  # False: its size was checked, not its bytes (a manifest from before checksums)


@dataclass(frozen=True)
class IndexCheck:
    generation: Path
    files: tuple[FileCheck, ...]
    documents: int
    chunks: int


class StoredIndex:
    """Chunks and their vectors, in memory; `load` and `save` move them to and from disk."""

    def __init__(
        self,
        settings: IndexSettings,
        documents: dict[str, DocumentRecord],
        chunks: dict[int, Chunk],
        vectors: Vectors,
        next_id: int,
        sentences: SentenceVectors,
        corpus: Path | None = None,
        texts: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.documents = documents
        self.chunks = chunks
        self.vectors = vectors
        self.next_id = next_id
        self.sentences = sentences
        self.corpus = corpus  # the folder (or file) of articles it was built from (None: built before it was recorded)
        self.texts = texts or {}  # source -> text, for the articles extracted from formats other than .txt/.md
        self._keyword: KeywordIndex | None = None
        self._keyword_dir: Path | None = None  # where the saved BM25 index of these chunks lies, if it does

    @property
    def keyword(self) -> KeywordIndex:
        """The BM25 index of the chunks: the saved one, memory-mapped, or else built from the chunks once."""
        if self._keyword is None:
            self._keyword = (
                KeywordIndex.load(self._keyword_dir)
                if self._keyword_dir
                else KeywordIndex.build(list(self.chunks.values()))
            )
        return self._keyword

    @classmethod
    def empty(cls, settings: IndexSettings) -> StoredIndex:
        dimension = settings.dimension
        return cls(settings, {}, {}, Vectors.empty(dimension), 0, SentenceVectors.empty(dimension))

    def __len__(self) -> int:
        return len(self.chunks)

    # --- disk -------------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        folder: Path,
        expect: IndexSettings | None = None,
        mmap: bool = True,
        verify_bytes: int = Config.verify_on_load_bytes,
    ) -> StoredIndex:
        """Load the live generation; a large (IVF) vector file is memory-mapped unless mmap=False.
        Every file's size is checked against the manifest, and its checksum too when the files
        total at most `verify_bytes` (hashing reads all of them; check_index does it at any size)."""
        return cls._load(folder, expect, mmap, verify_bytes)[0]

    @classmethod
    def _load(
        cls, folder: Path, expect: IndexSettings | None, mmap: bool, verify_bytes: int
    ) -> tuple[StoredIndex, IndexCheck]:
        generation = current_generation(folder)
        rebuild = _rebuild(folder)
        try:
            manifest = json.loads((generation / "manifest.json").read_text())
            if manifest.get("format") != FORMAT:
                raise CorruptIndexError(f"the index has format {manifest.get('format')}, not {FORMAT}; {rebuild}")
            checks = _verify_files(generation, manifest, verify_bytes, rebuild)
            settings = IndexSettings(**manifest["settings"])
            layout = VectorLayout(**manifest.get("vectors", {}))
            documents = {d["source"]: DocumentRecord.from_json(d) for d in manifest["documents"]}
            texts = {}
            if "texts.jsonl" in manifest["sizes"]:
                with open(generation / "texts.jsonl", encoding="utf-8") as handle:
                    texts = {row["source"]: row["text"] for row in map(json.loads, handle)}
            chunks = {}
            with open(generation / "chunks.jsonl", encoding="utf-8") as handle:
                for line in handle:
                    row = json.loads(line)
                    row["sentences"] = tuple(Span(*s) for s in row["sentences"])
                    chunks[row["id"]] = Chunk(**row)
            sentences = SentenceVectors.load(generation / "sentences.npy", list(chunks.values()), settings.dimension)
            next_id = int(manifest["next_id"])
        except CorruptIndexError:
            raise
        # Whatever the damage, a file of the wrong shape fails as one of these (a list where an object
        # should be: AttributeError).
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CorruptIndexError(f"the index in {generation} cannot be read ({exc}); {rebuild}") from exc
        if expect is not None and expect != settings:
            raise StaleIndexError(
                f"the index was built with {asdict(settings)} but {asdict(expect)} is configured; {rebuild}"
            )
        import faiss

        path = generation / "dense.faiss"
        mapped = mmap and layout.kind == "ivf"
        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mapped else faiss.IO_FLAG_READ_ONLY
        try:
            index = faiss.read_index(str(path), flags)
        except RuntimeError as exc:
            raise CorruptIndexError(f"the vector file in {generation} cannot be read; {rebuild}") from exc
        expected = faiss.IndexIVFFlat if layout.kind == "ivf" else faiss.IndexIDMap2
        if not isinstance(index, expected):
            raise CorruptIndexError(
                f"the manifest says the vectors are {layout.kind} but {path} holds {type(index).__name__}; {rebuild}"
            )
        vectors = Vectors(index, layout, path if mapped else None)
        if vectors.ntotal != len(chunks) or vectors.d != settings.dimension:
            raise CorruptIndexError(
                f"the index holds {vectors.ntotal} vectors of dimension {vectors.d} for {len(chunks)} "
                f"chunks of dimension {settings.dimension}; {rebuild}"
            )
        corpus = Path(manifest["corpus"]) if manifest.get("corpus") else None
        index = cls(settings, documents, chunks, vectors, next_id, sentences, corpus, texts)
        if any(name.startswith(f"{_KEYWORD}/") for name in manifest["sizes"]):
            index._keyword_dir = generation / _KEYWORD
        return index, IndexCheck(generation, checks, len(documents), len(chunks))

    def save(self, folder: Path) -> Path:
        """Write a new generation and make it the live one. On any write error (disk full, quota,
        I/O) the half-written generation is removed, the previous one stays live, and the error
        is an IndexWriteError that says how much space the index needs."""
        folder.mkdir(parents=True, exist_ok=True)
        number = max((_generation_number(p) for p in folder.glob("gen-*")), default=0) + 1
        generation = folder / f"gen-{number:06d}"
        pointer = folder / "CURRENT.tmp"
        staging: Path | None = None
        try:
            staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
            self._write_generation(staging)
            with open(pointer, "w", encoding="ascii") as handle:
                handle.write(generation.name)
            _fsync(pointer)
            os.rename(staging, generation)
        except OSError as exc:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            with contextlib.suppress(OSError):
                pointer.unlink()
            raise IndexWriteError(self._write_failure(folder, exc)) from exc
        os.replace(pointer, folder / "CURRENT")
        _prune(folder, keep=generation)
        # Read back mapped: memory stays bounded, and nothing points into the pruned generation.
        self.sentences = SentenceVectors.load(
            generation / "sentences.npy", list(self.chunks.values()), self.settings.dimension
        )
        self._keyword, self._keyword_dir = None, generation / _KEYWORD
        return generation

    def _write_generation(self, staging: Path) -> None:
        # Every file is written through a Python file object, so that any failed write raises OSError.
        with open(staging / "chunks.jsonl", "w", encoding="utf-8") as handle:
            for chunk in self.chunks.values():
                row = asdict(chunk)
                row["sentences"] = [[s.start, s.end] for s in chunk.sentences]
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        # A mapped index would be written as a reference to its old file: write a real copy.
        vectors = self.vectors.editable() if self.vectors.mapped_from else self.vectors
        _write_vectors(vectors.index, staging / "dense.faiss")
        self.sentences.write(staging / "sentences.npy", list(self.chunks.values()))
        with open(staging / "texts.jsonl", "w", encoding="utf-8") as handle:
            for source, text in self.texts.items():
                handle.write(json.dumps({"source": source, "text": text}, ensure_ascii=False) + "\n")
        keyword = KeywordIndex.build(list(self.chunks.values())).save(staging / _KEYWORD)
        written = (*_FILES[1:], "texts.jsonl", *(f"{_KEYWORD}/{name}" for name in keyword))
        manifest = {
            "format": FORMAT,
            "settings": asdict(self.settings),
            "vectors": asdict(vectors.layout),
            "documents": [asdict(d) for d in self.documents.values()],
            "next_id": self.next_id,
            "count": len(self.chunks),
            "corpus": str(self.corpus) if self.corpus else None,
            "sizes": {name: (staging / name).stat().st_size for name in written},
            _CHECKSUM: {name: _checksum(staging / name) for name in written},
        }
        with open(staging / "manifest.json", "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=1, ensure_ascii=False)
        for name in ("manifest.json", *written):
            _fsync(staging / name)

    def _write_failure(self, folder: Path, exc: OSError) -> str:
        d = self.settings.dimension
        # Each chunk: a float32 vector and its 64-bit id, a float16 vector per sentence, and its
        # text; the JSON around the text is small beside the vectors.
        needed = sum(4 * d + 8 + 2 * d * len(c.sentences) + len(c.text.encode()) for c in self.chunks.values())
        free = shutil.disk_usage(folder).free
        kept = "the previous index is kept and still works" if (folder / "CURRENT").exists() else "no index was written"
        return (
            f"could not write the index in {folder} ({exc}): it needs about {_bytes(needed)} free and "
            f"{_bytes(free)} is free there; {kept}. Free some space, then run rag index again"
        )


def _write_vectors(index: Any, path: Path) -> None:
    import faiss

    # FAISS's own file writer reports a failure to flush its last buffer on close only on stderr,
    # leaving a short file behind; through a Python file every failed write raises OSError.
    with open(path, "wb") as handle:
        faiss.write_index(index, faiss.PyCallbackIOWriter(handle.write))


def _bytes(count: int) -> str:
    return f"{count / 1e9:,.1f} GB" if count >= 10**9 else f"{count / 1e6:,.1f} MB"


def check_index(folder: Path) -> IndexCheck:
    """Verify every file of the live generation against the manifest, whatever its size, then
    load it: what `rag index --check` runs. It only reads."""
    return StoredIndex._load(folder, None, True, sys.maxsize)[1]


def _verify_files(generation: Path, manifest: dict[str, Any], verify_bytes: int, rebuild: str) -> tuple[FileCheck, ...]:
    # Every file the manifest lists, which always holds these; an index saved before texts.jsonl and keyword/
    # existed lists neither.
    sizes = {name: int(manifest["sizes"][name]) for name in (*_FILES[1:], *manifest["sizes"])}
    if strange := [name for name in sizes if not _LISTED_NAME.fullmatch(name)]:
        raise CorruptIndexError(f"the manifest lists {strange[0]!r}, not a file of an index; {rebuild}")
    # A manifest written before checksums has none: its files are checked by size only.
    recorded = manifest.get(_CHECKSUM, {}) if sum(sizes.values()) <= verify_bytes else {}
    checks = []
    for name, size in sizes.items():
        path = generation / name
        if path.stat().st_size != size:
            raise CorruptIndexError(f"the index file {name} is truncated or altered; {rebuild}")
        if name in recorded and _checksum(path) != recorded[name]:
            raise CorruptIndexError(
                f"the index file {path} does not match its {_CHECKSUM} checksum (damaged on disk); {rebuild}"
            )
        checks.append(FileCheck(name, size, name in recorded))
    return tuple(checks)


def _checksum(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, _CHECKSUM).hexdigest()


def _rebuild(folder: Path) -> str:
    return f"rebuild it with: rag index --rebuild (index folder {folder})"


def current_generation(folder: Path) -> Path:
    """The live generation folder: always a gen-<digits> folder directly inside `folder`."""
    pointer = folder / "CURRENT"
    if not pointer.exists():
        raise IndexNotFoundError(f"no index in {folder}: build one with: rag index FOLDER")
    rebuild = _rebuild(folder)
    try:
        name = pointer.read_bytes().decode("ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptIndexError(f"{pointer} cannot be read ({exc}); {rebuild}") from exc
    # Anything else (empty, "..", an absolute path) would point outside the index's own generations.
    if not _GENERATION_NAME.fullmatch(name):
        raise CorruptIndexError(f"{pointer} holds {name!r}, not the name of a generation folder; {rebuild}")
    generation = folder / name
    if not generation.is_dir():
        raise CorruptIndexError(f"{pointer} names {name}, which is missing; {rebuild}")
    return generation


def recorded_corpus(folder: Path) -> Path | None:
    """The article folder the index in `folder` was built from, if its manifest can tell."""
    try:
        corpus = json.loads((current_generation(folder) / "manifest.json").read_text()).get("corpus")
    except (RagError, OSError, ValueError, AttributeError):
        return None
    return Path(corpus) if isinstance(corpus, str) and corpus else None


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
