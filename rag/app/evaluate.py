"""Measure the system on a question file (format: shared/eval/README.md): answers and retrieval.

Each line: {"id", "question", "expect": [regex...], "forbid": [regex...], "evidence": str} or
{"id", "question", "unanswerable": true}. Regexes match case-insensitively on word boundaries.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path

from tqdm import tqdm

from ..assistant import Assistant
from ..search.retrieve import Retriever
from ..types import Answer


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    expect: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    evidence: str | None = None
    unanswerable: bool = False
    asked_on: str | None = None  # the day it was asked (YYYY-MM-DD); None: today


@dataclass(frozen=True)
class Result:
    question: Question
    answer: Answer
    seconds: float
    correct: bool
    evidence_cited: bool | None  # None where the question names no evidence
    supported_citations: int  # citations whose span holds the expected answer (judged without the verifier)

    @property
    def answered_wrong(self) -> bool:
        """An answer, with citations, that is not the right one: worse than a refusal."""
        return self.answer.answered and not self.correct


def load_questions(path: Path) -> list[Question]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows.append(
                Question(
                    id=str(row.get("id", len(rows) + 1)),
                    question=row["question"],
                    expect=tuple(row.get("expect", ())),
                    forbid=tuple(row.get("forbid", ())),
                    evidence=row.get("evidence"),
                    unanswerable=bool(row.get("unanswerable", False)),
                    asked_on=row.get("asked_on"),
                )
            )
    return rows


def normalise(text: str) -> str:
    """Quotes and white space folded, so evidence matches whatever quote marks the article used."""
    text = text.translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'}))
    return " ".join(text.split()).lower()


def matches(pattern: str, text: str) -> bool:
    return re.search(rf"\b(?:{pattern})\b", text, re.IGNORECASE) is not None


def is_correct(question: Question, text: str, answered: bool) -> bool:
    """Every `expect` pattern matches the answer and no `forbid` one does; an unanswerable question
    is right when refused."""
    if question.unanswerable:
        return not answered
    return (
        answered
        and all(matches(p, text) for p in question.expect)
        and not any(matches(p, text) for p in question.forbid)
    )


def judge(question: Question, answer: Answer, seconds: float) -> Result:
    correct = is_correct(question, answer.text, answer.answered)
    evidence_cited = None
    if question.evidence:
        evidence_cited = any(normalise(question.evidence) in normalise(c.text) for c in answer.citations)
    return Result(question, answer, seconds, correct, evidence_cited, supported_citations(question, answer))


def supported_citations(question: Question, answer: Answer) -> int:
    """Citations whose span holds the expected answer (a match of one of the question's `expect`
    patterns): judged from the question file, with nothing the verifier itself uses. A citation for
    an unanswerable question, or one for a wrong answer that does not hold the right one, counts
    against precision."""
    if question.unanswerable:
        return 0
    return sum(any(matches(p, c.text) for p in question.expect) for c in answer.citations)


def run(assistant: Assistant, questions: list[Question], progress: bool = False) -> list[Result]:
    results = []
    for question in tqdm(questions, desc="answering", unit="question", disable=not progress):
        start = time.perf_counter()
        answer = assistant.ask(question.question, asked_on=question.asked_on)
        results.append(judge(question, answer, time.perf_counter() - start))
    return results


@dataclass(frozen=True)
class Summary:
    answerable_correct: float
    evidence_cited: float
    citation_precision: float
    refusals_correct: float
    seconds_p50: float
    counts: dict[str, tuple[int, int]]  # measure -> (count, out of)

    def table(self) -> str:
        rows = [
            ("answerable questions answered correctly", self.answerable_correct, "right"),
            ("...right with the evidence cited", None, "right, evidence cited"),
            ("answered wrong (an answer, cited, that is not the right one)", None, "answered wrong"),
            ("answerable questions refused", None, "answerable refused"),
            ("evidence cited", self.evidence_cited, "evidence cited"),
            ("citation precision (the span holds the expected answer)", self.citation_precision, "precise citations"),
            ("unanswerable questions refused", self.refusals_correct, "unanswerable refused"),
        ]
        lines = ["| measure | value |", "| --- | --- |"]
        for label, share, key in rows:
            n, whole = self.counts[key]
            lines.append(f"| {label} | {n}/{whole}" + (f" ({share:.0%})" if share is not None else "") + " |")
        lines.append(f"| seconds per answer (median) | {self.seconds_p50:.2f} |")
        return "\n".join(lines)


def summarise(results: list[Result]) -> Summary:
    answerable = [r for r in results if not r.question.unanswerable]
    unanswerable = [r for r in results if r.question.unanswerable]
    with_evidence = [r for r in results if r.evidence_cited is not None]
    citations = sum(len(r.answer.citations) for r in results)

    def share(part: int, whole: int) -> float:
        return part / whole if whole else 1.0

    counts = {
        "right": (sum(r.correct for r in answerable), len(answerable)),
        "right, evidence cited": (
            sum(r.correct and r.evidence_cited is not False for r in answerable),
            len(answerable),
        ),
        "answered wrong": (sum(r.answered_wrong for r in results), len(results)),
        "answerable refused": (sum(not r.answer.answered for r in answerable), len(answerable)),
        "evidence cited": (sum(bool(r.evidence_cited) for r in with_evidence), len(with_evidence)),
        "precise citations": (sum(r.supported_citations for r in results), citations),
        "unanswerable refused": (sum(r.correct for r in unanswerable), len(unanswerable)),
    }
    return Summary(
        answerable_correct=share(*counts["right"]),
        evidence_cited=share(*counts["evidence cited"]),
        citation_precision=share(*counts["precise citations"]),
        refusals_correct=share(*counts["unanswerable refused"]),
        seconds_p50=statistics.median(r.seconds for r in results) if results else 0.0,
        counts=counts,
    )


def result_rows(results: list[Result]) -> str:
    lines = ["| id | correct | evidence | citations ok | s | answer |", "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        evidence = "-" if r.evidence_cited is None else "yes" if r.evidence_cited else "NO"
        answer = r.answer.text.replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {r.question.id} | {'yes' if r.correct else 'NO'} | {evidence} | "
            f"{r.supported_citations}/{len(r.answer.citations)} | {r.seconds:.1f} | {answer} |"
        )
    return "\n".join(lines)


# --- where answers are lost: rag eval --explain -------------------------------------------------

STAGES = ("candidates", "passages", "read", "draft", "answer")
EFFECTS = ("stopped right", "stopped wrong", "let in right", "let in wrong")


def funnel(result: Result) -> dict[str, bool]:
    """For an answerable question, whether the gold evidence was among the fused candidates, the
    passages and the sentences the model read, and whether the expected answer was in the draft
    (or the retried draft) and in the final answer."""
    q, a = result.question, result.answer
    wanted = normalise(q.evidence or "")

    def holds(texts: list[str]) -> bool:
        return bool(wanted) and any(wanted in normalise(t) for t in texts)

    def answers(text: str) -> bool:
        return all(matches(p, text) for p in q.expect)

    return {
        "candidates": holds([h.chunk.text for h in a.trace.candidates]),
        "passages": holds([h.chunk.text for h in a.passages]),
        "read": holds([" ".join(a.trace.shown)]),
        "draft": answers(a.draft) or answers(a.trace.retry),
        "answer": result.correct,
    }


def claim_is_right(question: Question, text: str) -> bool:
    """A draft claim is right when it states (part of) the expected answer and nothing forbidden."""
    if question.unanswerable:
        return False
    return any(matches(p, text) for p in question.expect) and not any(matches(p, text) for p in question.forbid)


def rule_effects(results: list[Result]) -> dict[str, dict[str, int]]:
    """Per rule: the right and wrong draft claims it alone stopped (switched off, a sentence would
    have supported them), and the right and wrong claims it let into answers (the quotes and the
    retry). Right and wrong are judged by `expect`/`forbid`, never by the verifier."""
    effects: dict[str, dict[str, int]] = {}
    for r in results:
        judged = [(v, "stopped") for v in r.answer.trace.checked if v.status == "unsupported"]
        # A claim that only restates the question is connecting text, not something a rule let in.
        judged += [
            (v, "stopped" if v.status == "unsupported" else "let in")
            for v in r.answer.trace.final
            if v.rules and v.status != "uninformative"
        ]
        for verdict, effect in judged:
            right = claim_is_right(r.question, verdict.claim.text)
            for rule in verdict.rules:
                row = effects.setdefault(
                    rule, {"stopped right": 0, "stopped wrong": 0, "let in right": 0, "let in wrong": 0}
                )
                row[f"{effect} {'right' if right else 'wrong'}"] += 1
    return effects


def explain_rows(results: list[Result]) -> str:
    """The funnel per question and in total, then the per-rule table."""
    lines = [
        "| id | " + " | ".join(STAGES) + " | rules that stopped a claim |",
        "| --- |" + " --- |" * (len(STAGES) + 1),
    ]
    totals = dict.fromkeys(STAGES, 0)
    answerable = [r for r in results if not r.question.unanswerable]
    for r in answerable:
        stages = funnel(r)
        for stage, held in stages.items():
            totals[stage] += held
        stopped = sorted({rule for v in r.answer.trace.checked if v.status == "unsupported" for rule in v.rules})
        marks = " | ".join("yes" if stages[s] else "-" for s in STAGES)
        lines.append(f"| {r.question.id} | {marks} | {', '.join(stopped) or '-'} |")
    lines.append("| **total** | " + " | ".join(f"{totals[s]}/{len(answerable)}" for s in STAGES) + " | |")
    lines += ["", "| rule | right claims it stopped | wrong claims it stopped | right let in | wrong let in |"]
    lines.append("| --- |" + " --- |" * len(EFFECTS))
    for rule, row in sorted(rule_effects(results).items()):
        lines.append(f"| {rule} | " + " | ".join(str(row[e]) for e in EFFECTS) + " |")
    return "\n".join(lines)


# --- retrieval -------------------------------------------------------------------------------


def evidence_ranks(
    retriever: Retriever, questions: list[Question], mode: str, depth: int = 10
) -> dict[str, int | None]:
    """For each question with evidence, by id, the 1-based rank of the first passage that contains
    it (None when none of the first `depth` does)."""
    ranks = {}
    for question in questions:
        if question.unanswerable or not question.evidence:
            continue
        hits = retriever.search(question.question, k=depth, mode=mode)
        wanted = normalise(question.evidence)
        ranks[question.id] = next((i for i, h in enumerate(hits, 1) if wanted in normalise(h.chunk.text)), None)
    return ranks


def retrieval_table(assistant: Assistant, questions: list[Question]) -> tuple[str, dict[str, dict[str, float]]]:
    """Recall@1/3/5 and MRR of the evidence passage for dense, BM25, and both ways of fusing them,
    then the rank each retriever gave each question's evidence."""
    weighted = Retriever(assistant.index, assistant.embedder, replace(assistant.config, fusion="weighted"))
    rrf = Retriever(assistant.index, assistant.embedder, replace(assistant.config, fusion="rrf"))
    runs = {
        "dense": (rrf, "dense"),
        "keyword (BM25)": (rrf, "keyword"),
        "hybrid, RRF": (rrf, "hybrid"),
        "hybrid, weighted sum": (weighted, "hybrid"),
    }
    scores: dict[str, dict[str, float]] = {}
    by_question: dict[str, dict[str, int | None]] = {}
    for name, (retriever, mode) in runs.items():
        by_question[name] = evidence_ranks(retriever, questions, mode)
        ranks = list(by_question[name].values())
        n = len(ranks) or 1
        scores[name] = {
            "recall@1": sum(r is not None and r <= 1 for r in ranks) / n,
            "recall@3": sum(r is not None and r <= 3 for r in ranks) / n,
            "recall@5": sum(r is not None and r <= 5 for r in ranks) / n,
            "MRR": sum(1 / r for r in ranks if r) / n,
        }
    lines = ["| retriever | recall@1 | recall@3 | recall@5 | MRR |", "| --- | --- | --- | --- | --- |"]
    for mode, s in scores.items():
        lines.append(f"| {mode} | {s['recall@1']:.0%} | {s['recall@3']:.0%} | {s['recall@5']:.0%} | {s['MRR']:.3f} |")
    lines += ["", "Rank of the first passage holding the evidence (- : not in the first 10):", ""]
    lines += ["| id | " + " | ".join(runs) + " |", "| --- |" + " --- |" * len(runs)]
    for qid in by_question["dense"]:
        ranks_of = [by_question[name][qid] for name in runs]
        lines.append(f"| {qid} | " + " | ".join("-" if r is None else str(r) for r in ranks_of) + " |")
    return "\n".join(lines), scores
