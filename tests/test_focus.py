"""The sentences the model reads, chosen from the retrieved passages (real embedder and index)."""

import pytest

from rag.search.focus import focus

from .conftest import TROOPS


@pytest.mark.parametrize(
    ("question", "evidence"),
    [
        ("Which countries had troops in Niger?", TROOPS),
        ("In which city is Niger's military junta based?", "the military junta in Niamey"),
        ("What natural resources make Niger strategically important?", "uranium and oil resources"),
    ],
)
def test_the_few_sentences_shown_hold_the_evidence(assistant, question, evidence):
    query = assistant.embedder.embed([question])[0]
    hits = assistant.retriever.search(question, 6, query=query)
    shown = focus(question, query, hits, assistant.index.sentences.of, 5)
    assert len(shown) == 5
    texts = {
        text for hit in hits for span, text in hit.chunk.sentence_texts() if (hit.chunk.source, span.start) in shown
    }
    assert len(texts) == 5
    assert any(evidence in text for text in texts)
