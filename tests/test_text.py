"""What counts as a word of content, shared by BM25, focus and verification."""

from rag.text import AFFIRMED, NEGATION, content_terms, terms


def test_number_words_are_content_but_quantifiers_are_not():
    found = set(terms("Many hundred mercenaries came for the first time"))
    assert {"hundr", "first"} <= found
    assert not found & {"mani", "many"}


def test_a_negation_is_kept_as_the_texts_polarity():
    assert NEGATION in content_terms("Paris doesn't recognize them")
    assert NEGATION in content_terms("Paris does not recognize them")
    assert AFFIRMED in content_terms("Paris recognizes them")
    assert content_terms("Paris doesn't recognize them") - {NEGATION} == content_terms("Paris recognizes them") - {
        AFFIRMED
    }
