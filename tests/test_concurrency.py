"""Twenty clients asking at once through the page's Gradio API on loopback: every request is
answered or refused cleanly, none is lost, and the latency is reported."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest

from rag import Assistant, Config
from rag.app.page import build

CLIENTS = 20
# Short questions, answerable and not, so the whole run stays near a minute on 2 cores.
QUESTIONS = (
    "Which countries had troops in Niger?",
    "Who is the ousted president of Niger?",
    "Who won the 2022 World Cup?",
    "Who leads Niger's junta?",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def fast(seed_config: Config) -> Assistant:
    # The 0.5B model keeps 20 serialised answers near a minute; the page and queue are the same.
    return Assistant(replace(seed_config, model="qwen2.5-0.5b"), update=True)


@pytest.fixture(scope="module")
def page_url(fast: Assistant):
    # The queue keeps waiting requests (no max_size) and runs one generation at a time.
    page = build(fast).queue(max_size=None)
    port = free_port()
    page.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    page.close()


def test_twenty_concurrent_clients_are_all_answered_or_refused(page_url, fast: Assistant, capsys):
    from gradio_client import Client

    # As on a running server, the few-shot prefix is in the KV cache before the first question: a
    # prompt pre-filled whole can decode differently from one whose prefix came from the cache.
    fast.warm_up()
    expected = {q: fast.ask(q).text for q in QUESTIONS}

    def ask(n: int) -> tuple[float, str, str]:
        clock = time.perf_counter()
        client = Client(page_url, verbose=False)
        text, sources = client.predict(QUESTIONS[n % len(QUESTIONS)], api_name="/ask")
        return time.perf_counter() - clock, text, sources

    clock = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(ask, n) for n in range(CLIENTS)]
        results = [f.result(timeout=300) for f in futures]  # a lost request fails here, not hangs
    wall = time.perf_counter() - clock

    latencies = np.array([r[0] for r in results])
    for (_, text, sources), n in zip(results, range(CLIENTS), strict=True):
        assert isinstance(text, str) and text and isinstance(sources, str)
        assert not text.startswith(("Error", "⚠️")), text
        # Each client gets the answer to its own question, as asked alone (greedy decoding).
        assert text == expected[QUESTIONS[n % len(QUESTIONS)]]
    p50, p95 = np.percentile(latencies, [50, 95])
    figures = (
        f"{CLIENTS} concurrent clients: all answered in {wall:.1f} s; latency p50 {p50:.1f} s, "
        f"p95 {p95:.1f} s, max {latencies.max():.1f} s; {CLIENTS / wall:.2f} answers/s"
    )
    with capsys.disabled():
        print(f"\n{figures}")
