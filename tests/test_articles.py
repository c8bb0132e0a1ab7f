"""Citations always point at the text they quote: articles are read the one way the loader reads
them, and a file edited or deleted under a running assistant is never cited at stale offsets."""

from pathlib import Path

import pytest

from rag import Assistant, StaleArticleError, build_index
from rag.app.page import render_sources

from .conftest import TROOPS

QUESTION = "Which countries had troops in Niger?"
CP1252 = (
    " date 2023-11-20 Caf\xe9 owners in Niamey said the junta\x92s curfew \x96 now in its third week \x96 hurt trade."
)
CP1252_BYTES = CP1252.encode("latin-1")


def test_a_cp1252_article_is_cited_and_shown_in_its_context(corpus, assistant):
    (corpus.corpus_dir / "cafe.txt").write_bytes(CP1252_BYTES)
    build_index(corpus, embedder=assistant.embedder)
    cafe = Assistant(corpus, generator=assistant.generator, update=False)
    answer = cafe.ask("What did café owners in Niamey say hurt trade?")
    cited = [c for c in answer.citations if c.source == "cafe.txt"]
    assert cited, answer
    for c in cited:
        assert cafe.article_text(c.source)[c.start : c.end] == c.text
    panel = render_sources(answer, 1, cafe.article_text)
    assert "<mark>" in panel and "Café owners" in panel


def test_an_edited_article_is_not_cited_at_stale_offsets(corpus, assistant):
    build_index(corpus, embedder=assistant.embedder)
    running = Assistant(corpus, generator=assistant.generator, update=False)
    before = running.ask(QUESTION)
    cited = {c.source for c in before.citations}
    assert any(TROOPS in c.text for c in before.citations)
    for source in cited:  # every offset moves: a paragraph is added at the top
        path = corpus.corpus_dir / source
        path.write_text(" date 2023-11-11 A new first paragraph, added after indexing.\n\n" + path.read_text())
    after = running.ask(QUESTION)
    for c in after.citations:
        assert (corpus.corpus_dir / c.source).read_text()[c.start : c.end] == c.text
        assert c.source not in cited
    assert any("changed on disk" in note for note in after.notes)
    with pytest.raises(StaleArticleError, match="rag index"):
        running.article_text(next(iter(cited)))
    # Re-indexing brings the edited articles back, at their new offsets.
    build_index(corpus, embedder=assistant.embedder)
    running.reload()
    fresh = running.ask(QUESTION)
    assert any(TROOPS in c.text and c.source in cited for c in fresh.citations)
    for c in fresh.citations:
        assert (corpus.corpus_dir / c.source).read_text()[c.start : c.end] == c.text


def test_a_deleted_article_is_not_cited(corpus, assistant):
    build_index(corpus, embedder=assistant.embedder)
    running = Assistant(corpus, generator=assistant.generator, update=False)
    for path in Path(corpus.corpus_dir).glob("*.txt"):
        path.unlink()
    answer = running.ask(QUESTION)
    assert not answer.answered and not answer.citations
    assert any("changed on disk" in note for note in answer.notes)
