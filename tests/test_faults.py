"""Faults: indexing killed mid-way, a damaged large index, a model file with the wrong hash.
Each gives a clear error or a clean retry, and the existing index stays intact.
(A generation server dying mid-stream: tests/test_server_backend.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from rag import Assistant, Config, CorruptIndexError, ModelIntegrityError, build_index
from rag.index.embed import Embedder
from rag.index.store import StoredIndex, current_generation

from .conftest import ROOT
from .test_large_index import synthetic_articles


@pytest.mark.parametrize("moment", ["while-embedding", "while-writing"])
def test_indexing_killed_mid_way_leaves_the_old_index_and_a_rerun_recovers(
    corpus: Config, embedder: Embedder, moment: str
):
    build_index(corpus, embedder=embedder)
    before = StoredIndex.load(corpus.index_dir)
    synthetic_articles(corpus.corpus_dir, 300)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    command = [sys.executable, "-m", "rag", "index", str(corpus.corpus_dir), "--index-dir", str(corpus.index_dir)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, text=True)
    try:
        deadline = time.monotonic() + 120
        line = process.stderr.readline()  # type: ignore[union-attr]
        while line and "embedding" not in line and time.monotonic() < deadline:
            line = process.stderr.readline()  # type: ignore[union-attr]
        if moment == "while-embedding":
            time.sleep(0.3)
        else:
            while process.poll() is None and time.monotonic() < deadline:
                if list(corpus.index_dir.glob(".staging-*")):
                    break
                time.sleep(0.001)
        killed = process.poll() is None
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)

    # Whatever the moment, the index on disk is whole: the old one, or (killed too late) the new one.
    after = StoredIndex.load(corpus.index_dir)
    assert after.vectors.ntotal == len(after.chunks)
    if moment == "while-embedding":
        assert killed and set(after.documents) == set(before.documents)
    assert set(after.documents) in (
        set(before.documents),
        set(before.documents) | {f"local_{n:04d}.txt" for n in range(300)},
    )

    # A re-run finishes the job and clears what the killed run left behind.
    report = build_index(corpus, embedder=embedder)
    assert not report.rebuilt and len(report.added) + report.unchanged == 302
    assert len(StoredIndex.load(corpus.index_dir).documents) == 302
    assert not list(corpus.index_dir.glob(".staging-*")) and len(list(corpus.index_dir.glob("gen-*"))) == 1


def test_a_truncated_large_index_is_a_clear_error_and_reindexing_replaces_it(corpus: Config, embedder: Embedder):
    synthetic_articles(corpus.corpus_dir, 150)
    config = replace(corpus, exact_index_limit=100)
    build_index(config, embedder=embedder)
    path = current_generation(config.index_dir) / "dense.faiss"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CorruptIndexError, match="rag index --rebuild"):
        StoredIndex.load(config.index_dir)
    report = build_index(config, embedder=embedder)
    assert report.rebuilt and StoredIndex.load(config.index_dir).vectors.layout.kind == "ivf"


def test_a_model_file_with_the_wrong_hash_is_refused_and_the_index_is_untouched(corpus: Config, tmp_path: Path):
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    real = ROOT / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    # Same size as the published file, one byte changed: only the sha256 can tell.
    fake = models_dir / real.name
    with open(real, "rb") as source, open(fake, "wb") as target:
        while block := source.read(1 << 24):
            target.write(block)
    with open(fake, "r+b") as target:
        target.seek(1_000_000)
        byte = target.read(1)
        target.seek(1_000_000)
        target.write(bytes([byte[0] ^ 0xFF]))
    config = replace(corpus, models_dir=models_dir, model="qwen2.5-0.5b")
    assistant = Assistant(config, update=True)
    generation = current_generation(config.index_dir)
    with pytest.raises(ModelIntegrityError, match="rag models install qwen2.5-0.5b"):
        assistant.ask("Which countries had troops in Niger?")
    assert current_generation(config.index_dir) == generation
    assert StoredIndex.load(config.index_dir).vectors.ntotal == len(assistant.index.chunks)
