"""Text inside articles is data. Sentences that read as instructions to an AI assistant are kept
out of the prompt and out of the evidence, so an article cannot steer the answer or be cited
for what it told the model to say. The prompt also tells the model to treat passages as quotes;
this is the second line of defence, and verification is the third."""

from __future__ import annotations

import re

_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.!?]{0,40}\b(?:instructions?|prompts?|rules|guidelines|directions)\b"
    r"|\b(?:system|developer|hidden)\s+(?:prompt|message|instructions?)\b"
    r"|\byou\s+are\s+(?:now\s+)?(?:an?\s+|the\s+)?(?:ai|assistant|language\s+model|chatbot|llm)\b"
    r"|\b(?:as\s+an?|dear)\s+(?:ai|assistant|language\s+model|chatbot|llm)\b"
    r"|\b(?:new|updated)\s+instructions?\s*:"
    r"|\b(?:respond|reply|answer)\s+(?:only\s+|every\s+question\s+|all\s+questions\s+)?with\b",
    re.IGNORECASE,
)


def looks_like_instruction(sentence: str) -> bool:
    return _INSTRUCTION.search(sentence) is not None
