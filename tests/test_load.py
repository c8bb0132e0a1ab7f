import codecs
from pathlib import Path

import pytest

from rag.config import Config
from rag.errors import ArticleError
from rag.index.chunk import chunk_article
from rag.index.load import load_articles
from rag.index.plain import headline, parse_article, read_text

from .conftest import SEEDS

LIMIT = Config().max_article_bytes


def test_seed_date_header_is_metadata_and_offsets_index_the_file():
    articles, errors = load_articles(SEEDS)
    assert not errors
    assert {a.date for a in articles} == {"2023-11-11", "2023-08-16"}
    for article in articles:
        raw = (SEEDS / article.source).open().read()
        assert article.text == raw
        assert raw[: article.body_start].strip().startswith("date")
        assert not article.text[article.body_start :].startswith("date")


def test_file_without_header_or_in_another_encoding_still_loads():
    article = parse_article("plain.txt", "Café owners in Zürich protested on Monday.".encode("cp1252"))
    assert article.date is None
    assert article.body_start == 0
    assert article.text.startswith("Café")


def test_windows_newlines_match_what_open_returns(tmp_path: Path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(b" date 2024-01-02 First line.\r\nSecond line.\r\n")
    articles, _ = load_articles(tmp_path)
    assert articles[0].text == path.open().read()
    assert articles[0].date == "2024-01-02"


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"\x00\x01binary", "binary"),
        (b"  \n ", "empty"),
        (codecs.BOM_UTF8, "empty"),
        (codecs.BOM_UTF16_LE, "empty"),
        (codecs.BOM_UTF16_LE + "A\x00B".encode("utf-16-le"), "binary"),
        (codecs.BOM_UTF16_LE + b"A\x00B", "not valid UTF-16"),
    ],
)
def test_unreadable_articles_are_reported_not_fatal(tmp_path: Path, data: bytes, reason: str):
    (tmp_path / "bad.txt").write_bytes(data)
    (tmp_path / "good.txt").write_text("A good article. It has two sentences.")
    articles, errors = load_articles(tmp_path)
    assert [a.source for a in articles] == ["good.txt"]
    assert len(errors) == 1 and "bad.txt" in str(errors[0]) and reason in str(errors[0])


def test_missing_folder_is_a_clear_error(tmp_path: Path):
    with pytest.raises(ArticleError, match="no such folder"):
        load_articles(tmp_path / "nowhere")


@pytest.fixture()
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every file the loader reads, resolved: a file that must not be read is not in it."""
    read: list[Path] = []
    read_bytes = Path.read_bytes

    def spy(path: Path) -> bytes:
        read.append(path.resolve())
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", spy)
    return read


def corpus_beside_a_secret(tmp_path: Path) -> tuple[Path, Path]:
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    corpus.mkdir()
    outside.mkdir()
    (corpus / "good.txt").write_text("A good article. It has two sentences.")
    secret = outside / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash")
    return corpus, secret


def test_link_to_a_file_outside_the_folder_is_skipped_and_never_read(tmp_path: Path, reads: list[Path]):
    corpus, secret = corpus_beside_a_secret(tmp_path)
    (corpus / "passwd.txt").symlink_to(secret)
    articles, errors = load_articles(corpus)
    assert [a.source for a in articles] == ["good.txt"]
    assert len(errors) == 1 and str(errors[0]).startswith("passwd.txt: links outside the article folder")
    assert secret not in reads


def test_linked_folder_pointing_outside_is_not_followed(tmp_path: Path, reads: list[Path]):
    corpus, secret = corpus_beside_a_secret(tmp_path)
    (corpus / "elsewhere").symlink_to(secret.parent, target_is_directory=True)
    articles, errors = load_articles(corpus)
    assert [a.source for a in articles] == ["good.txt"] and not errors
    assert secret not in reads


def test_link_inside_the_folder_loads_unless_its_target_is_an_article(tmp_path: Path):
    (tmp_path / "drafts").mkdir()
    (tmp_path / "drafts" / "story.draft").write_text("A draft kept aside. It is linked as an article.")
    (tmp_path / "story.txt").symlink_to(tmp_path / "drafts" / "story.draft")
    (tmp_path / "good.txt").write_text("A good article. It has two sentences.")
    (tmp_path / "latest.txt").symlink_to("good.txt")
    articles, errors = load_articles(tmp_path)
    assert [a.source for a in articles] == ["good.txt", "story.txt"]
    assert len(errors) == 1 and str(errors[0]).startswith("latest.txt: a link to good.txt")


def test_a_linked_article_folder_loads(tmp_path: Path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "good.txt").write_text("A good article. It has two sentences.")
    (tmp_path / "corpus").symlink_to(tmp_path / "real", target_is_directory=True)
    articles, errors = load_articles(tmp_path / "corpus")
    assert [a.source for a in articles] == ["good.txt"] and not errors


ARTICLE = " date 2024-01-02 Café owners in Zürich protested.\r\nThe mayor, Ολγα, said «no»."


@pytest.mark.parametrize(
    "mark, encoding",
    [
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
    ],
    ids=["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"],
)
def test_utf16_and_utf32_articles_load_by_their_byte_order_mark(tmp_path: Path, mark: bytes, encoding: str):
    path = tmp_path / "wide.txt"
    path.write_bytes(mark + ARTICLE.encode(encoding))
    articles, errors = load_articles(tmp_path)
    assert not errors
    assert articles[0].text == ARTICLE.replace("\r\n", "\n") == read_text(path)
    assert articles[0].date == "2024-01-02" and articles[0].text[articles[0].body_start :].startswith("Café")


@pytest.mark.parametrize("header", ["", " date 2024-01-02 "], ids=["no-header", "date-header"])
def test_utf8_with_a_byte_order_mark_keeps_offsets_into_what_open_returns(tmp_path: Path, header: str):
    path = tmp_path / "bom.txt"
    path.write_bytes(codecs.BOM_UTF8 + (header + "First sentence here. Second one follows.\r\nThird.").encode())
    articles, errors = load_articles(tmp_path)
    raw = path.open(encoding="utf-8").read()
    assert not errors and articles[0].text == raw == read_text(path)
    assert articles[0].date == ("2024-01-02" if header else None)
    assert articles[0].body_start == len("\ufeff" + header)
    chunks = chunk_article(articles[0], 20, 0)
    assert chunks and chunks[0].text == "First sentence here."
    assert all(raw[c.start : c.end] == c.text for c in chunks)


def test_read_text_reads_a_file_in_another_encoding_as_the_loader_does(tmp_path: Path):
    path = tmp_path / "cp1252.txt"
    path.write_bytes("Café owners said «no».\r\n".encode("cp1252"))
    articles, _ = load_articles(tmp_path)
    assert read_text(path) == articles[0].text == "Café owners said «no».\n"


def test_an_article_over_the_size_limit_is_skipped_unread(tmp_path: Path, reads: list[Path]):
    (tmp_path / "huge.txt").write_bytes(b"A sentence. " * 100)
    (tmp_path / "good.txt").write_bytes(b"A sentence. " * 50)
    articles, errors = load_articles(tmp_path, Config(max_article_bytes=600))
    assert [a.source for a in articles] == ["good.txt"]
    assert len(errors) == 1
    assert str(errors[0]) == (
        "huge.txt: 1,200 bytes is over the limit of 600 bytes for an article; "
        "raise it with RAG_MAX_ARTICLE_BYTES (Config.max_article_bytes)"
    )
    assert (tmp_path / "huge.txt").resolve() not in reads


def test_the_size_limit_is_a_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with (tmp_path / "huge.txt").open("wb") as huge:
        huge.truncate(Config().max_article_bytes + 1)  # sparse: nothing is written
    assert "over the limit of 5,000,000 bytes" in str(load_articles(tmp_path)[1][0])
    monkeypatch.setenv("RAG_MAX_ARTICLE_BYTES", "1234")
    assert Config.from_env().max_article_bytes == 1234


@pytest.mark.parametrize(
    ("body", "title"),
    [
        ("Dockers strike in Rotterdam\n\nThe strike ended on Tuesday.", "Dockers strike in Rotterdam"),
        ("Dockers strike in Rotterdam  \n   \nThe strike ended.", "Dockers strike in Rotterdam"),
        # A lede paragraph set apart by a blank line is not a title.
        ("The dock workers' strike in Rotterdam ended on Tuesday after " + "talks " * 30 + "\n\nMore.", None),
        ("The strike ended on Tuesday.\nShips sailed again.", None),  # runs on: text, not a title
        ("Only one line", None),
        ("A headline\n\n", None),  # nothing after it
    ],
)
def test_a_short_first_line_over_a_blank_line_is_the_title(body, title):
    assert headline(body) == title


def test_the_title_follows_the_date_header():
    article = parse_article("a.txt", b" date 2022-11-04 Strike ends in Rotterdam\n\nThe strike ended on Tuesday.")
    assert (article.date, article.title) == ("2022-11-04", "Strike ends in Rotterdam")
