"""The saved index's own files: a damaged CURRENT pointer or manifest, a disk that fills up while
an index is written, bytes changed on disk, and `rag index --check`."""

from __future__ import annotations

import builtins
import errno
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner, Result

import rag.index.store
from rag import Config, CorruptIndexError, IndexWriteError, build_index
from rag.app.cli import app
from rag.index.embed import Embedder
from rag.index.store import StoredIndex, check_index, current_generation

from .conftest import ROOT


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


class FullDisk:
    """`open` for rag.index.store on a disk with `room` bytes free: the write that does not fit writes
    what does, then fails with ENOSPC, as on a real full disk."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.failed_in = ""

    def __call__(self, path: Path, mode: str = "r", **kwargs: Any) -> Any:
        handle = builtins.open(path, mode, **kwargs)  # noqa: SIM115 (the caller closes it, as it would its own)
        return handle if "r" in mode else _OnFullDisk(handle, self, Path(path).name)


class _OnFullDisk:
    def __init__(self, handle: Any, disk: FullDisk, name: str) -> None:
        self.handle, self.disk, self.name = handle, disk, name

    def write(self, data: str | bytes) -> int:
        if len(data) > self.disk.room:
            self.handle.write(data[: self.disk.room])
            self.disk.room, self.disk.failed_in = 0, self.name
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.handle.name)
        self.disk.room -= len(data)
        return self.handle.write(data)

    def __enter__(self) -> _OnFullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def index_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("fills_in", ["chunks.jsonl", "dense.faiss", "sentences.npy", "manifest.json"])
def test_a_disk_filling_up_while_indexing_keeps_the_previous_index(
    corpus: Config, embedder: Embedder, monkeypatch: pytest.MonkeyPatch, fills_in: str
):
    build_index(corpus, embedder=embedder)
    before = index_files(corpus.index_dir)
    sizes = {
        name: len(before[f"{current_generation(corpus.index_dir).name}/{name}"]) for name in rag.index.store._FILES
    }
    # A rebuild writes files of the same sizes: the disk fills halfway through `fills_in`.
    order = ["chunks.jsonl", "dense.faiss", "sentences.npy", "manifest.json"]
    disk = FullDisk(sum(sizes[n] for n in order[: order.index(fills_in)]) + sizes[fills_in] // 2)
    monkeypatch.setattr(rag.index.store, "open", disk, raising=False)
    with pytest.raises(IndexWriteError) as raised:
        build_index(corpus, rebuild=True, embedder=embedder)
    monkeypatch.undo()
    message = str(raised.value)
    assert disk.failed_in == fills_in
    assert f"could not write the index in {corpus.index_dir}" in message and "No space left on device" in message
    assert "needs about 0.1 MB" in message and "the previous index is kept" in message
    assert not list(corpus.index_dir.glob(".staging-*")) and not (corpus.index_dir / "CURRENT.tmp").exists()
    assert index_files(corpus.index_dir) == before
    assert len(StoredIndex.load(corpus.index_dir).documents) == 2


def test_a_disk_full_before_the_first_index_leaves_nothing_behind(
    corpus: Config, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(rag.index.store, "open", FullDisk(0), raising=False)
    with pytest.raises(IndexWriteError, match="no index was written"):
        build_index(corpus, embedder=embedder)
    assert {p.name for p in corpus.index_dir.iterdir()} == {".lock"}


def test_rag_index_on_a_full_disk_says_so_and_keeps_the_previous_index(corpus: Config, embedder: Embedder):
    build_index(corpus, embedder=embedder)
    before = index_files(corpus.index_dir)
    limit = max(len(data) for name, data in before.items() if name.endswith(("chunks.jsonl", "manifest.json")))

    def small_files() -> None:
        # The kernel refuses to grow any file past `limit` (EFBIG) instead of killing the process.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    command = [sys.executable, "-m", "rag", "index", str(corpus.corpus_dir), "--index-dir", str(corpus.index_dir)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [*command, "--rebuild"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600, preexec_fn=small_files
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "File too large" in result.stderr
    assert "error: could not write the index in" in result.stderr and "the previous index is kept" in result.stderr
    assert index_files(corpus.index_dir) == before


def damage_in_place(path: Path) -> None:
    """Change one byte of the file, keeping its size and, for chunks.jsonl, valid JSON."""
    data = bytearray(path.read_bytes())
    at = data.index(b"troops") if path.suffix == ".jsonl" else len(data) // 2
    data[at] ^= 0x01  # "troops" -> "uroops"; a vector component a little off
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["dense.faiss", "sentences.npy", "chunks.jsonl"])
def test_a_byte_changed_in_an_index_file_is_a_corrupt_index_on_load(corpus: Config, embedder: Embedder, name: str):
    build_index(corpus, embedder=embedder)
    damage_in_place(current_generation(corpus.index_dir) / name)
    with pytest.raises(CorruptIndexError, match=f"{name} does not match its sha256 checksum.*rag index --rebuild"):
        StoredIndex.load(corpus.index_dir)
    # Above the size limit only sizes are checked on load, so the damage goes unseen there, but a
    # full check verifies every file whatever its size.
    assert StoredIndex.load(corpus.index_dir, verify_bytes=0)
    with pytest.raises(CorruptIndexError, match=f"{name} does not match its sha256 checksum"):
        check_index(corpus.index_dir)
    damaged = index_files(corpus.index_dir)
    result = rag_index_check(corpus.index_dir)
    assert result.exit_code == 2 and f"{name} does not match its sha256 checksum" in result.stderr
    assert "rag index --rebuild" in result.stderr and index_files(corpus.index_dir) == damaged
    report = build_index(corpus, embedder=embedder)
    assert report.rebuilt and StoredIndex.load(corpus.index_dir).vectors.ntotal == report.chunks


def test_an_index_from_before_checksums_still_loads(corpus: Config, embedder: Embedder):
    build_index(corpus, embedder=embedder)
    path = current_generation(corpus.index_dir) / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["sha256"]
    path.write_text(json.dumps(manifest))
    assert len(StoredIndex.load(corpus.index_dir).documents) == 2
    assert not any(f.checksummed for f in check_index(corpus.index_dir).files)
    result = rag_index_check(corpus.index_dir)
    files = len(check_index(corpus.index_dir).files)
    assert result.exit_code == 0 and result.stdout.count("size matches") == files
    assert "only sizes were checked" in result.stderr
    assert not build_index(corpus, embedder=embedder).changed


def test_a_full_check_of_a_sound_index_verifies_every_file(corpus: Config, embedder: Embedder):
    report = build_index(corpus, embedder=embedder)
    check = check_index(corpus.index_dir)
    assert check.generation == current_generation(corpus.index_dir)
    names = [f.name for f in check.files]
    assert names[:4] == ["chunks.jsonl", "dense.faiss", "sentences.npy", "texts.jsonl"]
    assert {"keyword/ids.npy", "keyword/vocab.index.json"} <= set(names[4:])  # the saved BM25 index
    assert all(f.checksummed for f in check.files) and (check.documents, check.chunks) == (2, report.chunks)
    before = index_files(corpus.index_dir)
    result = rag_index_check(corpus.index_dir)
    assert result.exit_code == 0 and result.stdout.count("sha256 matches") == len(names), result.output
    assert f"{check.generation}: manifest and {len(names)} files" in result.stdout and "verified in" in result.stdout
    assert f"{report.chunks} chunks of 2 articles load" in result.stdout and not result.stderr
    assert index_files(corpus.index_dir) == before


def test_rag_index_check_without_an_index_says_how_to_build_one(tmp_path: Path):
    result = rag_index_check(tmp_path / "index")
    assert result.exit_code == 2 and "rag index FOLDER" in result.stderr
    assert not (tmp_path / "index").exists()


def rag_index_check(index_dir: Path) -> Result:
    return CliRunner().invoke(app, ["index", "--check", "--index-dir", str(index_dir)])


def test_the_keyword_index_is_saved_and_an_index_saved_before_it_existed_builds_it(corpus: Config, embedder: Embedder):
    import shutil

    build_index(corpus, embedder=embedder)
    saved = StoredIndex.load(corpus.index_dir).keyword
    assert saved.search("troops Niger", 3) and isinstance(saved.ids, np.memmap)

    generation = current_generation(corpus.index_dir)
    path = generation / "manifest.json"
    manifest = json.loads(path.read_text())
    for key in ("sizes", "sha256"):
        manifest[key] = {
            k: v for k, v in manifest[key].items() if k in ("chunks.jsonl", "dense.faiss", "sentences.npy")
        }
    path.write_text(json.dumps(manifest))
    shutil.rmtree(generation / "keyword")
    (generation / "texts.jsonl").unlink()
    built = StoredIndex.load(corpus.index_dir).keyword
    assert built.search("troops Niger", 3) == saved.search("troops Niger", 3)


def test_a_manifest_that_lists_a_path_out_of_its_generation_is_refused(corpus: Config, embedder: Embedder):
    build_index(corpus, embedder=embedder)
    path = current_generation(corpus.index_dir) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["sizes"]["keyword/../../CURRENT"] = 12
    path.write_text(json.dumps(manifest))
    with pytest.raises(CorruptIndexError, match="not a file of an index"):
        StoredIndex.load(corpus.index_dir)
