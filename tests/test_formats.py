"""Archives as people keep them: saved web pages, JSONL/JSON/CSV exports, PDFs and RSS/Atom files, each read into
articles with their title, outlet, author, date and URL, and the bad ones skipped with the reason."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from rag import Config, build_index
from rag.config import Fields
from rag.errors import ArticleError, ConfigError, StaleArticleError
from rag.index.articles import ArticleFiles
from rag.index.embed import Embedder
from rag.index.formats import day, read_articles
from rag.index.load import load_articles
from rag.index.store import StoredIndex

from .pdf import make_pdf

LIMIT = Config().max_article_bytes

PAGE = b"""<!DOCTYPE html><html lang="en"><head>
<title>Port of Cotonou reopens its northern terminal | Gulf Courier</title>
<meta property="og:site_name" content="Gulf Courier"><meta name="author" content="Ama Owusu">
<meta property="article:published_time" content="2024-02-01T08:00:00Z">
<link rel="canonical" href="https://courier.example/benin/cotonou-terminal">
</head><body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<div id="cookie-banner">We use cookies to improve your experience. Accept all cookies to continue.</div>
<article><h1>Port of Cotonou reopens its northern terminal</h1>
<p>The port of Cotonou in Benin reopened its northern terminal on Monday after a year of repairs.</p>
<p>Officials said the terminal would handle grain shipments bound for Niger and Burkina Faso.</p>
<p>The harbour master said ships had waited up to nine days for a berth during the works.</p>
</article><footer>Copyright Gulf Courier. All rights reserved. Subscribe to our newsletter.</footer></body></html>"""

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Sahel Wire</title><link>https://wire.example/</link>
<item><title>Defence chiefs meet in Accra</title><link>https://wire.example/accra</link>
<pubDate>Thu, 17 Aug 2023 09:30:00 GMT</pubDate>
<description>&lt;p&gt;West African defence chiefs met in Accra on Thursday.&lt;/p&gt;
&lt;p&gt;They agreed on a standby force.&lt;/p&gt;</description></item>
<item><title>A headline with nothing under it</title><link>https://wire.example/empty</link></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>River Times</title>
<entry><title>Flood waters recede in Niamey</title><link href="https://river.example/niamey"/>
<updated>2024-09-03T06:00:00Z</updated><author><name>Issa Moussa</name></author>
<content type="html">&lt;p&gt;Flood waters receded in Niamey on Tuesday.&lt;/p&gt;</content></entry>
</feed>"""


def read(name: str, data: bytes, fields: Fields | None = None):
    return read_articles(name, data, fields or Fields(), LIMIT)


def test_a_saved_web_page_gives_its_text_and_metadata_without_the_boilerplate():
    (article,), skipped = read("cotonou.html", PAGE)
    assert skipped == []
    assert article.title == "Port of Cotonou reopens its northern terminal"
    assert (article.outlet, article.author, article.date) == ("Gulf Courier", "Ama Owusu", "2024-02-01")
    assert article.url == "https://courier.example/benin/cotonou-terminal"
    assert "grain shipments bound for Niger" in article.text
    for boilerplate in ("cookies", "Copyright", "Home", "newsletter"):
        assert boilerplate not in article.text
    # A paragraph a block, as in a .txt article: the headline is a sentence of its own.
    assert article.text.startswith("Port of Cotonou reopens its northern terminal\n\nThe port of Cotonou")


def test_a_page_cut_off_mid_tag_still_gives_the_text_it_has():
    cut = PAGE[: PAGE.index(b"Burkina Faso") + 5]
    (article,), _ = read("cut.html", cut)
    assert "reopened its northern terminal on Monday" in article.text and "harbour master" not in article.text


def test_a_page_with_no_article_text_is_skipped_with_the_reason():
    with pytest.raises(ArticleError, match="no article text"):
        read("blank.html", b"<html><head><title>Loading</title></head><body><script>load()</script></body></html>")
    with pytest.raises(ArticleError, match="menu.html"):
        read("menu.html", b"\x00\x01<html")


def test_a_jsonl_export_reads_common_field_names_and_reports_a_bad_line_by_number():
    lines = [
        {"headline": "Terminal reopens", "publishedAt": "2024-02-01T08:00:00Z", "body": "The terminal reopened."},
        "{not json",
        {"title": "No text here", "url": "https://x.example/1"},
        {
            "title": "Grain",
            "date": 1706774400,
            "source": {"id": "gc", "name": "Gulf Courier"},
            "text": "Grain moved.",
            "authors": ["A. Owusu", "B. Diallo"],
            "link": "https://x.example/2",
        },
    ]
    data = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines).encode()
    articles, skipped = read("export.jsonl", data)
    assert [a.source for a in articles] == ["export.jsonl#1", "export.jsonl#4"]
    first, last = articles
    assert (first.title, first.date, first.text) == (
        "Terminal reopens",
        "2024-02-01",
        "Terminal reopens\n\nThe terminal reopened.",
    )
    assert (last.outlet, last.author, last.url, last.date) == (
        "Gulf Courier",
        "A. Owusu, B. Diallo",
        "https://x.example/2",
        "2024-02-01",
    )
    assert skipped[0].startswith("export.jsonl#2: line 2 is not JSON")
    assert skipped[1].startswith("export.jsonl#3: has no text")


def test_a_json_export_may_be_a_list_or_a_news_api_answer():
    api = {"status": "ok", "articles": [{"title": "One", "content": "First story.", "publishedAt": "2024-01-02"}]}
    (article,), _ = read("api.json", json.dumps(api).encode())
    assert (article.source, article.date) == ("api.json#1", "2024-01-02")
    articles, _ = read("list.json", json.dumps([{"text": "A."}, {"text": "B."}]).encode())
    assert [a.text for a in articles] == ["A.", "B."]
    with pytest.raises(ArticleError, match="is not JSON"):
        read("broken.json", b"[{")


def test_a_csv_export_needs_a_text_column_which_the_cli_can_name():
    data = (
        b'headline,story,pub_date,publisher\nTerminal reopens,"The terminal reopened, officials said.",2024-02-01,Gulf '
    )
    data += b"Courier\n"
    (article,), _ = read("export.csv", data)  # "story" is one of the names looked for
    assert (article.source, article.title, article.outlet) == ("export.csv#2", "Terminal reopens", "Gulf Courier")
    with pytest.raises(ArticleError, match="has no text column .*--field text=COLUMN"):
        read("notext.csv", b"headline,words\nA,b\n")
    (article,), _ = read("notext.csv", b"headline,words\nA,b c\n", Fields().overridden(["text=words"]))
    assert article.text == "A\n\nb c"
    with pytest.raises(ConfigError, match="PART=NAME"):
        Fields().overridden(["body"])


def test_a_pdf_gives_its_pages_and_a_scan_or_a_locked_file_is_skipped_with_the_reason():
    data = make_pdf(
        [["The junta named a prime minister on Monday."], [], ["The summit was held in Abuja."]],
        {"Title": "Print edition", "Author": "News desk", "CreationDate": "D:20230808120000Z"},
    )
    (article,), _ = read("edition.pdf", data)
    assert (article.title, article.author, article.date) == ("Print edition", "News desk", "2023-08-08")
    third = article.text.index("The summit")
    assert len(article.pages) == 2 and article.pages[1] <= third  # page 2 is blank; page 3 holds the summit
    with pytest.raises(ArticleError, match="no text layer"):
        read("scan.pdf", make_pdf([[]]))
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt("secret", algorithm="RC4-128")
    locked = io.BytesIO()
    writer.write(locked)
    with pytest.raises(ArticleError, match="encrypted"):
        read("locked.pdf", locked.getvalue())
    with pytest.raises(ArticleError, match="the PDF cannot be read"):
        read("cut.pdf", data[: len(data) // 3])


def test_rss_and_atom_entries_are_articles_and_an_empty_feed_is_skipped():
    articles, skipped = read("wire.rss", RSS)
    (article,) = articles
    assert (article.source, article.outlet, article.date) == ("wire.rss#1", "Sahel Wire", "2023-08-17")
    assert article.url == "https://wire.example/accra"
    assert (
        article.text
        == "Defence chiefs meet in Accra\n\nWest African defence chiefs met in Accra on Thursday.\n\nThey agreed on a "
        "standby force."
    )
    assert skipped == ["wire.rss#2: the entry has no summary or content"]
    (entry,), _ = read("river.atom", ATOM)
    assert (entry.outlet, entry.author, entry.date, entry.url) == (
        "River Times",
        "Issa Moussa",
        "2024-09-03",
        "https://river.example/niamey",
    )
    with pytest.raises(ArticleError, match="not an RSS or Atom feed"):
        read("empty.xml", b"<?xml version='1.0'?><rss version='2.0'><channel><title>x</title></channel></rss>")


def test_a_feed_never_reads_a_file_or_address_its_bytes_name(tmp_path: Path):
    secret = tmp_path / "secret.xml"
    secret.write_bytes(RSS)
    with pytest.raises(ArticleError):
        read("path.xml", str(secret).encode())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-01-05", "2023-01-05"),
        ("2023-01-05T23:30:00-05:00", "2023-01-05"),
        ("2023-01-05T10:00:00Z", "2023-01-05"),
        ("Thu, 05 Jan 2023 10:00:00 GMT", "2023-01-05"),
        ("January 5, 2023", "2023-01-05"),
        (1672912800, "2023-01-05"),
        (1672912800000, "2023-01-05"),
        ("not a date", None),
        ("", None),
        (None, None),
    ],
)
def test_a_publication_date_is_read_in_the_shapes_exports_write_it(value, expected):
    assert day(value) == expected


def mixed_folder(folder: Path) -> Path:
    folder.mkdir()
    (folder / "cotonou.html").write_bytes(PAGE)
    (folder / "wire.rss").write_bytes(RSS)
    (folder / "edition.pdf").write_bytes(
        make_pdf([["The junta named a prime minister on Monday."], ["The summit was held in Abuja on Thursday."]])
    )
    (folder / "export.jsonl").write_text(
        json.dumps({"title": "Floods", "date": "2024-09-03", "outlet": "River Times", "text": "Floods hit Niamey."})
        + "\n"
    )
    (folder / "notes.txt").write_text(" date 2024-02-02 A plain note. It has two sentences.\n")
    (folder / "scan.pdf").write_bytes(make_pdf([[]]))
    (folder / "notext.csv").write_text("headline\nA\n")
    return folder


def test_a_mixed_folder_indexes_every_format_and_each_offset_indexes_the_stored_text(
    tmp_path: Path, embedder: Embedder
):
    folder = mixed_folder(tmp_path / "archive")
    config = replace(Config(), corpus_dir=folder, index_dir=tmp_path / "index")
    report = build_index(config, embedder=embedder)
    assert sorted(report.added) == ["cotonou.html", "edition.pdf", "export.jsonl#1", "notes.txt", "wire.rss#1"]
    assert {e.split(":")[0] for e in report.errors} == {"notext.csv", "scan.pdf", "wire.rss#2"}
    index = StoredIndex.load(config.index_dir)
    assert index.documents["cotonou.html"].outlet == "Gulf Courier"
    assert index.documents["export.jsonl#1"].outlet == "River Times"
    assert set(index.texts) == {"cotonou.html", "edition.pdf", "export.jsonl#1", "wire.rss#1"}  # not the .txt
    files = ArticleFiles(folder, index.documents, index.texts, config)
    for chunk in index.chunks.values():
        text = files.text(chunk.source)
        assert text[chunk.start : chunk.end] == chunk.text
        for span, sentence in chunk.sentence_texts():
            assert text[span.start : span.end] == sentence
    assert (
        (folder / "notes.txt")
        .read_text()[index.chunks[index.documents["notes.txt"].chunk_ids[0]].start :]
        .startswith("A plain note")
    )
    pdf = index.documents["edition.pdf"]
    summit = files.text("edition.pdf").index("The summit")
    assert (pdf.page(0), pdf.page(summit)) == (1, 2)


def test_an_export_re_embeds_only_the_records_that_changed_and_a_changed_record_is_never_cited(
    tmp_path: Path, embedder: Embedder
):
    folder = mixed_folder(tmp_path / "archive")
    config = replace(Config(), corpus_dir=folder, index_dir=tmp_path / "index")
    build_index(config, embedder=embedder)
    index = StoredIndex.load(config.index_dir)
    files = ArticleFiles(folder, index.documents, index.texts, config)
    assert files.unchanged("export.jsonl#1")

    export = folder / "export.jsonl"
    export.write_text(
        export.read_text().replace("Floods hit Niamey.", "Floods hit Zinder.") + json.dumps({"text": "New."}) + "\n"
    )
    assert not files.unchanged("export.jsonl#1")
    with pytest.raises(StaleArticleError, match="changed"):
        files.text("export.jsonl#1")

    report = build_index(config, embedder=embedder)
    assert (report.added, report.updated, report.unchanged) == (("export.jsonl#2",), ("export.jsonl#1",), 4)
    assert "Zinder" in StoredIndex.load(config.index_dir).texts["export.jsonl#1"]


def test_one_export_file_is_a_corpus_of_its_own(tmp_path: Path, embedder: Embedder):
    export = mixed_folder(tmp_path / "archive") / "export.jsonl"
    config = replace(Config(), corpus_dir=export, index_dir=tmp_path / "index")
    report = build_index(config, embedder=embedder)
    assert report.added == ("export.jsonl#1",)
    index = StoredIndex.load(config.index_dir)
    assert index.corpus == export
    assert (
        ArticleFiles(export, index.documents, index.texts, config).text("export.jsonl#1").endswith("Floods hit Niamey.")
    )


def test_the_size_limits_skip_a_file_unread_and_an_export_s_record_by_itself(tmp_path: Path):
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "big.jsonl").write_text(json.dumps({"text": "x " * 400}) + "\n" + json.dumps({"text": "Short."}) + "\n")
    articles, errors = load_articles(folder, Config(max_article_bytes=100))
    assert [a.source for a in articles] == ["big.jsonl#2"]
    assert "big.jsonl#1" in str(errors[0]) and "RAG_MAX_ARTICLE_BYTES" in str(errors[0])
    articles, errors = load_articles(folder, Config(max_file_bytes=100))
    assert articles == [] and "RAG_MAX_FILE_BYTES" in str(errors[0])


def test_an_answer_from_a_web_page_and_a_pdf_names_outlet_title_page_and_link(tmp_path: Path, assistant):
    from rag import Assistant

    folder = mixed_folder(tmp_path / "archive")
    config = replace(assistant.config, corpus_dir=folder, index_dir=tmp_path / "index")
    archive = Assistant(config, generator=assistant.generator, update=True)

    answer = archive.ask("Where was the summit held?", asked_on="2024-12-31")
    assert "Abuja" in answer.text, answer
    (c,) = [c for c in answer.citations if c.source == "edition.pdf"]
    assert c.page == 2 and "p. 2" in c.heading()
    assert archive.article_text(c.source)[c.start : c.end] == c.text

    answer = archive.ask("Where are the grain shipments through Cotonou bound?", asked_on="2024-12-31")
    assert "Niger" in answer.text, answer
    (c,) = answer.citations
    assert (c.outlet, c.url, c.date) == ("Gulf Courier", "https://courier.example/benin/cotonou-terminal", "2024-02-01")
    assert c.heading().startswith("Gulf Courier · “Port of Cotonou reopens its northern terminal” · 2024-02-01")


class StopsAfter:
    """The real embedder, stopped (as by Ctrl-C) when asked for its `parts`+1-th part."""

    def __init__(self, embedder: Embedder, parts: int) -> None:
        self.embedder, self.parts = embedder, parts

    def embed_chunks(self, *args, **kwargs):
        if self.parts == 0:
            raise KeyboardInterrupt
        self.parts -= 1
        return self.embedder.embed_chunks(*args, **kwargs)


def test_a_stopped_build_keeps_the_parts_it_saved_and_the_next_run_embeds_only_the_rest(
    tmp_path: Path, embedder: Embedder
):
    folder = mixed_folder(tmp_path / "archive")
    config = replace(Config(), corpus_dir=folder, index_dir=tmp_path / "index", checkpoint_chunks=1)
    lines: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        build_index(config, embedder=StopsAfter(embedder, 2), progress=lines.append, log=lines.append)
    assert sum(line.startswith("saved ") for line in lines) == 2
    assert any(line.startswith("embedding: ") and "chunk/s" in line for line in lines)  # counts and rate
    kept = StoredIndex.load(config.index_dir)
    assert len(kept.documents) == 2
    report = build_index(config, embedder=embedder)
    assert report.unchanged == 2 and len(report.added) == 3
    assert set(StoredIndex.load(config.index_dir).documents) == {
        "cotonou.html",
        "edition.pdf",
        "export.jsonl#1",
        "notes.txt",
        "wire.rss#1",
    }


def test_the_same_story_as_a_text_file_and_an_export_record_is_linked_and_names_its_outlet(
    tmp_path: Path, embedder: Embedder
):
    from .conftest import SEEDS

    folder = tmp_path / "archive"
    folder.mkdir()
    seed = sorted(SEEDS.glob("*.txt"))[0]
    (folder / seed.name).write_bytes(seed.read_bytes())
    body = seed.read_text(encoding="utf-8").split(" ", 3)[3]  # without the " date YYYY-MM-DD " header
    (folder / "wire.jsonl").write_text(json.dumps({"text": body, "outlet": "Sahel Wire", "date": "2023-11-12"}) + "\n")
    build_index(replace(Config(), corpus_dir=folder, index_dir=tmp_path / "index"), embedder=embedder)
    documents = StoredIndex.load(tmp_path / "index").documents
    assert documents[seed.name].duplicates == ("wire.jsonl#1",)
    assert documents["wire.jsonl#1"].outlet == "Sahel Wire"


def test_an_upload_into_a_library_that_is_one_export_file_is_refused(tmp_path: Path, embedder: Embedder):
    from rag.index.ingest import add_articles

    export = mixed_folder(tmp_path / "archive") / "export.jsonl"
    config = replace(Config(), corpus_dir=export, index_dir=tmp_path / "index")
    build_index(config, embedder=embedder)
    offered = tmp_path / "new.txt"
    offered.write_text("A new article. It has two sentences.")
    (result,) = add_articles(config, StoredIndex.load(config.index_dir), export, [offered], 10**6, embedder)
    assert not result.added and "the library is the one file export.jsonl" in result.reason
    assert not (tmp_path / "archive" / "new.txt").exists()
