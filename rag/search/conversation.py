"""Multi-turn chat: rewrite a follow-up ("and which of them revoked agreements?") into a standalone
question before retrieval, because retrieval and the answer prompt see one question, not the chat.

The method, chosen for a 1.5B model on a CPU and so that a rewrite can never add a fact:

1. A question that already stands alone (no pronoun pointing back, no leading "and"/"what about",
   enough content words of its own) is used as it is: no model call, no risk.
2. Otherwise the model is asked, with a short few-shot prompt on invented topics, to rewrite the
   follow-up as one standalone question using the conversation.
3. The rewrite is guarded. It must keep every content word of the follow-up, and every content word
   it adds must come from the conversation (earlier questions and the verified answers). A rewrite
   that brings in anything else (a guessed name, a place, an answer) is discarded.
4. A discarded or failed rewrite falls back to a deterministic one: the previous question's content
   joined with the follow-up ("Which countries had troops in Niger, and which of them revoked
   agreements?"), which retrieval and the answer model handle well.

Either way the standalone question is only a search query and a prompt question: the answer is still
verified against the articles, so a poor rewrite can cost an answer, never invent one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from ..config import Config
from ..text import terms, words

# Words that point back into the conversation; a question holding one cannot stand alone.
_REFERRING = frozenset(
    "they them their theirs it its those these that this he him his she her hers there "  # noqa: SIM905
    "one ones same such former latter other others both either neither".split()
)
# Openings that continue the previous question rather than start a new one.
_CONTINUES = re.compile(r"^\s*(?:and|but|or|so|also|plus|then|what about|how about|and what about)\b", re.IGNORECASE)
_LEADING_JOIN = re.compile(r"^\s*(?:and|but|or|so|also|plus|then)\b[\s,]*", re.IGNORECASE)

_INSTRUCTION = (
    "Rewrite the follow-up question as one standalone question that can be understood without the "
    "conversation. Replace words like 'they', 'them', 'it' and 'those' with what they refer to. "
    "Use only words from the conversation and the follow-up. Do not answer the question. "
    "Reply with the question only."
)
# Invented topics, so the examples cannot leak facts about the articles.
_EXAMPLES = (
    (
        "User: Which bakeries won prizes at the Lindenfeld fair?\n"
        "Assistant: Brot & Co and Miller's won prizes [1].\n"
        "Follow-up: and which of them opened in 2019?",
        "Which of the bakeries that won prizes at the Lindenfeld fair opened in 2019?",
    ),
    (
        "User: Who is the mayor of Port Averly?\nAssistant: Dana Kiel is the mayor [1].\n"
        "Follow-up: when was she elected?",
        "When was Dana Kiel, the mayor of Port Averly, elected?",
    ),
)


class TextGenerator(Protocol):
    """What rewriting needs from a generation backend (`rag.generate.llama.Generator` fits)."""

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]: ...


@dataclass(frozen=True)
class Turn:
    """One earlier exchange: the question as the user asked it and the answer they were shown."""

    question: str
    answer: str = ""


@dataclass(frozen=True)
class Rewrite:
    """The question to retrieve and answer with, and how it was obtained."""

    question: str
    method: Literal["as asked", "model", "combined"]

    @property
    def changed(self) -> bool:
        return self.method != "as asked"


def stands_alone(question: str) -> bool:
    """True when the question needs no earlier turn to be understood."""
    if _CONTINUES.match(question):
        return False
    if set(words(question)) & _REFERRING:
        return False
    return len(set(terms(question))) >= 2


def standalone_question(
    question: str,
    history: Sequence[Turn],
    generator: TextGenerator | None,
    max_tokens: int = Config.rewrite_max_tokens,
    max_chars: int = Config.rewrite_max_chars,
) -> Rewrite:
    """The follow-up `question` as a standalone question, using `history` (oldest first); the model
    writes at most `max_tokens`, and a line longer than `max_chars` is not taken as a question."""
    question = " ".join(question.split())
    previous = [t for t in history if t.question.strip()]
    if not previous or stands_alone(question):
        return Rewrite(question, "as asked")
    if generator is not None:
        try:
            draft = "".join(generator.stream(rewrite_messages(question, previous), max_tokens))
        except Exception:  # noqa: BLE001 - a failed rewrite must not cost the user their answer
            draft = ""
        candidate = _clean(draft, max_chars)
        if candidate and is_faithful(candidate, question, previous):
            return Rewrite(candidate, "model")
    return Rewrite(combine(previous[-1].question, question), "combined")


def rewrite_messages(question: str, history: Sequence[Turn]) -> list[dict[str, str]]:
    """The chat messages that ask the model for a standalone question (last two turns only)."""
    messages = [{"role": "system", "content": _INSTRUCTION}]
    for conversation, rewritten in _EXAMPLES:
        messages.append({"role": "user", "content": conversation})
        messages.append({"role": "assistant", "content": rewritten})
    lines = []
    for turn in history[-2:]:
        lines.append(f"User: {turn.question}")
        if turn.answer:
            lines.append(f"Assistant: {turn.answer}")
    lines.append(f"Follow-up: {question}")
    messages.append({"role": "user", "content": "\n".join(lines)})
    return messages


def is_faithful(rewrite: str, question: str, history: Sequence[Turn]) -> bool:
    """The rewrite keeps the follow-up's content words, brings in some context from the
    conversation (else it did not resolve anything), and adds no word from outside it."""
    asked = set(terms(question))
    said = asked.union(*(set(terms(t.question)) | set(terms(t.answer)) for t in history))
    written = set(terms(rewrite))
    return asked <= written <= said and bool(written - asked)


def combine(previous: str, question: str) -> str:
    """The deterministic rewrite: the previous question's content, then the follow-up."""
    head = previous.strip().rstrip("?.! ")
    tail = _LEADING_JOIN.sub("", question.strip()).rstrip("?.! ")
    if not tail:
        return previous.strip()
    return f"{head}, and {tail}?"


def _clean(draft: str, max_chars: int) -> str:
    """The model's first line, without a label or quotes; empty when it is not a plausible question."""
    line = next((x for x in draft.strip().splitlines() if x.strip()), "").strip()
    line = re.sub(r"^(?:standalone question|question|rewritten question)\s*:\s*", "", line, flags=re.IGNORECASE)
    line = line.strip().strip("\"'“”‘’").strip()
    if not line.endswith("?") or len(line) > max_chars or re.search(r"\[\d+\]", line):
        return ""
    return line


__all__ = ["Rewrite", "TextGenerator", "Turn", "combine", "is_faithful", "standalone_question", "stands_alone"]
