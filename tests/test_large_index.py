"""Large corpora: above Config.exact_index_limit the vectors are stored as IVF and memory-mapped.
The limit is lowered so the seeds plus a few hundred generated articles take the large path."""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np
import pytest

from rag import Assistant, Config, build_index
from rag.index.embed import Embedder
from rag.index.store import (
    FLAT,
    IndexSettings,
    SentenceVectors,
    StoredIndex,
    VectorLayout,
    Vectors,
    current_generation,
    layout_for,
)
from rag.search.retrieve import Filters, Retriever
from rag.types import Chunk, Span

from .conftest import SEEDS, TROOPS

TOWNS = ("Arden", "Belmont", "Corlay", "Dunmore", "Esk", "Fenwick", "Galway", "Harlow", "Ilford", "Jarrow")
THINGS = ("a bridge", "two schools", "a tram line", "flood walls", "a clinic", "street lights", "a library")


def synthetic_articles(folder: Path, count: int, seed: int = 0) -> None:
    """Short dated articles on invented local news, one or two chunks each; generated, never downloaded."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        town, thing = rng.choice(TOWNS), rng.choice(THINGS)
        body = (
            f"The council of {town} approved {rng.randint(2, 90)} million for {thing} on day {n}. "
            f"Work on {thing} in {town} should take {rng.randint(2, 30)} months, officials said."
        )
        (folder / f"local_{n:04d}.txt").write_text(
            f" date 2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {body}"
        )


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Config:
    home = tmp_path_factory.mktemp("large")
    shutil.copytree(SEEDS, home / "corpus")
    synthetic_articles(home / "corpus", 400)
    config = replace(
        Config(), corpus_dir=home / "corpus", index_dir=home / "index", exact_index_limit=200, ivf_nprobe=64
    )
    build_index(config, embedder=embedder)
    return config


def test_above_the_limit_the_index_is_ivf_recorded_in_the_manifest_and_memory_mapped(large: Config):
    manifest = json.loads((current_generation(large.index_dir) / "manifest.json").read_text())
    assert manifest["vectors"]["kind"] == "ivf" and manifest["count"] > 400
    assert 1 <= manifest["vectors"]["nlist"] <= manifest["count"] // 39
    index = StoredIndex.load(large.index_dir)
    assert isinstance(index.vectors.index, faiss.IndexIVFFlat)
    assert index.vectors.mapped_from == current_generation(large.index_dir) / "dense.faiss"
    assert isinstance(faiss.downcast_InvertedLists(index.vectors.index.invlists), faiss.OnDiskInvertedLists)


def test_retrieval_filters_and_answers_work_on_the_ivf_index(large: Config, embedder: Embedder, assistant: Assistant):
    retriever = Retriever(StoredIndex.load(large.index_dir), embedder, large)
    hits = retriever.search("Which countries had troops in Niger?")
    assert any(TROOPS in h.chunk.text for h in hits)
    only = Filters(sources=("local_0007.txt",))
    assert {h.chunk.source for h in retriever.search("council budget", filters=only)} == {"local_0007.txt"}
    assert all(
        h.chunk.date and h.chunk.date >= "2023-06-01"
        for h in retriever.search("council", filters=Filters(date_from="2023-06-01"))
    )

    answer = Assistant(large, generator=assistant.generator, update=False).ask("Which countries had troops in Niger?")
    assert answer.answered and "Italy" in answer.text


def test_incremental_updates_keep_working_on_the_ivf_index(large: Config, embedder: Embedder, tmp_path: Path):
    config = replace(large, index_dir=tmp_path / "index")
    shutil.copytree(large.index_dir, config.index_dir)
    (large.corpus_dir / "local_9999.txt").write_text(" date 2024-01-05 The ferry to Quillan Island returned on Friday.")
    (large.corpus_dir / "local_0001.txt").unlink()
    try:
        report = build_index(config, embedder=embedder)
    finally:
        (large.corpus_dir / "local_9999.txt").unlink()
        synthetic_articles(large.corpus_dir, 2)  # puts local_0000 and local_0001 back as they were
    assert report.added == ("local_9999.txt",) and report.removed == ("local_0001.txt",) and not report.rebuilt
    index = StoredIndex.load(config.index_dir)
    assert index.vectors.layout.kind == "ivf" and index.vectors.ntotal == len(index.chunks)
    hits = Retriever(index, embedder, config).search("Which ferry returned?", k=3)
    assert hits[0].chunk.source == "local_9999.txt"


def test_the_layout_follows_the_count_with_hysteresis():
    assert layout_for(150_000, FLAT, 200_000, 32) == FLAT
    ivf = layout_for(300_000, FLAT, 200_000, 32)
    assert ivf.kind == "ivf" and ivf.nlist == int(4 * 300_000**0.5) and ivf.trained_on == 300_000
    assert layout_for(120_000, ivf, 200_000, 32) == ivf  # above half the limit: stays IVF
    assert layout_for(90_000, ivf, 200_000, 32) == FLAT
    assert layout_for(1_300_000, ivf, 200_000, 32).trained_on == 1_300_000  # grown 4x: retrained
    assert layout_for(300_000, ivf, 200_000, 8) == replace(ivf, nprobe=8)


def random_index(folder: Path, count: int, dimension: int = 384, exact_limit: int = 1000) -> Vectors:
    """An index of `count` random unit vectors and placeholder chunks, saved to `folder`."""
    rng = np.random.default_rng(1)
    ids = np.arange(count, dtype="int64") * 2 + 5  # gaps, as left by deleted articles
    vectors = Vectors.empty(dimension)
    for batch in np.array_split(ids, 4):
        x = rng.standard_normal((len(batch), dimension)).astype("float32")
        vectors.add_with_ids(x / np.linalg.norm(x, axis=1, keepdims=True), batch)
    vectors = vectors.fitted(ids, exact_limit, 16)
    chunks = {int(i): Chunk(int(i), "x.txt", None, 0, 1, "x", (Span(0, 1),)) for i in ids}
    settings = IndexSettings("all-MiniLM-L6-v2", dimension, 450, 1)
    sentences = SentenceVectors.empty(dimension).with_added(
        {int(i): np.ones((1, dimension), dtype="float32") / dimension**0.5 for i in ids}
    )
    StoredIndex(settings, {}, chunks, vectors, int(ids[-1]) + 1, sentences).save(folder)
    return vectors


def resident_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 1e6


def test_a_large_vector_file_loads_without_being_copied_into_memory(tmp_path: Path):
    original = random_index(tmp_path / "index", 60_000)  # ~92 MB of vectors
    assert original.layout.kind == "ivf"
    size_mb = (current_generation(tmp_path / "index") / "dense.faiss").stat().st_size / 1e6
    before = resident_mb()
    index = StoredIndex.load(tmp_path / "index")
    grown = resident_mb() - before
    assert size_mb > 90 and grown < size_mb / 4, (size_mb, grown)

    # Same neighbours as the in-memory index, and an exact vector back for any chunk id.
    query = original.reconstruct_batch(np.array([25], dtype="int64"))
    assert index.vectors.search(query, 3)[1][0][0] == 25
    assert np.allclose(
        index.vectors.reconstruct_batch(np.array([99_995], dtype="int64")),
        original.reconstruct_batch(np.array([99_995], dtype="int64")),
    )
    # Loading for an update reads a private copy; the mapped file is never written to.
    assert StoredIndex.load(tmp_path / "index", mmap=False).vectors.mapped_from is None


def test_a_layout_that_does_not_match_the_file_is_a_clear_error(tmp_path: Path):
    random_index(tmp_path / "index", 500, exact_limit=1000)  # flat
    manifest_path = current_generation(tmp_path / "index") / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["vectors"] = {"kind": "ivf", "nlist": 4, "nprobe": 4, "trained_on": 500}
    manifest_path.write_text(json.dumps(manifest))
    from rag import CorruptIndexError

    with pytest.raises(CorruptIndexError, match="rebuild"):
        StoredIndex.load(tmp_path / "index")
    assert VectorLayout(**manifest["vectors"]).kind == "ivf"
