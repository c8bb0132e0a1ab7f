"""Retrieval at scale: exact (flat) against approximate (HNSW, IVF) FAISS indexes on synthetic
384-d unit vectors, and rag's BM25 on synthetic news chunks.

The vectors are clustered like text embeddings (topics within broader subjects), not uniform
random: uniform random vectors in 384-d have no near neighbours and make every index look bad.
Each index is timed one query at a time, as a question is asked, with 1 and with 2 FAISS
threads; recall@10 is measured against the flat index's exact answer.

    .venv/bin/python benchmarks/bench_retrieval.py                       # 100k vectors (~3 min)
    .venv/bin/python benchmarks/bench_retrieval.py --sizes 100k,1M       # the goal size (~25 min)
    .venv/bin/python benchmarks/bench_retrieval.py --sizes 20k --queries 100 --bm25-size 5000
    .venv/bin/python benchmarks/bench_retrieval.py --only-filters     # source/date filters at 1M chunks (~30 s)
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import Callable

import numpy as np
from common import header, news_sentence, peak_rss_mb, percentile, show, sizes

DIM = 384


def clustered(n: int, seed: int, topics: int, subjects: int = 50, spread: float = 0.05) -> np.ndarray:
    """Unit vectors around `topics` centres, which themselves sit around `subjects` centres."""
    rng = np.random.default_rng(12345)  # the same topics for the corpus and the queries
    subject = rng.standard_normal((subjects, DIM), dtype=np.float32)
    subject /= np.linalg.norm(subject, axis=1, keepdims=True)
    centre = subject[rng.integers(0, subjects, topics)] + rng.normal(0, 0.06, (topics, DIM)).astype("float32")
    centre /= np.linalg.norm(centre, axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), dtype="float32")
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        block = centre[rng.integers(0, topics, m)] + spread * rng.standard_normal((m, DIM), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        out[start : start + m] = block
    return out


def latencies(search: Callable[[np.ndarray], object], queries: np.ndarray) -> list[float]:
    search(queries[:1])  # warm-up
    times = []
    for i in range(len(queries)):
        clock = time.perf_counter()
        search(queries[i : i + 1])
        times.append(time.perf_counter() - clock)
    return times


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(f[:k]) & set(t)) / k for f, t in zip(found, truth, strict=True)]))


def bench_vectors(n: int, args: argparse.Namespace) -> list[list[object]]:
    import faiss

    k = args.k
    topics = max(100, n // args.per_topic)
    clock = time.perf_counter()
    base = clustered(n, seed=1, topics=topics, spread=args.spread)
    queries = clustered(args.queries, seed=2, topics=topics, spread=args.spread)
    print(f"  {n:,} vectors, {topics:,} topics, generated in {time.perf_counter() - clock:.1f} s", flush=True)
    rows: list[list[object]] = []

    def measure(name: str, setting: str, index: object, build_s: float, size_mb: float) -> None:
        faiss.omp_set_num_threads(max(args.threads))
        _, found = index.search(queries, k)  # type: ignore[attr-defined]
        r = recall(found, truth)
        for threads in args.threads:
            faiss.omp_set_num_threads(threads)
            times = latencies(lambda q: index.search(q, k), queries)  # type: ignore[attr-defined]
            rows.append(
                [
                    n,
                    name,
                    setting,
                    threads,
                    build_s,
                    size_mb,
                    1000 * percentile(times, 50),
                    1000 * percentile(times, 99),
                    r,
                ]
            )
        print(f"  {name} {setting}: recall@{k} {r:.3f}", flush=True)

    faiss.omp_set_num_threads(max(args.threads))
    clock = time.perf_counter()
    flat = faiss.IndexFlatIP(DIM)
    flat.add(base)
    flat_s = time.perf_counter() - clock
    _, truth = flat.search(queries, k)
    measure("flat (exact)", "–", flat, flat_s, n * DIM * 4 / 2**20)

    if "ivf" in args.kinds:
        nlist = args.nlist or int(4 * math.sqrt(n))
        faiss.omp_set_num_threads(max(args.threads))
        clock = time.perf_counter()
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist, faiss.METRIC_INNER_PRODUCT)
        train = base[np.random.default_rng(3).choice(n, min(n, 50 * nlist), replace=False)]
        ivf.train(train)
        ivf.add(base)
        ivf_s = time.perf_counter() - clock
        for nprobe in args.nprobe:
            ivf.nprobe = nprobe
            measure("IVFFlat", f"nlist={nlist} nprobe={nprobe}", ivf, ivf_s, n * (DIM * 4 + 8) / 2**20)
        del ivf

    if "hnsw" in args.kinds and n <= args.hnsw_max:
        faiss.omp_set_num_threads(max(args.threads))
        clock = time.perf_counter()
        hnsw = faiss.IndexHNSWFlat(DIM, args.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = args.ef_construction
        hnsw.add(base)
        hnsw_s = time.perf_counter() - clock
        size = n * (DIM * 4 + args.hnsw_m * 2 * 4 * 1.1) / 2**20  # vectors + level-0 links (+ upper levels)
        for ef in args.ef_search:
            hnsw.hnsw.efSearch = ef
            measure("HNSWFlat", f"M={args.hnsw_m} efC={args.ef_construction} efSearch={ef}", hnsw, hnsw_s, size)
        del hnsw
    return rows


def bench_bm25(n: int, queries: int) -> list[list[object]]:
    """rag.index.keyword.KeywordIndex on n synthetic chunks of three news sentences, split into its parts."""
    from rag.index.keyword import KeywordIndex
    from rag.text import terms
    from rag.types import Chunk

    rng = random.Random(0)
    clock = time.perf_counter()
    chunks = []
    for i in range(n):
        text = " ".join(news_sentence(rng) for _ in range(3))
        chunks.append(Chunk(i, f"{i // 5:07d}.txt", None, 0, len(text), text, ()))
    made = time.perf_counter() - clock
    clock = time.perf_counter()
    index = KeywordIndex.build(chunks)
    build = time.perf_counter() - clock
    asked = [news_sentence(rng).rstrip(".") + "?" for _ in range(queries)]

    total = latencies(lambda q: index.search(str(q[0]), 30), np.array(asked, dtype=object))
    scoring, ranking, partition = [], [], []
    for question in asked:
        clock = time.perf_counter()
        scores = index._bm25.get_scores(terms(question))
        scoring.append(time.perf_counter() - clock)
        clock = time.perf_counter()
        np.argsort(-scores, kind="stable")[:30]
        ranking.append(time.perf_counter() - clock)
        clock = time.perf_counter()
        top = np.argpartition(-scores, 30)[:30] if len(scores) > 30 else np.arange(len(scores))
        top[np.argsort(-scores[top], kind="stable")]
        partition.append(time.perf_counter() - clock)
    print(f"  BM25 over {n:,} chunks: texts made in {made:.1f} s, index built in {build:.1f} s", flush=True)
    return [
        [
            n,
            "KeywordIndex.search (as rag calls it, k=30)",
            build,
            1000 * percentile(total, 50),
            1000 * percentile(total, 99),
        ],
        [n, "  of which bm25s get_scores", None, 1000 * percentile(scoring, 50), 1000 * percentile(scoring, 99)],
        [
            n,
            "  of which full np.argsort of all scores",
            None,
            1000 * percentile(ranking, 50),
            1000 * percentile(ranking, 99),
        ],
        [
            n,
            "  alternative: argpartition top 30, then sort",
            None,
            1000 * percentile(partition, 50),
            1000 * percentile(partition, 99),
        ],
    ]


def bench_filters(n: int, queries: int, per_article: int = 14) -> list[list[object]]:
    """rag.search.retrieve.admitted_chunks: the chunk ids a filter admits, for n chunks in articles of
    `per_article` chunks dated over one year, the ids FAISS and BM25 are then restricted to."""
    from rag.index.store import DocumentRecord
    from rag.search.retrieve import Filters, admitted_chunks
    from rag.types import Chunk

    documents = {}
    for a in range(math.ceil(n / per_article)):
        source = f"{a:07d}.txt"
        ids = tuple(range(a * per_article, min((a + 1) * per_article, n)))
        documents[source] = DocumentRecord(source, "", f"2023-{1 + a % 12:02d}-{1 + a % 28:02d}", ids)
    sources = list(documents)
    cases = {
        "one named article": lambda i: Filters(sources=(sources[i * 7919 % len(sources)],)),
        "one month (date range)": lambda i: Filters(
            date_from=f"2023-{1 + i % 12:02d}-01", date_to=f"2023-{1 + i % 12:02d}-28"
        ),
    }
    chunks = [Chunk(i, d.source, d.date, 0, 0, "", ()) for d in documents.values() for i in d.chunk_ids]
    ways = {
        "article by article (rag)": lambda filters: admitted_chunks(documents, filters),
        # The baseline: what rag did before, and what any filter over chunk metadata alone costs.
        "a pass over every chunk": lambda filters: [c.id for c in chunks if filters.admits(c)],
    }
    rows: list[list[object]] = []
    for name, make in cases.items():
        for way, admit in ways.items():
            times, admitted = [], 0
            for i in range(queries):
                filters = make(i)
                clock = time.perf_counter()
                admitted = len(admit(filters))
                times.append(time.perf_counter() - clock)
            rows.append([n, name, way, admitted, percentile(times, 50) * 1e3, percentile(times, 99) * 1e3])
    return rows


def rag_choice(n: int) -> str:
    """What rag itself would build for n vectors: `rag.index.store.layout_for` when the installed rag has
    it, else the configured limit, else flat."""
    from rag import Config
    from rag.index import store

    config = Config()
    limit = getattr(config, "exact_index_limit", None)
    if limit is None:
        return "flat (rag has no approximate index)"
    layout_for = getattr(store, "layout_for", None)
    if layout_for is not None:
        layout = layout_for(n, store.FLAT, limit, config.ivf_nprobe)
        if layout.kind == "flat":
            return f"flat (rag.index.store.layout_for; n ≤ exact_index_limit {limit:,})"
        return f"{layout.kind}, nlist={layout.nlist} nprobe={layout.nprobe} (rag.index.store.layout_for)"
    if n <= limit:
        return f"flat (n ≤ exact_index_limit {limit:,})"
    return f"IVF, nprobe={getattr(config, 'ivf_nprobe', '?')} (n > exact_index_limit {limit:,})"


def bench_search(args: argparse.Namespace) -> None:
    rows: list[list[object]] = []
    for n in args.sizes:
        rows += bench_vectors(n, args)
    show(
        ["vectors", "index", "setting", "threads", "build s", "size MB", "p50 ms", "p99 ms", f"recall@{args.k}"],
        rows,
        "Dense search, one query at a time",
    )
    show(["vectors", "rag would build"], [[n, rag_choice(n)] for n in args.sizes], "rag's own choice")

    bm25_rows: list[list[object]] = []
    for n in args.bm25_size:
        if n:
            bm25_rows += bench_bm25(n, min(args.queries, 200))
    if bm25_rows:
        show(["chunks", "step", "build s", "p50 ms", "p99 ms"], bm25_rows, "BM25 keyword search, one query at a time")


def main() -> None:
    ints = lambda s: [int(x) for x in s.split(",")]  # noqa: E731
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=sizes, default=sizes("100k"), help="vector counts, e.g. 100k,1M")
    parser.add_argument("--queries", type=int, default=500, help="queries timed one by one")
    parser.add_argument("--k", type=int, default=10, help="neighbours per query (recall@k)")
    parser.add_argument("--threads", type=ints, default=[1, 2], help="FAISS thread counts to time")
    parser.add_argument("--kinds", default="ivf,hnsw", help="approximate indexes to build: ivf,hnsw")
    parser.add_argument("--per-topic", type=int, default=200, help="vectors per synthetic topic")
    parser.add_argument("--spread", type=float, default=0.05, help="noise around a topic (larger: harder)")
    parser.add_argument("--nlist", type=int, default=0, help="IVF lists (default 4*sqrt(n))")
    parser.add_argument("--nprobe", type=ints, default=[8, 16, 32, 64], help="IVF lists searched")
    parser.add_argument("--hnsw-m", type=int, default=32, help="HNSW links per node")
    parser.add_argument("--ef-construction", type=int, default=40, help="HNSW build beam")
    parser.add_argument("--ef-search", type=ints, default=[16, 32, 64, 128], help="HNSW search beams")
    parser.add_argument("--hnsw-max", type=int, default=2_000_000, help="skip HNSW above this many vectors")
    parser.add_argument("--bm25-size", type=sizes, default=sizes("100k"), help="BM25 corpus sizes (0 to skip)")
    parser.add_argument("--filter-size", type=sizes, default=sizes("1M"), help="chunks to filter (0 to skip)")
    parser.add_argument("--only-filters", action="store_true", help="time only the filters (fast)")
    args = parser.parse_args()

    header(
        "Retrieval benchmark",
        {
            "sizes": ",".join(map(str, args.sizes)),
            "queries": args.queries,
            "k": args.k,
            "threads": ",".join(map(str, args.threads)),
            "spread": args.spread,
        },
    )
    if not args.only_filters:
        bench_search(args)
    filter_rows = [row for n in args.filter_size if n for row in bench_filters(n, min(args.queries, 50))]
    if filter_rows:
        headers = ["chunks", "filter", "found", "chunks admitted", "p50 ms", "p99 ms"]
        show(headers, filter_rows, "Chunks a filter admits")
    print(f"Peak RSS of the whole run: {peak_rss_mb():,.0f} MB. Goal: p50 ≤ 10 ms at 1M with recall@10 ≥ 0.95.")


if __name__ == "__main__":
    main()
