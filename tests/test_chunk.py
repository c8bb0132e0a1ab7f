from rag.index.chunk import chunk_article
from rag.index.load import load_articles
from rag.text import sentence_spans

from .conftest import SEEDS, TROOPS


def seed_chunks(max_chars: int = 450, overlap: int = 1):
    articles, _ = load_articles(SEEDS)
    return articles, [c for a in articles for c in chunk_article(a, max_chars, overlap)]


def test_chunk_offsets_reproduce_the_file_text():
    _, chunks = seed_chunks()
    for chunk in chunks:
        raw = (SEEDS / chunk.source).open().read()
        assert raw[chunk.start : chunk.end] == chunk.text
        for span, text in chunk.sentence_texts():
            assert raw[span.start : span.end] == text


def test_chunks_are_whole_sentences_within_the_size_and_skip_the_date_header():
    _, chunks = seed_chunks()
    for chunk in chunks:
        assert not chunk.text.startswith("date")
        assert chunk.text[-1] in '.”"’)' or chunk.text.endswith("(formerly known as Twitter).")
        assert len(chunk.text) <= 450 or len(chunk.sentences) == 1


def test_evidence_sentence_is_one_sentence():
    articles, chunks = seed_chunks()
    sentences = [chunk.text[s.start - chunk.start : s.end - chunk.start] for chunk in chunks for s in chunk.sentences]
    assert any(TROOPS in s and s.startswith("Under ousted President Bazoum") for s in sentences)


def test_overlap_never_makes_a_chunk_that_repeats_only_old_sentences():
    _, chunks = seed_chunks()
    for before, after in zip(chunks, chunks[1:], strict=False):
        if before.source == after.source:
            assert after.end > before.end


def test_sentences_do_not_cross_paragraphs():
    text = "Heading without a full stop\n\nFirst sentence here. Second one."
    spans = sentence_spans(text)
    assert [text[s.start : s.end] for s in spans] == [
        "Heading without a full stop",
        "First sentence here.",
        "Second one.",
    ]


def test_abbreviations_decimals_and_quotes_do_not_end_a_sentence():
    text = (
        "The U.S. military said on Jan. 5 that Mr. Smith, 45, left. He paid $3.5 million to Dr. Jones Inc. on "
        'Friday.\n\n"We will not negotiate," said Gen. Tiani. The junta met at 10 a.m. in Niamey.'
    )
    assert [text[s.start : s.end] for s in sentence_spans(text)] == [
        "The U.S. military said on Jan. 5 that Mr. Smith, 45, left.",
        "He paid $3.5 million to Dr. Jones Inc. on Friday.",
        '"We will not negotiate," said Gen. Tiani.',
        "The junta met at 10 a.m. in Niamey.",
    ]
