"""Fuzzed questions and articles: very long, binary, control characters, mixed scripts, empty
lines. Nothing may crash except with a documented RagError, and nothing may hang."""

from __future__ import annotations

import codecs
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rag import Answer, ArticleError, Assistant, Config, QuestionError, build_index
from rag.index.chunk import chunk_article
from rag.index.embed import Embedder
from rag.index.load import load_articles
from rag.index.plain import read_text

# Letters from several scripts, control characters, newlines and blank lines, emoji.
PIECES = (
    list("abc XYZ.,?!'\"-\n\r\t\x00\x07\x1b\x7f\u200b\u202e\ufeff")
    + list("Нигерعربي中文ελληνικάहिन्दी🇳🇪🙂")
    + ["\n\n", "  ", "Niger", "troops", " date 2023-01-01 "]
)
NASTY = st.lists(st.sampled_from(PIECES), max_size=120).map("".join)
# How an article reaches the disk: UTF-8 with or without a byte-order mark, or UTF-16 or UTF-32 behind theirs.
MARKS = [
    (b"", "utf-8"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
]
ENCODED = st.tuples(st.sampled_from(MARKS), NASTY).map(lambda m: m[0][0] + m[1].encode(m[0][1]))
QUESTIONS = st.one_of(NASTY, st.text(max_size=200), st.text(min_size=1990, max_size=2100))
FUZZ = settings(max_examples=40, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])


class EchoGenerator:
    """A stand-in model for the plumbing around generation: it echoes the first passage back with a citation."""

    name = "echo"

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        turn = messages[-1]["content"]
        yield from turn[:200].split(" ")
        yield " [1]"


@pytest.fixture(scope="module")
def echo(seed_config: Config, assistant: Assistant) -> Assistant:
    return Assistant(seed_config, generator=EchoGenerator(), update=False)


@FUZZ
@given(question=QUESTIONS)
def test_any_question_is_answered_refused_or_rejected_cleanly(echo: Assistant, question: str):
    try:
        answer = echo.ask(question)
    except QuestionError:
        return
    assert isinstance(answer, Answer) and answer.text
    for c in answer.citations:
        assert (echo.config.corpus_dir / c.source).read_text()[c.start : c.end] == c.text


@FUZZ
@given(data=st.one_of(st.binary(max_size=3000), ENCODED))
@example(data=codecs.BOM_UTF8 + b" date 2023-01-01 Niger troops left. They went home.\r\nThe end.")
@example(data=codecs.BOM_UTF16_BE + "Niger troops left.\rThey went home.".encode("utf-16-be"))
def test_any_article_bytes_parse_and_chunk_with_exact_offsets(data: bytes):
    """Chunk offsets index the file as a reader gets it: open() for UTF-8, else read_text, the loader's way."""
    with tempfile.TemporaryDirectory() as home:
        path = Path(home) / "fuzz.txt"
        path.write_bytes(data)
        articles, _ = load_articles(Path(home))
        if not articles:
            return
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            text = read_text(path)
        else:
            text = path.open(encoding="utf-8").read()
    for chunk in chunk_article(articles[0], 450, 1):
        assert text[chunk.start : chunk.end] == chunk.text
        assert all(chunk.start <= s.start < s.end <= chunk.end for s in chunk.sentences)


@settings(max_examples=8, deadline=30000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.one_of(st.binary(max_size=2000), NASTY.map(str.encode)), min_size=1, max_size=4))
def test_any_folder_of_articles_indexes_or_says_why_not(embedder: Embedder, files: list[bytes]):
    with tempfile.TemporaryDirectory() as home:
        folder = Path(home) / "corpus"
        folder.mkdir()
        for n, data in enumerate(files):
            (folder / f"a{n}.txt").write_bytes(data)
        config = replace(Config(), corpus_dir=folder, index_dir=Path(home) / "index")
        try:
            report = build_index(config, embedder=embedder)
        except ArticleError:
            return
        assert report.chunks >= 0 and len(report.added) + len(report.errors) == len(files)


@pytest.mark.parametrize(
    "question",
    [
        "\x00\x07 \u202eWhich countries\r\nhad troops in Niger?\x1b[31m\u202c",
        "Quels pays avaient des troupes au Niger? 哪些国家在尼日尔驻军？ Which countries had troops in Niger?",
    ],
    ids=["control-and-bidi", "mixed-scripts"],
)
def test_nasty_questions_on_the_real_model_give_verified_answers(assistant: Assistant, question: str):
    answer = assistant.ask(question)
    assert answer.text
    for c in answer.citations:
        assert (assistant.config.corpus_dir / c.source).read_text()[c.start : c.end] == c.text
