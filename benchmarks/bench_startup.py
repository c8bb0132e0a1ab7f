"""Start-up benchmark: what a fresh process pays before its first answer, stage by stage, with its memory.

Each run is a new Python process (nothing cached in memory; the operating system's file cache is warm after the
first run, as it is on a machine that serves): import rag, load the index (manifest, chunks, vectors, sentence
vectors), open the BM25 index, load the embedder, then load the model and answer one question cold (nothing in
the KV cache).

    .venv/bin/python benchmarks/bench_startup.py                                   # the seed index in index/
    .venv/bin/python benchmarks/bench_startup.py --index-dir /tmp/rn-index         # a realnews index
    .venv/bin/python benchmarks/bench_startup.py --corpus ../shared/realnews/articles --index-dir /tmp/rn-index
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path

from common import header, peak_rss_mb, rss_mb, show


def worker(index_dir: Path | None, question: str, answer: bool) -> None:
    clock = time.perf_counter()
    times: dict[str, float] = {}
    memory: dict[str, float] = {}

    def mark(stage: str) -> None:
        nonlocal clock
        times[stage] = time.perf_counter() - clock
        memory[stage] = rss_mb()
        clock = time.perf_counter()

    import rag
    from rag.index.ingest import settings_for
    from rag.index.store import StoredIndex

    mark("import rag")
    config = rag.Config.from_env(index_dir=index_dir)
    # The parts of opening an index, one by one; then thrown away, and the whole measured as an Assistant opens it.
    index = StoredIndex.load(config.index_dir, expect=settings_for(config), verify_bytes=config.verify_on_load_bytes)
    chunks = len(index)
    mark("  of which: load the index (manifest, chunks, vectors, checksums)")
    saved = type(index.keyword.ids).__name__ == "memmap"
    mark("  of which: open the BM25 index")
    del index
    gc.collect()
    clock = time.perf_counter()
    assistant = rag.Assistant(config, update=False)
    mark("Assistant(config): index, BM25 index, embedder")
    if answer:
        assistant.generator  # noqa: B018 - loading the model is the stage measured
        mark("load the model")
        assistant.ask(question)
        mark("first answer, cold (nothing in the KV cache)")
    print(json.dumps({"times": times, "rss": memory, "peak": peak_rss_mb(), "chunks": chunks, "saved_keyword": saved}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, default=None, help="index folder (default: index/)")
    parser.add_argument("--corpus", type=Path, default=None, help="index this folder or file into --index-dir first")
    parser.add_argument("--runs", type=int, default=3, help="fresh processes; the table shows the median")
    parser.add_argument("--question", default="Which countries had troops in Niger?", help="the first question")
    parser.add_argument("--no-answer", action="store_true", help="stop before loading the model")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.index_dir, args.question, not args.no_answer)
        return
    header("Start-up benchmark", {"index": args.index_dir or "index/", "runs": args.runs})
    if args.corpus:
        from rag import Config, build_index

        build_index(Config.from_env(corpus_dir=args.corpus, index_dir=args.index_dir))
    runs = []
    for _ in range(args.runs):
        command = [sys.executable, __file__, "--worker", "--question", args.question]
        command += ["--index-dir", str(args.index_dir)] if args.index_dir else []
        command += ["--no-answer"] if args.no_answer else []
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(output.strip().splitlines()[-1]))
    rows = []
    for stage in runs[0]["times"]:
        seconds = sorted(r["times"][stage] for r in runs)[len(runs) // 2]
        rss = sorted(r["rss"][stage] for r in runs)[len(runs) // 2]
        rows.append([stage, seconds, rss])
    rows.append(["from start to the first answer", sum(r[1] for r in rows if not r[0].startswith(" ")), None])
    first = runs[0]
    title = (
        f"Start-up, median of {len(runs)} fresh processes: {first['chunks']:,} chunks, BM25 "
        f"{'saved and memory-mapped' if first['saved_keyword'] else 'built from the chunks'}"
    )
    show(["stage", "seconds", "RSS after (MB)"], rows, title)
    print(f"Peak RSS (median): {sorted(r['peak'] for r in runs)[len(runs) // 2]:,.0f} MB")


if __name__ == "__main__":
    main()
