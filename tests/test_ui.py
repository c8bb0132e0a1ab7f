"""The chat page, served on loopback and called through its Gradio API as a client would."""

import socket

import pytest

from rag.ui import build

from .conftest import TROOPS


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def page_url(assistant):
    page = build(assistant).queue()
    port = free_port()
    page.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    page.close()


def test_page_answers_with_citations(page_url):
    from gradio_client import Client

    client = Client(page_url, verbose=False)
    text, sources = client.predict("Which countries had troops in Niger?", api_name="/ask")
    assert "Italy" in text
    assert TROOPS in sources
