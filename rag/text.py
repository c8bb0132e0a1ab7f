"""Sentence splitting, content-word extraction and names, shared by chunking, BM25, the evidence
pool and verification so that all of them agree on what a word (and a name) is."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import sentencex

from .types import Evidence, Span

_WORD = re.compile(r"\w+(?:[.'’]\w+)*")
_PARAGRAPH = re.compile(r"\n\s*\n")
# Recorded in the index: another splitter may cut other chunks, so changing it rebuilds the index.
# sentencex (Wikimedia, in Rust) splits as pysbd did on the seeds and on abbreviation-heavy news
# text, ~400x faster: pysbd was 18% of ingest time at 3,400 sentences/s.
SPLITTER = "sentencex"


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    ENGLISH_STOP_WORDS = _sklearn_stop_words()  # noqa: N806 - sklearn's name for it
    # Words that carry no fact in a question or a claim, beyond sklearn's list.
    extra = {"according", "said", "says", "article", "articles", "passage", "passages", "yes"}
    # sklearn's list has number words, which are the answer to "how many" and "which round".
    numerals = {"one", "two", "three", "four", "five", "six", "eight", "nine", "ten", "eleven", "twelve"}
    numerals |= {"fifteen", "twenty", "forty", "fifty", "sixty", "hundred", "first", "third"}
    return frozenset((ENGLISH_STOP_WORDS - numerals) | extra)


def _sklearn_stop_words() -> frozenset[str]:
    """scikit-learn's English stop-word list, read from its own module file: importing it through the package
    loads all of sklearn.base first, 1.4 s of a fresh process's first question, for one frozenset."""
    import importlib.util

    (folder,) = importlib.util.find_spec("sklearn").submodule_search_locations  # type: ignore[union-attr]
    spec = importlib.util.spec_from_file_location("_stop_words", Path(folder) / "feature_extraction" / "_stop_words.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.ENGLISH_STOP_WORDS


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of text[start:end] as spans into `text`, never crossing a paragraph break."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    pos = start
    for para in _PARAGRAPH.split(text[start:end]):
        if not para.strip():
            pos = text.find(para, pos) + len(para) if para else pos
            continue
        para_at = text.find(para, pos)
        cursor = para_at
        for segment in sentencex.segment("en", para):
            stripped = segment.strip()
            if not stripped:
                continue
            # Finding each segment in the text keeps the offsets exact whatever the splitter trims.
            at = text.find(stripped, cursor, para_at + len(para))
            if at < 0:
                continue
            spans.append(Span(at, at + len(stripped)))
            cursor = at + len(stripped)
        pos = para_at + len(para)
    return spans


def words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def terms(text: str) -> list[str]:
    """Stemmed content words: lower case, stop words out, "troops" and "troop" the same."""
    kept = [w for w in words(text) if w not in stopwords() and not w.endswith("n't")]
    return list(_stemmer().stemWords(kept))


NEGATION = "¬"  # in content_terms: the text says not, no, never, n't...
AFFIRMED = "+"  # in content_terms: the text says none of those
POLARITY = frozenset({NEGATION, AFFIRMED})
_NEGATIONS = frozenset({"not", "no", "never", "nor", "neither", "none", "nothing", "cannot", "without"})


def negated(text: str) -> bool:
    return any(w in _NEGATIONS or w.endswith("n't") for w in words(text))


def content_terms(text: str) -> set[str]:
    """What a text asserts, for checking a claim against it: its terms and its polarity. "not" is a
    stop word to search, but "the council did not approve it" and "the council approved it" differ."""
    return set(terms(text)) | {NEGATION if negated(text) else AFFIRMED}


Weight = Callable[[str], float]  # a term's weight: its rarity across the collection (BM25's idf)


def coverage(wanted: set[str] | frozenset[str], have: set[str] | frozenset[str], weight: Weight | None = None) -> float:
    """The share of `wanted` terms that `have` holds (0 when nothing is wanted), each term counted by
    its `weight` when one is given. This is how well a sentence answers a question (or states a claim)
    by its words, wherever that is scored: a candidate's best sentence in retrieval, the sentences the
    model reads, grounding's strongest sentences and the rules' share of a claim's words. Retrieval
    weighs words by rarity, since it ranks across a whole collection; the later stages, ranking a
    few sentences on the question's topic, count them alike. Measured with rag eval: weighted there
    too, realnews lost 2 right answers of 33 and the dev set 1 of 8; unweighted in retrieval too,
    realnews and the paraphrased set had fewer wrong answers, but a seed follow-up's claim was cited
    to a sentence that does not state it (tests/test_conversation.py), so retrieval keeps the weights.
    """
    if weight is None:
        return len(wanted & have) / len(wanted) if wanted else 0.0
    total = sum(weight(t) for t in wanted)
    return sum(weight(t) for t in wanted & have) / total if total else 0.0


def numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:[.,]\d+)*", text))


# Names: the capitalised words a question asks about, and a place's adjective as the place.
_CAPITALISED = re.compile(r"\b[A-Z][\w'’.-]*")
_OPENERS = '.!?:"“'  # what ends the word before one that opens a sentence
_ABBREVIATION = re.compile(r"[A-Z][a-z]{0,3}\.")  # Mr. Dr. Gen. Sen. Jan.: no sentence ends there
# What a place's name gains to become its people's or its adjective, as stems (Chinese -> chines).
_ADJECTIVE_ENDINGS = frozenset({"n", "an", "ian", "ien", "es", "ese", "i", "ish"})


def same_name(a: str, b: str) -> bool:
    """Two terms name the same place or its people, for regular adjectives: Nigeria and Nigerian,
    Russia and Russian, Italy and Italian, China and Chinese (stems "china" and "chines"). Not
    France and French, and not Niger and Nigeria ("ia" is not an adjective's ending), though Niger
    and Nigerian do match."""
    short, long = sorted((a, b), key=len)
    if long.startswith(short):
        return long[len(short) :] in _ADJECTIVE_ENDINGS or not long[len(short) :]
    return short[-1:] in "aeiouy" and long.startswith(short[:-1]) and long[len(short) - 1 :] in _ADJECTIVE_ENDINGS


def names(text: str) -> set[str]:
    """Terms of the capitalised words that do not open a sentence: the people, places and bodies
    a question is about. Acronyms ("U.S.", "ECOWAS") are left out, since the articles may spell
    them out, and so are titles ("Mr."). In a question in capitals or title case (every word of
    four letters or more capitalised) capitals mark nothing, so it names nothing."""
    found = []
    long_words = re.findall(r"[^\W\d_][\w'’]{3,}", text)
    if len(long_words) >= 3 and all(w[0].isupper() for w in long_words):
        return set()
    for m in _CAPITALISED.finditer(text):
        word, before = m.group(), text[: m.start()].split()
        opens = not before or (before[-1][-1] in _OPENERS and not _ABBREVIATION.fullmatch(before[-1]))
        if not (opens or _ABBREVIATION.fullmatch(word) or word.rstrip(".").isupper() or "." in word.rstrip(".")):
            found.append(word)
    return set(terms(" ".join(found)))


def about(e: Evidence, named: set[str]) -> bool:
    """The sentence, read in its article, is about every one of these names."""
    return all(any(same_name(name, term) for term in e.context) for name in named)
