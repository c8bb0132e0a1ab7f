"""The saved index's own files: a damaged CURRENT pointer or manifest."""

from __future__ import annotations

import json

import pytest

from rag import Config, CorruptIndexError, build_index
from rag.embed import Embedder
from rag.store import StoredIndex, current_generation


@pytest.mark.parametrize(
    "pointer",
    [b"\xff\xfegen-000001\n", b"../seeds", b"/etc", b"", b"gen-000001/../../seeds", "gen-٠٠١".encode()],
    ids=["not-utf8", "parent-folder", "absolute", "empty", "traversal-after-a-name", "non-ascii-digits"],
)
def test_a_damaged_current_pointer_is_a_corrupt_index_and_indexing_rebuilds(
    corpus: Config, embedder: Embedder, pointer: bytes
):
    first = build_index(corpus, embedder=embedder)
    (corpus.index_dir / "CURRENT").write_bytes(pointer)
    with pytest.raises(CorruptIndexError, match="rag index --rebuild"):
        current_generation(corpus.index_dir)
    with pytest.raises(CorruptIndexError, match="rag index --rebuild"):
        StoredIndex.load(corpus.index_dir)
    report = build_index(corpus, embedder=embedder)
    assert report.rebuilt and report.chunks == first.chunks
    generation = current_generation(corpus.index_dir)
    assert generation.parent == corpus.index_dir and generation.name.startswith("gen-")
    assert len(StoredIndex.load(corpus.index_dir).documents) == 2


@pytest.mark.parametrize("damage", ["a-list", "sizes-a-list", "no-next-id"])
def test_a_manifest_of_the_wrong_shape_is_a_corrupt_index(corpus: Config, embedder: Embedder, damage: str):
    build_index(corpus, embedder=embedder)
    path = current_generation(corpus.index_dir) / "manifest.json"
    manifest = json.loads(path.read_text())
    if damage == "a-list":
        manifest = [manifest]
    elif damage == "sizes-a-list":
        manifest["sizes"] = list(manifest["sizes"].items())
    else:
        del manifest["next_id"]
    path.write_text(json.dumps(manifest))
    with pytest.raises(CorruptIndexError, match="rag index --rebuild"):
        StoredIndex.load(corpus.index_dir)
    assert build_index(corpus, embedder=embedder).rebuilt
