"""Ingest benchmark: chunks per second for each stage of indexing a synthetic news corpus.

For each corpus size (in chunks) it generates news-like articles from templates (nothing is
downloaded), writes them to a scratch folder, and times each stage separately with rag's own code:
load (read + hash), chunk (sentencex sentences -> windows), embed (the configured embedder, several batch
sizes), FAISS add (the IndexIDMap2(IndexFlatIP) rag uses, and an HNSW graph for comparison), the BM25
index (built at every save, memory-mapped at start), and writing a generation to disk. Sizes up to
--end-to-end-max are also indexed for real by `rag.index.ingest.update_index`, start to finish.

Embedding costs the same per chunk at any corpus size, so it is measured on the first --embed-limit
chunks; the vectors of the remaining chunks (for FAISS add and save) are those sample vectors with
a little noise, re-normalised.

    .venv/bin/python benchmarks/bench_ingest.py                          # 10k and 100k chunks
    .venv/bin/python benchmarks/bench_ingest.py --sizes 500 --embed-limit 300 --batch-sizes 32,64
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from common import header, news_articles, peak_rss_mb, show, sizes


def write_corpus(folder: Path, target_chunks: int, chunk_chars: int, overlap: int) -> tuple[int, float]:
    """Write articles until chunking them would give about `target_chunks` chunks."""
    from rag.index.chunk import chunk_article
    from rag.index.plain import parse_article

    folder.mkdir(parents=True, exist_ok=True)
    clock = time.perf_counter()
    probe = [text for _, text in news_articles(50, seed=1)]
    per_article = sum(
        len(chunk_article(parse_article("p.txt", t.encode()), chunk_chars, overlap)) for t in probe
    ) / len(probe)
    count = max(1, round(target_chunks / per_article))
    for name, text in news_articles(count):
        (folder / name).write_text(text, encoding="utf-8")
    return count, time.perf_counter() - clock


def noisy_copies(sample: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = sample[rng.integers(0, len(sample), n)] + rng.normal(0, 0.05, (n, sample.shape[1])).astype("float32")
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return np.ascontiguousarray(rows, dtype="float32")


def bench_size(target: int, args: argparse.Namespace, scratch: Path) -> tuple[list[list[object]], list[list[object]]]:
    import faiss

    from rag import Config
    from rag.index.chunk import chunk_article
    from rag.index.embed import Embedder
    from rag.index.ingest import settings_for, update_index
    from rag.index.keyword import KeywordIndex
    from rag.index.load import load_articles
    from rag.index.store import DocumentRecord, StoredIndex

    corpus = scratch / f"corpus-{target}"
    config = Config.from_env(corpus_dir=corpus, index_dir=scratch / f"index-{target}")  # RAG_EMBEDDER picks the model
    settings = settings_for(config)
    n_articles, gen_s = write_corpus(corpus, target, settings.chunk_chars, settings.chunk_overlap)
    rows: list[list[object]] = []

    def row(stage: str, n: int, seconds: float) -> None:
        rows.append([target, stage, n, seconds, n / seconds if seconds else None])

    clock = time.perf_counter()
    articles, _ = load_articles(corpus)
    row("load (read, decode, sha256)", len(articles), time.perf_counter() - clock)

    clock = time.perf_counter()
    chunks = []
    documents = {}
    for article in articles:
        pieces = chunk_article(article, settings.chunk_chars, settings.chunk_overlap, len(chunks))
        chunks.extend(pieces)
        documents[article.source] = DocumentRecord(
            article.source, article.sha256, article.date, tuple(c.id for c in pieces)
        )
    chunk_s = time.perf_counter() - clock
    row("chunk (sentencex sentences, windows)", len(chunks), chunk_s)
    sample = chunks[: args.embed_limit]
    embed_rows: list[list[object]] = []
    vectors = None
    sentence_vectors: dict[int, np.ndarray] = {}
    for batch in args.batch_sizes:
        embedder = Embedder.from_config(config, batch_size=batch)
        embedder.embed_chunks(sample[:batch])  # warm-up: first call allocates
        clock = time.perf_counter()
        # As ingest does: chunk vectors, and sentence vectors pooled from the same pass.
        vectors, sentence_vectors = embedder.embed_chunks(sample)
        seconds = time.perf_counter() - clock
        embed_rows.append([target, batch, len(sample), seconds, len(sample) / seconds])
    if vectors is None:
        raise SystemExit("--batch-sizes is empty")
    best = max(embed_rows, key=lambda r: float(r[4]))  # type: ignore[arg-type]
    row(f"embed (batch {best[1]}, best; {len(sample):,}-chunk sample)", len(sample), float(best[3]))
    if len(chunks) > len(sample):
        vectors = np.concatenate([vectors, noisy_copies(vectors, len(chunks) - len(sample))])
    for chunk, vector in zip(chunks[len(sample) :], vectors[len(sample) :], strict=True):
        sentence_vectors[chunk.id] = np.repeat(vector[None, :], len(chunk.sentences), axis=0)
    ids = np.arange(len(chunks), dtype="int64")

    flat = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
    clock = time.perf_counter()
    flat.add_with_ids(vectors, ids)
    row("FAISS add, IndexIDMap2(FlatIP) as rag uses", len(chunks), time.perf_counter() - clock)

    if len(chunks) <= args.hnsw_max:
        hnsw = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 40
        clock = time.perf_counter()
        hnsw.add(vectors)
        row("FAISS add, HNSWFlat M=32 efC=40", len(chunks), time.perf_counter() - clock)
        del hnsw

    clock = time.perf_counter()
    KeywordIndex.build(chunks)
    row("BM25 index (rag.index.keyword, built at every save)", len(chunks), time.perf_counter() - clock)

    from rag.index import store

    # rag.index.store wraps the FAISS index in `Vectors` since the index type follows the corpus size.
    sentences = store.SentenceVectors.empty(vectors.shape[1]).with_added(sentence_vectors)
    stored = StoredIndex(settings, documents, {c.id: c for c in chunks}, store.Vectors(flat), len(chunks), sentences)
    clock = time.perf_counter()
    stored.save(scratch / f"saved-{target}")
    row("save a generation (jsonl, faiss, sentence vectors, fsync)", len(chunks), time.perf_counter() - clock)
    clock = time.perf_counter()
    StoredIndex.load(scratch / f"saved-{target}")
    row("load the saved index", len(chunks), time.perf_counter() - clock)
    shutil.rmtree(scratch / f"saved-{target}", ignore_errors=True)

    # Seconds per chunk of each stage an ingest runs (the HNSW add and the reload are not part of it).
    per_chunk = sum(
        float(r[3]) / (len(sample) if str(r[1]).startswith("embed") else len(chunks))
        for r in rows
        if not str(r[1]).startswith(("FAISS add, HNSW", "load the"))
    )
    rows.append([target, "projected ingest (sum of the stages above, flat index)", len(chunks), None, 1 / per_chunk])

    if len(chunks) <= args.end_to_end_max:
        shutil.rmtree(config.index_dir, ignore_errors=True)
        embedder = Embedder.from_config(config, batch_size=int(best[1]))
        clock = time.perf_counter()
        _, report = update_index(config, embedder=embedder)
        row("rag.index.ingest.update_index, start to finish", report.chunks, time.perf_counter() - clock)
    rows.insert(0, [target, f"generate {n_articles:,} articles (not part of ingest)", n_articles, gen_s, None])
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(config.index_dir, ignore_errors=True)
    return rows, embed_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=sizes, default=sizes("10k,100k"), help="corpus sizes in chunks")
    parser.add_argument(
        "--batch-sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[8, 32, 64],
        help="embedding batch sizes to compare",
    )
    parser.add_argument("--embed-limit", type=int, default=5000, help="chunks embedded for real per size")
    parser.add_argument("--hnsw-max", type=int, default=200_000, help="skip the HNSW add above this many chunks")
    parser.add_argument(
        "--end-to-end-max", type=int, default=10_000, help="run update_index for real up to this many chunks"
    )
    parser.add_argument("--torch-threads", type=int, default=None, help="torch threads (default: torch's own)")
    args = parser.parse_args()
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    import torch

    header(
        "Ingest benchmark",
        {
            "sizes": ",".join(map(str, args.sizes)),
            "batch sizes": ",".join(map(str, args.batch_sizes)),
            "embed limit": args.embed_limit,
            "torch threads": torch.get_num_threads(),
        },
    )
    stage_rows: list[list[object]] = []
    embed_rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        for target in args.sizes:
            stages, embeds = bench_size(target, args, Path(tmp))
            stage_rows += stages
            embed_rows += embeds
    show(["corpus (chunks)", "stage", "items", "seconds", "items/s"], stage_rows, "Ingest stages")
    show(["corpus (chunks)", "batch size", "chunks", "seconds", "chunks/s"], embed_rows, "Embedding batch size")
    print(f"Peak RSS of the whole run: {peak_rss_mb():,.0f} MB. Goal: ingest ≥ 200 chunks/s.")


if __name__ == "__main__":
    main()
