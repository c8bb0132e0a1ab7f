"""The chat page's Python side: its Gradio API as a client calls it, the rendering of answers,
refusals and errors, and adding uploaded articles to the library. Browser tests: test_page.py."""

import socket
from pathlib import Path

import pytest

from rag import REFUSAL, Answer, Assistant, Citation, Config, ModelNotFoundError, QuestionError
from rag.app.page import Library, build, parse_filters, render_answer, render_draft, render_error, render_sources, start

from .conftest import SEEDS, TROOPS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def page_url(assistant):
    page = build(assistant)
    yield start(page, port=free_port(), block=False)
    page.close()


def test_page_answers_with_citations(page_url):
    from gradio_client import Client

    client = Client(page_url, verbose=False)
    text, sources = client.predict("Which countries had troops in Niger?", api_name="/ask")
    assert "Italy" in text
    assert TROOPS in sources


def test_page_binds_loopback_by_default():
    import inspect

    assert inspect.signature(start).parameters["host"].default == "127.0.0.1"


def test_citation_markers_link_to_their_source_cards_and_the_sentence_is_marked(seed_config, assistant):
    text = (seed_config.corpus_dir / "000_e4d5b5d28518737a.txt").read_text()
    start_at = text.index("Under ousted President Bazoum")
    end_at = text.index(".", text.index(TROOPS)) + 1
    citation = Citation(1, "000_e4d5b5d28518737a.txt", "2023-11-11", start_at, end_at, text[start_at:end_at])
    answer = Answer("Which countries had troops in Niger?", "France and Italy [1].", True, (citation,))
    link = '<a class="cite" href="#cite-3-1" title="open source 1">[1]</a>'
    assert f"France and Italy {link}." in render_answer(answer, 3)
    panel = render_sources(answer, 3, assistant.article_text, {"000_e4d5b5d28518737a.txt": ("003_x.txt",)})
    assert 'id="cite-3-1"' in panel
    assert f"<mark>{citation.text}</mark>" in panel
    assert "Putin has previously called" in panel  # the article context after the sentence
    assert "2023-11-11" in panel and "Same story also in <code>003_x.txt</code>" in panel


def test_refusal_is_its_own_state_not_an_error():
    answer = Answer("What is the population of Niger?", REFUSAL, False)
    assert "state-refusal" in render_answer(answer, 1) and "state-error" not in render_answer(answer, 1)
    assert "nothing is claimed" in render_sources(answer, 1)


def test_errors_say_what_to_do():
    chat, panel = render_error(ModelNotFoundError("model x is not installed; run: rag models install x"))
    assert "state-error" in chat and "rag models install x" in chat
    assert "Choose another model" in panel


def test_filters_are_checked():
    assert parse_filters(["a.txt"], "2023-08-01", "").date_from == "2023-08-01"
    with pytest.raises(QuestionError, match="not a date"):
        parse_filters([], "last week", "")
    with pytest.raises(QuestionError, match="empty"):
        parse_filters([], "2023-12-01", "2023-01-01")


def test_both_outlets_are_cited_when_both_carry_the_fact(assistant, seed_config):
    answer = assistant.ask("Who is the ousted president of Niger?")
    assert {c.source for c in answer.citations} == {"000_e4d5b5d28518737a.txt", "003_3fa78a0fed2da99f.txt"}
    panel = render_sources(answer, 1, assistant.article_text)
    assert panel.count('class="cite-card"') == len(answer.citations) and "from 2 article(s)" in panel


def test_unknown_model_is_a_clear_error(assistant):
    with pytest.raises(ModelNotFoundError, match="choose one"):
        Library(assistant.config, assistant).assistant("no-such-model.gguf")


def test_upload_adds_good_articles_rejects_bad_ones_and_keeps_the_rest(corpus, assistant, tmp_path):
    library = Library(corpus, Assistant(corpus, generator=assistant.generator, update=True))
    before = dict(library.assistant().index.documents)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    files = {
        "solar.txt": b" date 2023-12-02 Agadez opened a solar power plant of 30 megawatts on Saturday.\n",
        "undated.txt": b"The council of Zinder approved a new market hall.\n",
        "empty.txt": b"  \n",
        "image.txt": b"\x89PNG\x00\x00",
        "notes.docx": b"PK\x03\x04",
        "broken.pdf": b"%PDF-1.4",
        "000_e4d5b5d28518737a.txt": b"A different article under a name already in the library.\n",
        "copy.txt": (SEEDS / "003_3fa78a0fed2da99f.txt").read_bytes(),
    }
    for name, data in files.items():
        (uploads / name).write_bytes(data)
    seen = []
    results = {r.name: r for r in library.add([str(uploads / n) for n in files], lambda s, m: seen.append(m))}

    assert results["solar.txt"].added and results["undated.txt"].added
    assert "date filters will skip it" in results["undated.txt"].reason
    assert "empty" in results["empty.txt"].reason
    assert "binary" in results["image.txt"].reason
    assert "rag reads" in results["notes.docx"].reason and ".pdf" in results["notes.docx"].reason
    assert "the PDF cannot be read" in results["broken.pdf"].reason
    assert "already in the library" in results["000_e4d5b5d28518737a.txt"].reason
    assert "already in the library as 003_3fa78a0fed2da99f.txt" in results["copy.txt"].reason
    assert not any(r.added for n, r in results.items() if n not in ("solar.txt", "undated.txt"))
    assert any("indexing" in m for m in seen)

    # The seed file was not overwritten, and nothing indexed before was lost.
    assert (corpus.corpus_dir / "000_e4d5b5d28518737a.txt").read_bytes() == (
        SEEDS / "000_e4d5b5d28518737a.txt"
    ).read_bytes()
    documents = library.assistant().index.documents
    assert set(documents) == {*before, "solar.txt", "undated.txt"}
    assert all(documents[s].chunk_ids == d.chunk_ids for s, d in before.items())
    assert not list(Path(corpus.corpus_dir).glob(".upload-*"))
    hits = library.assistant().retriever.search("solar power plant in Agadez", 1)
    assert hits[0].chunk.source == "solar.txt"


def test_each_model_gets_one_assistant_sharing_the_index(assistant):
    library = Library(assistant.config, assistant)
    assert {"qwen2.5-1.5b", "qwen2.5-0.5b"} <= set(library.models())
    assert library.assistant() is assistant
    fast = library.assistant("qwen2.5-0.5b")
    assert fast is library.assistant("qwen2.5-0.5b") and fast.config.model == "qwen2.5-0.5b"
    assert set(fast.index.documents) == set(assistant.index.documents)


def test_a_draft_streams_as_unchecked_and_the_answer_is_marked_checked():
    draft = render_draft("The capital of France is Abuja [4]")
    assert 'class="draft"' in draft and "not yet checked" in draft and "checking" in draft
    assert "<a" not in draft and "[4]" in draft  # no live citation link in an unchecked draft
    citation = Citation(1, "a.txt", None, 0, 5, "Hello")
    checked = render_answer(Answer("q", "Hello [1].", True, (citation,)), 1)
    assert "answer-checked" in checked and "draft" not in checked and 'class="cite"' in checked


def test_the_server_refuses_uploads_over_the_limit_and_files_outside_its_folders(page_url):
    import httpx

    big = httpx.post(
        f"{page_url}gradio_api/upload", files={"files": ("big.txt", b"x" * (Config().max_upload_bytes + 1))}, timeout=60
    )
    assert big.status_code == 413, big.text
    small = httpx.post(f"{page_url}gradio_api/upload", files={"files": ("../../small.txt", b"A small article.")})
    assert small.status_code == 200 and ".." not in small.json()[0]
    for outside in ("/etc/passwd", str(SEEDS / "000_e4d5b5d28518737a.txt")):
        assert httpx.get(f"{page_url}gradio_api/file={outside}").status_code in (403, 404)


def test_outlets_are_filter_choices_that_stand_for_their_articles_and_a_card_names_outlet_title_and_link():
    from rag.app.page import OUTLET, source_choices
    from rag.index.store import DocumentRecord

    documents = {
        "a.html": DocumentRecord("a.html", "1", "2024-02-01", (0,), outlet="Gulf Courier", title="Port reopens"),
        "e.jsonl#1": DocumentRecord("e.jsonl#1", "2", "2024-02-02", (1,), outlet="Gulf Courier"),
        "n.txt": DocumentRecord("n.txt", "3", None, (2,)),
    }
    choices = source_choices(documents)
    assert choices[0] == ("Gulf Courier (2 articles)", OUTLET + "Gulf Courier")
    assert [value for _, value in choices[1:]] == ["a.html", "e.jsonl#1", "n.txt"]
    filters = parse_filters([OUTLET + "Gulf Courier", "n.txt"], None, None, documents)
    assert sorted(filters.sources) == ["a.html", "e.jsonl#1", "n.txt"]
    with pytest.raises(QuestionError, match="no indexed article is from Daily Planet"):
        parse_filters([OUTLET + "Daily Planet"], None, None, documents)

    c = Citation(
        1, "a.html", "2024-02-01", 0, 12, "Port reopens", "Port reopens", "Gulf Courier", url="https://x.example/p"
    )
    panel = render_sources(Answer("q?", "It reopened [1].", True, (c,)), 1)
    assert '<span class="outlet">Gulf Courier</span> · <span class="headline"><a href="https://x.example/p"' in panel
    assert "<time>2024-02-01</time>" in panel
    unsafe = Citation(1, "a.html", None, 0, 12, "Port reopens", "Port", url="javascript:alert(1)")
    assert "javascript:" not in render_sources(Answer("q?", "It [1].", True, (unsafe,)), 1)
