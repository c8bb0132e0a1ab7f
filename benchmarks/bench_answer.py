"""End-to-end answer benchmark: the real pipeline against bare llama-cpp-python on the same prompts.

For each model (each in its own subprocess, so peak RSS is per model) it measures:
  * loading: assistant (embedder, index, BM25), LLM, and the cold first question (nothing in the KV cache);
  * the pipeline, `Assistant.stream(question)`: time to first token, full answer, tokens/s, prompt tokens;
  * bare llama-cpp-python, `Llama.create_chat_completion(stream=True)` on exactly the messages the
    pipeline built for the same question, on the same loaded model: the pipeline's overhead as a ratio;
  * a stage budget per question: embed query, dense search, BM25, best sentences, fusion, MMR, focus,
    prompt build, prefill, decode, verification, as the pipeline itself times them (`Answer.timings`);
  * with --sweep, prefill and decode speed for other thread and batch settings.

    .venv/bin/python benchmarks/bench_answer.py                      # both models, all dev questions
    .venv/bin/python benchmarks/bench_answer.py --model qwen2.5-0.5b --limit 3 --repeat 1
    .venv/bin/python benchmarks/bench_answer.py --model qwen2.5-1.5b --questions ../shared/realnews/questions.jsonl \
        --corpus ../shared/realnews/articles --index-dir /tmp/rn-index --repeat 1     # a real collection
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import header, mean, peak_rss_mb, percentile, rss_mb, show

DEFAULT_QUESTIONS = Path("/work/shared/eval/questions.jsonl")
MODELS = "qwen2.5-1.5b,qwen2.5-0.5b"
# The pipeline's own stage timings (Answer.timings) that the budget shows, by the names it gives them.
STAGES = {
    "retrieve.embed": "embed query",
    "retrieve.filters": "filters",
    "retrieve.dense": "dense search",
    "retrieve.keyword": "BM25",
    "retrieve.sentences": "best sentences",
    "retrieve.fusion": "fusion",
    "retrieve.mmr": "MMR",
    "focus": "focus, evidence pool, prompt build",
}


# --- worker: one model, one process ----------------------------------------------------------------


class Perf:
    """llama.cpp's own counters: prompt-eval (prefill) and eval (decode) tokens and milliseconds."""

    def __init__(self, llm: Any) -> None:
        import llama_cpp

        self._lib = llama_cpp
        self._ctx = llm._ctx.ctx

    def reset(self) -> None:
        self._lib.llama_perf_context_reset(self._ctx)

    def read(self) -> dict[str, float]:
        data = self._lib.llama_perf_context(self._ctx)
        return {
            "prefill_tokens": data.n_p_eval,
            "prefill_ms": data.t_p_eval_ms,
            "decode_tokens": data.n_eval,
            "decode_ms": data.t_eval_ms,
        }


def prompt_tokens(llm: Any, messages: list[dict[str, str]]) -> list[int]:
    """The tokens create_chat_completion evaluates for these messages: the GGUF's chat template,
    rendered and tokenised the way llama-cpp-python's template handler does it."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    eos = llm._model.token_get_text(llm.token_eos())
    bos = llm._model.token_get_text(llm.token_bos()) if llm.token_bos() != -1 else ""
    formatter = Jinja2ChatFormatter(llm.metadata["tokenizer.chat_template"], eos_token=eos, bos_token=bos)
    prompt = formatter(messages=messages).prompt  # type: ignore[arg-type]
    return llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def run_pipeline(assistant: Any, perf: Perf, question: Any) -> dict[str, Any]:
    """One question of a question file (`rag.app.evaluate.Question`), asked on its day."""
    from rag import Answer

    perf.reset()
    start = time.perf_counter()
    first_shown = None
    final = None
    for item in assistant.stream(question.question, asked_on=question.asked_on):
        if first_shown is None:
            first_shown = time.perf_counter() - start
        if isinstance(item, Answer):
            final = item
    total = time.perf_counter() - start
    if final is None:
        raise RuntimeError("the pipeline ended without an Answer")
    t = final.timings
    return {
        "ttft": t["retrieve"] + t["focus"] + t["first_token"] if "first_token" in t else None,
        "first_shown": first_shown,
        "total": total,
        "timings": dict(t),
        "answered": final.answered,
        "text": final.text,
        "draft": final.draft,
        "hit_ids": [h.chunk.id for h in final.passages],
        "messages": list(final.trace.messages),
        **perf.read(),
    }


def run_bare(llm: Any, perf: Perf, messages: list[dict[str, str]], max_tokens: int, temperature: float) -> dict:
    perf.reset()
    start = time.perf_counter()
    first = None
    text = ""
    for piece in llm.create_chat_completion(
        messages=messages, max_tokens=max_tokens, temperature=temperature, stream=True
    ):
        content = piece["choices"][0]["delta"].get("content")
        if content:
            if first is None:
                first = time.perf_counter() - start
            text += content
    total = time.perf_counter() - start
    return {"ttft": first, "total": total, "draft": text, **perf.read()}


def sweep(path: Path, cfg: Any, prompts: list[list[dict[str, str]]], combos: list[tuple[int, int]]) -> list[dict]:
    """Cold prefill (empty KV cache) and decode speed of the whole prompt for other settings."""
    from llama_cpp import Llama

    rows = []
    for threads, batch in combos:
        llm = Llama(
            model_path=str(path),
            n_ctx=cfg.context_tokens,
            n_threads=threads,
            n_threads_batch=threads,
            n_batch=batch,
            n_ubatch=batch,
            verbose=False,
        )
        perf = Perf(llm)
        runs = []
        for messages in prompts:
            llm.reset()
            runs.append(run_bare(llm, perf, messages, cfg.max_answer_tokens, cfg.temperature))
        rows.append({"threads": threads, "n_batch": batch, "runs": runs})
        del llm
    return rows


def worker(args: argparse.Namespace) -> dict[str, Any]:
    from rag import Assistant, Config
    from rag.app.evaluate import is_correct, load_questions
    from rag.generate.catalogue import resolve

    questions = load_questions(args.questions)[: args.limit or None]
    if len(questions) < 2:
        raise SystemExit("need at least 2 questions: one question asked twice in a row is answered from the KV cache")
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    overrides: dict[str, object] = {"model": args.model, "corpus_dir": args.corpus, "index_dir": args.index_dir}
    if args.threads:
        overrides["threads"] = args.threads
    cfg = Config.from_env(**overrides)
    result: dict[str, Any] = {"model": args.model, "threads": cfg.threads, "questions": len(questions)}

    clock = time.perf_counter()
    assistant = Assistant(cfg, update=True)
    result["load_assistant"] = time.perf_counter() - clock
    result["chunks"] = len(assistant.index)
    clock = time.perf_counter()
    llm = assistant.generator._llm  # type: ignore[attr-defined]
    result["load_llm"] = time.perf_counter() - clock
    result["rss_loaded"] = rss_mb()
    perf = Perf(llm)

    # The first question of the process: the fixed prefix is not in the KV cache yet. It is the
    # last question, so the measured passes (which start with the first) never find their whole
    # prompt already cached.
    result["cold"] = run_pipeline(assistant, perf, questions[-1])

    pipeline: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    first: dict[int, dict[str, Any]] = {}  # each question's first pipeline run: the messages bare llama gets
    for r in range(args.repeat):
        # Each phase runs every question in turn, so in both the KV cache holds the previous
        # question's prompt (never this one's); alternating the phase order evens out drift. The
        # first pass is the pipeline's, which builds the messages the bare runs get.
        phases = ("pipeline", "bare") if r % 2 == 0 else ("bare", "pipeline")
        for phase in phases:
            for i, q in enumerate(questions):
                if phase == "pipeline":
                    run = run_pipeline(assistant, perf, q)
                    run["correct"] = is_correct(q, run["text"], run["answered"])
                    first.setdefault(i, run)
                    run["same_retrieval"] = run["hit_ids"] == first[i]["hit_ids"]
                    pipeline.append({"q": i, **run})
                else:
                    run = run_bare(llm, perf, first[i]["messages"], cfg.max_answer_tokens, cfg.temperature)
                    bare.append({"q": i, **run})
    messages = [first[i]["messages"] for i in range(len(questions))]
    tokens = [prompt_tokens(llm, m) for m in messages]
    result["prompt_tokens"] = [len(t) for t in tokens]
    result["cold_prompt_tokens"] = result["prompt_tokens"][-1]
    result["shared_prefix_tokens"] = min(
        (common_prefix(a, b) for a, b in zip(tokens, tokens[1:], strict=False)), default=len(tokens[0])
    )
    result["pipeline"] = pipeline
    result["bare"] = bare
    result["stages"] = [
        {stage: seconds for stage, seconds in run["timings"].items() if stage in STAGES} for run in pipeline
    ]
    result["peak_rss"] = peak_rss_mb()

    if args.sweep:
        combos = [(int(t), int(b)) for t, b in (c.split("x") for c in args.sweep.split(","))]
        prompts = messages[: args.sweep_questions]
        result["sweep"] = sweep(resolve(cfg.model, cfg.models_dir), cfg, prompts, combos)
    return result


# --- parent: run the workers, print the tables -----------------------------------------------------


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


def report(results: list[dict[str, Any]]) -> None:
    rows = []
    for res in results:
        rows.append(
            [
                res["model"],
                res["chunks"],
                res["load_assistant"],
                res["load_llm"],
                res["rss_loaded"],
                res["peak_rss"],
            ]
        )
    show(
        ["model", "chunks", "assistant load s", "LLM load s", "RSS after load MB", "peak RSS MB"],
        rows,
        "Loading and memory (one process per model)",
    )

    rows = []
    for res in results:
        for mode in ("pipeline", "bare"):
            runs = res[mode]
            ttft = [r["ttft"] for r in runs if r["ttft"] is not None]
            total = [r["total"] for r in runs]
            decode = sum(r["decode_tokens"] for r in runs) / (sum(r["decode_ms"] for r in runs) / 1000 or 1)
            prefill = sum(r["prefill_tokens"] for r in runs) / (sum(r["prefill_ms"] for r in runs) / 1000 or 1)
            rows.append(
                [
                    res["model"],
                    "pipeline" if mode == "pipeline" else "bare llama-cpp",
                    len(runs),
                    ms(percentile(ttft, 50)),
                    ms(percentile(ttft, 95)),
                    ms(percentile(total, 50)),
                    ms(percentile(total, 95)),
                    decode,
                    prefill,
                    mean([float(r["decode_tokens"]) for r in runs]),
                    mean([float(r["prefill_tokens"]) for r in runs]),
                    mean([float(n) for n in res["prompt_tokens"]]),
                    f"{sum(r['correct'] for r in runs)}/{len(runs)}" if mode == "pipeline" else None,
                ]
            )
    show(
        [
            "model",
            "run",
            "n",
            "first token p50 ms",
            "first token p95 ms",
            "full answer p50 ms",
            "full answer p95 ms",
            "decode tok/s",
            "prefill tok/s",
            "answer tokens",
            "prefilled tokens",
            "prompt tokens",
            "dev correct",
        ],
        rows,
        "End to end, warm (the model and the fixed prefix already loaded)",
    )
    print(
        "First token: from the call to the model's first text piece, retrieval included (pipeline: "
        "`timings['retrieve'] + timings['first_token']`). Answer tokens and prefilled tokens are llama.cpp's own "
        "counters (pipeline runs include any retry); prompt tokens is the whole chat prompt, of which only the "
        "prefilled part is evaluated when the fixed prefix is cached.\n"
    )

    rows = []
    for res in results:
        p_total = [r["total"] for r in res["pipeline"]]
        b_total = [r["total"] for r in res["bare"]]
        p_ttft = [r["ttft"] for r in res["pipeline"] if r["ttft"] is not None]
        b_ttft = [r["ttft"] for r in res["bare"] if r["ttft"] is not None]
        no_retry = [r["total"] for r in res["pipeline"] if "retry" not in r["timings"]]
        bare_no_retry = [
            b["total"]
            for b in res["bare"]
            if any(p["q"] == b["q"] and "retry" not in p["timings"] for p in res["pipeline"])
        ]
        rows.append(
            [
                res["model"],
                ms(percentile(p_total, 50)),
                ms(percentile(b_total, 50)),
                ratio(percentile(p_total, 50), percentile(b_total, 50)),
                ratio(mean(p_total), mean(b_total)),
                ratio(mean(no_retry), mean(bare_no_retry)),
                ratio(percentile(p_ttft, 50), percentile(b_ttft, 50)),
                sum("retry" in r["timings"] for r in res["pipeline"]),
                sum(
                    r["draft"] == b["draft"] for r, b in zip(sort_q(res["pipeline"]), sort_q(res["bare"]), strict=False)
                ),
                sum(r["same_retrieval"] for r in res["pipeline"]),
            ]
        )
    show(
        [
            "model",
            "pipeline p50 ms",
            "bare p50 ms",
            "overhead p50",
            "overhead mean",
            "overhead mean, no-retry questions",
            "first-token overhead p50",
            "retries",
            "same draft",
            "same passages as first run",
        ],
        rows,
        "Pipeline overhead over bare llama-cpp-python on the same messages (goal ≤ 10%)",
    )

    rows = []
    for res in results:
        cold = res["cold"]
        warm = res["pipeline"]
        rows.append(
            [
                res["model"],
                mean([float(n) for n in res["prompt_tokens"]]),
                res["shared_prefix_tokens"],
                f"{cold['prefill_tokens']} of {res['cold_prompt_tokens']}",
                cold["prefill_ms"],
                ms(cold["ttft"]),
                mean([float(r["prefill_tokens"]) for r in warm]),
                mean([r["prefill_ms"] for r in warm]),
                ms(percentile([r["ttft"] for r in warm if r["ttft"] is not None], 50)),
            ]
        )
    show(
        [
            "model",
            "prompt tokens",
            "shared prefix tokens",
            "cold: prefilled tokens",
            "cold: prefill ms",
            "cold: first token ms",
            "warm: prefilled tokens (mean)",
            "warm: prefill ms (mean)",
            "warm: first token p50 ms",
        ],
        rows,
        "KV-cache prefix reuse: the first question of a process (cold) against later ones (warm)",
    )

    for res in results:
        n = len(res["stages"])
        budget: dict[str, list[float]] = {}
        for stages in res["stages"]:
            for stage, label in STAGES.items():
                budget.setdefault(label, []).append(stages.get(stage, 0.0))
        bare = res["bare"]
        budget["prefill (llama.cpp)"] = [r["prefill_ms"] / 1000 for r in bare]
        budget["decode (llama.cpp)"] = [r["decode_ms"] / 1000 for r in bare]
        budget["llama-cpp-python rest (template, tokenise, sample, detokenise)"] = [
            r["total"] - (r["prefill_ms"] + r["decode_ms"]) / 1000 for r in bare
        ]
        budget["verification"] = [r["timings"].get("verify", 0.0) for r in res["pipeline"]]
        budget["retry generation"] = [r["timings"].get("retry", 0.0) for r in res["pipeline"]]
        total = sum(mean(v) for v in budget.values())
        rows = [
            [name, ms(percentile(v, 50)), ms(percentile(v, 95)), ms(mean(v)), 100 * mean(v) / total]
            for name, v in budget.items()
        ]
        rows.append(["total (sum of means)", None, None, ms(total), 100.0])
        show(
            ["stage", "p50 ms", "p95 ms", "mean ms", "% of total"],
            rows,
            f"Stage budget per question: {res['model']} ({n} questions; prefill/decode from the bare runs)",
        )

    for res in results:
        if "sweep" not in res:
            continue
        rows = []
        for combo in res["sweep"]:
            runs = combo["runs"]
            rows.append(
                [
                    combo["threads"],
                    combo["n_batch"],
                    mean([float(r["prefill_tokens"]) for r in runs]),
                    sum(r["prefill_tokens"] for r in runs) / (sum(r["prefill_ms"] for r in runs) / 1000 or 1),
                    sum(r["decode_tokens"] for r in runs) / (sum(r["decode_ms"] for r in runs) / 1000 or 1),
                    ms(mean([r["ttft"] for r in runs if r["ttft"] is not None])),
                    ms(mean([r["total"] for r in runs])),
                ]
            )
        show(
            [
                "threads",
                "n_batch",
                "prompt tokens",
                "prefill tok/s",
                "decode tok/s",
                "cold first token ms",
                "cold full answer ms",
            ],
            rows,
            f"Thread and batch settings, whole prompt prefilled (KV cache emptied): {res['model']}",
        )


def sort_q(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(runs, key=lambda r: r["q"])


def ratio(a: float, b: float) -> str:
    if a != a or b != b or not b:
        return "–"
    return f"{100 * (a / b - 1):+.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=MODELS, help=f"comma-separated catalogue names or GGUF files ({MODELS})")
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS, help="dev questions (jsonl)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument(
        "--corpus", type=Path, default=None, help="article folder, indexed first (default: the index's own)"
    )
    parser.add_argument("--index-dir", type=Path, default=None, help="index folder (default: index/)")
    parser.add_argument("--repeat", type=int, default=2, help="passes over the questions per mode")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: Config)")
    parser.add_argument(
        "--sweep",
        default="",
        help="thread x n_batch settings to compare on a cold prefill, e.g. 1x512,2x128,2x512,4x512",
    )
    parser.add_argument("--sweep-questions", type=int, default=3, help="questions per sweep setting")
    parser.add_argument(
        "--torch-threads", type=int, default=None, help="torch threads for the embedder (default: torch's own)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also save the raw measurements here")
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        args.worker.write_text(json.dumps(worker(args)))
        return

    header(
        "Answer benchmark",
        {
            "models": args.model,
            "questions": args.questions,
            "limit": args.limit,
            "corpus": args.corpus or "the index's own",
            "index": args.index_dir or "index/",
            "repeat": args.repeat,
            "threads": args.threads or "Config",
            "torch threads": args.torch_threads or "torch default",
        },
    )
    results = []
    for model in args.model.split(","):
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
            out = Path(handle.name)
        command = [sys.executable, __file__, "--worker", str(out), "--model", model]
        for flag, value in (
            ("--questions", args.questions),
            ("--limit", args.limit),
            ("--corpus", args.corpus),
            ("--index-dir", args.index_dir),
            ("--repeat", args.repeat),
            ("--threads", args.threads),
            ("--torch-threads", args.torch_threads),
            ("--sweep", args.sweep),
            ("--sweep-questions", args.sweep_questions),
        ):
            if value:
                command += [flag, str(value)]
        print(f"running {model} ...", file=sys.stderr, flush=True)
        subprocess.run(command, check=True, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
        results.append(json.loads(out.read_text()))
        out.unlink()
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
