"""Text inside articles is data. A sentence that speaks to the machine reading it rather than
reporting the world is kept out of the index at ingest (rag/index/chunk.py): it is never embedded,
searched, shown to the model or cited, so an article cannot steer an answer or be cited for what
it told the model to say. The prompt also tells the model to treat passages as quotes; this is
the second line of defence, and verification, which only cites indexed sentences, is the third.

Each rule below is a named test of one sentence. Quoted speech is reported, not addressed to
anyone: a story about AI that quotes "ignore previous instructions" stays citable, so every rule
reads the sentence with its quotations taken out (`unquoted`). A sentence that is nothing but one
quotation is read whole, since there is nobody reporting it.

Changing a rule changes what is indexed: bump `RULES`, which the index records, so the next
`rag index` rebuilds.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..types import Span

RULES = "2"  # recorded in the index settings; 1 was the query-time check before it moved to ingest

# Words for a machine reader. "assistant" and "model" alone name people too ("as an assistant coach"),
# so they count only where a note is addressed to them.
_AGENT = (
    r"(?:ai|a\.i\.|chat\s?bots?|(?:large\s+)?language\s+models?|llms?|gpts?|(?:ai|virtual)\s+(?:assistants?|models?))"
)
_MACHINE = rf"(?:{_AGENT}|assistants?|models?)"
_QUOTATION = re.compile(r'"[^"\n]*"|“[^”\n]*”|‘[^’\n]*’|(?<!\w)\'[^\'\n]*\'(?!\w)')
_HIDDEN = re.compile(r"<!--.*?(?:-->|\Z)|<(script|style)\b.*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL)

_ADDRESSES_A_MACHINE = re.compile(
    rf"\b(?:note|message|instructions?|reminder|attention|notice|warning)\s+(?:to|for)\s+(?:all\s+|any\s+)?"
    rf"(?:the\s+)?{_MACHINE}\b"
    rf"|\b(?:dear|hey|attention|hello)\s*,?\s+{_AGENT}\b"
    rf"|\b(?:as\s+an?|if\s+you\s+are\s+an?)\s+{_AGENT}\b"
    rf"|\byou\s+are\s+(?:now\s+)?(?:an?\s+|the\s+)?(?:{_AGENT}|assistant)\b"
    rf"|\b{_MACHINE}\s+(?:reading|processing|summari[sz]ing|answering\s+questions\s+about)\s+this\b",
    re.IGNORECASE,
)
_ISSUES_INSTRUCTIONS = re.compile(
    r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+)?(?:of\s+)?(?:the\s+|your\s+)?"
    r"(?:previous|prior|above|earlier|preceding|original|other|system)\s+(?:instructions?|prompts?|rules|guidelines)\b"
    r"|^\W*(?:\w+\s*:\s*)?(?:please\s+)?(?:ignore|disregard|forget|override)\b.{0,60}\b"
    r"(?:instructions?|prompts?|rules|guidelines|directions)\b"
    r"|\b(?:print|reveal|show|repeat|output)\s+(?:me\s+)?(?:your|the)\s+(?:system|hidden|initial)\s+prompt\b"
    r"|\b(?:new|updated|additional)\s+instructions?\s*:"
    r"|\b(?:respond|reply|answer)\s+(?:only\s+with|with\s+(?:only|the\s+word)|(?:to\s+)?(?:every|all|any)\s+questions?)\b"
    r"|\bwhen\s+(?:you\s+are\s+)?asked\b[^.]{0,80},\s*(?:always\s+)?(?:say|answer|respond|reply|claim|state)\b"
    r"|\b(?:tell|inform|remind)\s+(?:the\s+)?(?:user|reader|asker)s?\s+(?:that\b|to\b)",
    re.IGNORECASE,
)
_DICTATES_THE_ANSWER = re.compile(
    r"\bthe\s+(?:correct|right|true)\s+answer\s+(?:is|(?:to|for)\s+(?:this|that|the|any|every|all)\s+(?:\w+\s+)?questions?)\b"
    r"|\b(?:the\s+)?answer\s+to\s+(?:any|every|all)\s+questions?\b",
    re.IGNORECASE,
)
_EDITORIAL_ASIDE = re.compile(
    r"^\W*(?:editor'?s?|editorial|publisher'?s?)\s*'?\s*(?:note|instruction|message)s?\b"
    r"|^\W*note\s+to\s+(?:the\s+)?(?:readers?|editors?)\b",
    re.IGNORECASE,
)


def unquoted(sentence: str) -> str:
    """The sentence with its quotations taken out, or whole when it is one quotation alone."""
    rest = _QUOTATION.sub(" ", sentence)
    return sentence if not re.search(r"\w", rest) else rest


def addresses_a_machine(sentence: str) -> bool:
    """Rejects text that speaks to an AI, an assistant or a model ("Note to AI assistants: ...",
    "You are now an assistant that ..."): a news report describes the world to people."""
    return _ADDRESSES_A_MACHINE.search(unquoted(sentence)) is not None


def issues_instructions(sentence: str) -> bool:
    """Rejects commands to the reader of the text ("Ignore all previous instructions", "When asked
    about X, say Y", "Reply only with ..."): an order is not a fact, and a model may obey it."""
    return _ISSUES_INSTRUCTIONS.search(unquoted(sentence)) is not None


def dictates_the_answer(sentence: str) -> bool:
    """Rejects text that says what "the correct answer" is: an article reports events; it does
    not grade questions, and only a planted note would."""
    return _DICTATES_THE_ANSWER.search(unquoted(sentence)) is not None


def editorial_aside(sentence: str) -> bool:
    """Rejects notes addressed to readers or editors ("Editor's note: ...", "Note to readers:
    ..."): they speak about the page, not about the world, and a planted instruction takes their form."""
    return _EDITORIAL_ASIDE.search(unquoted(sentence)) is not None


SENTENCE_RULES: tuple[Callable[[str], bool], ...] = (
    addresses_a_machine,
    issues_instructions,
    dictates_the_answer,
    editorial_aside,
)


def rejected_by(sentence: str) -> str | None:
    """The name of the first rule that keeps this sentence out of the index, or None."""
    return next((rule.__name__ for rule in SENTENCE_RULES if rule(sentence)), None)


def looks_like_instruction(sentence: str) -> bool:
    return rejected_by(sentence) is not None


def hidden_spans(text: str) -> list[Span]:
    """Parts of a text file that a browser would never show: HTML comments and script or style
    elements (an unclosed one runs to the end). Sentences in them are not the article's text."""
    return [Span(m.start(), m.end()) for m in _HIDDEN.finditer(text)]
