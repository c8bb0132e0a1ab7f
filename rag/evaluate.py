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

from .assistant import Assistant
from .retrieve import Retriever
from .text import content_terms, coverage
from .types import Answer
from .verify import claim_content, parse_claims


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    expect: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    evidence: str | None = None
    unanswerable: bool = False


@dataclass(frozen=True)
class Result:
    question: Question
    answer: Answer
    seconds: float
    correct: bool
    evidence_cited: bool | None  # None where the question names no evidence
    supported_citations: int


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
                )
            )
    return rows


def normalise(text: str) -> str:
    """Quotes and white space folded, so evidence matches whatever quote marks the article used."""
    text = text.translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"'}))
    return " ".join(text.split()).lower()


def matches(pattern: str, text: str) -> bool:
    return re.search(rf"\b(?:{pattern})\b", text, re.IGNORECASE) is not None


def judge(question: Question, answer: Answer, seconds: float) -> Result:
    if question.unanswerable:
        correct = not answer.answered
    else:
        correct = (
            answer.answered
            and all(matches(p, answer.text) for p in question.expect)
            and not any(matches(p, answer.text) for p in question.forbid)
        )
    evidence_cited = None
    if question.evidence:
        evidence_cited = any(normalise(question.evidence) in normalise(c.text) for c in answer.citations)
    return Result(question, answer, seconds, correct, evidence_cited, supported_citations(answer))


def supported_citations(answer: Answer, threshold: float = 0.75) -> int:
    """Citations whose span holds the claim they are attached to: at least `threshold` of the
    claim's content words beyond the question's (all of them for a quoted sentence)."""
    by_number = {c.n: c for c in answer.citations}
    good = set()
    for claim in parse_claims(answer.text):
        new = claim_content(claim.text, answer.question)
        for n in claim.cited:
            citation = by_number.get(n)
            if citation and coverage(new, content_terms(citation.text)) >= threshold:
                good.add(n)
    return len(good)


def run(assistant: Assistant, questions: list[Question]) -> list[Result]:
    results = []
    for question in questions:
        start = time.perf_counter()
        answer = assistant.ask(question.question)
        results.append(judge(question, answer, time.perf_counter() - start))
    return results


@dataclass(frozen=True)
class Summary:
    answerable_correct: float
    evidence_cited: float
    citation_precision: float
    refusals_correct: float
    seconds_p50: float

    def table(self) -> str:
        return "\n".join(
            [
                "| measure | value |",
                "| --- | --- |",
                f"| answerable questions answered correctly | {self.answerable_correct:.0%} |",
                f"| evidence cited | {self.evidence_cited:.0%} |",
                f"| citation precision | {self.citation_precision:.0%} |",
                f"| unanswerable questions refused | {self.refusals_correct:.0%} |",
                f"| seconds per answer (median) | {self.seconds_p50:.2f} |",
            ]
        )


def summarise(results: list[Result]) -> Summary:
    answerable = [r for r in results if not r.question.unanswerable]
    unanswerable = [r for r in results if r.question.unanswerable]
    with_evidence = [r for r in results if r.evidence_cited is not None]
    citations = sum(len(r.answer.citations) for r in results)

    def share(part: int, whole: int) -> float:
        return part / whole if whole else 1.0

    return Summary(
        answerable_correct=share(sum(r.correct for r in answerable), len(answerable)),
        evidence_cited=share(sum(bool(r.evidence_cited) for r in with_evidence), len(with_evidence)),
        citation_precision=share(sum(r.supported_citations for r in results), citations),
        refusals_correct=share(sum(r.correct for r in unanswerable), len(unanswerable)),
        seconds_p50=statistics.median(r.seconds for r in results) if results else 0.0,
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
