"""The OpenAI-compatible backend: against a real `llama_cpp.server` on loopback, and against a
scripted loopback server for retries and broken streams."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from rag import Answer, Assistant, BackendError, Config, Draft
from rag.generate.openai import OpenAIGenerator

from .conftest import ROOT

SMALL_MODEL = ROOT / "models" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
QUESTION = "Which countries had troops in Niger?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, log: Path) -> subprocess.Popen[bytes]:
    """`python -m llama_cpp.server` with the 0.5B model on loopback, ready to answer. Its chatty
    log goes to a file: a pipe nobody reads fills up and stalls the server."""
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(SMALL_MODEL),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_threads",
        "2",
        "--n_ctx",
        str(Config().context_tokens),
        # Its default cuts a stream short when another request arrives.
        "--interrupt_requests",
        "false",
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    process.kill()
    raise RuntimeError("llama_cpp.server did not become ready within 90 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not SMALL_MODEL.exists():
        pytest.fail(f"{SMALL_MODEL} is missing: run scripts/setup")
    port = free_port()
    process = start_server(port, tmp_path_factory.mktemp("server") / "server.log")
    yield f"http://127.0.0.1:{port}/v1"
    stop(process)


def test_the_seed_question_is_answered_and_verified_through_the_server(seed_config: Config, server_url: str):
    config = replace(seed_config, backend="openai", server_url=server_url)
    assistant = Assistant(config, update=True)
    items = list(assistant.stream(QUESTION))
    final = items[-1]
    assert isinstance(final, Answer)
    assert all(isinstance(item, Draft) for item in items[:-1])
    assert assistant.generator.name.endswith(f" at {server_url}")
    # What verification guarantees whatever the model: an answer with exact citations, or the refusal.
    if final.answered:
        assert final.citations
        for c in final.citations:
            assert (config.corpus_dir / c.source).read_text()[c.start : c.end] == c.text
    else:
        assert final.text == "The articles don't say." and not final.citations

    # The same model in process writes the same draft (greedy decoding), and it is verified the same way.
    local = Assistant(replace(seed_config, model="qwen2.5-0.5b"), update=False).ask(QUESTION)
    assert (local.draft, local.text, local.citations) == (final.draft, final.text, final.citations)


def test_a_server_that_is_down_gives_a_clear_error_after_bounded_retries(seed_config: Config):
    config = replace(
        seed_config, backend="openai", server_url=f"http://127.0.0.1:{free_port()}/v1", server_backoff=0.05
    )
    clock = time.monotonic()
    with pytest.raises(BackendError, match=r"failed 4 times .*ConnectError.*--backend llama"):
        list(OpenAIGenerator(config).stream([{"role": "user", "content": "hi"}], 8))
    assert time.monotonic() - clock < 5  # 0.05 + 0.1 + 0.2 s of backoff


def test_a_server_that_dies_mid_stream_gives_a_clear_error(seed_config: Config, tmp_path: Path):
    port = free_port()
    process = start_server(port, tmp_path / "server.log")
    try:
        config = replace(seed_config, backend="openai", server_url=f"http://127.0.0.1:{port}/v1")
        prompt = [{"role": "user", "content": "Count from 1 to 200, one per line."}]
        pieces = OpenAIGenerator(config).stream(prompt, 400)
        assert next(pieces)
        os.kill(process.pid, signal.SIGKILL)
        with pytest.raises(BackendError, match="stopped in the middle of an answer"):
            for _ in range(1000):  # whatever was already buffered, then the cut
                next(pieces)
    finally:
        stop(process)


# --- a scripted server, for what a real one does only by accident --------------------------------


def event(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    chunk = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(chunk)}\n\n".encode()


class Script:
    """Responses handed out in order, one per POST; GET /models lists one model."""

    def __init__(self, *responses: tuple[int, bytes]) -> None:
        self.responses = list(responses)
        self.requests: list[dict[str, object]] = []


@pytest.fixture()
def scripted() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps({"object": "list", "data": [{"id": "scripted-model"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            script.requests.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            status, body = script.responses.pop(0)
            self.send_response(status)
            self.send_header("Content-Type", "text/event-stream" if status == 200 else "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", script
    server.shutdown()
    server.server_close()


def generator(url: str, tmp_path: Path, **overrides: object) -> OpenAIGenerator:
    return OpenAIGenerator(Config(server_url=url, server_backoff=0.01, index_dir=tmp_path, **overrides))  # type: ignore[arg-type]


def test_a_busy_server_is_retried_before_the_first_token(scripted, tmp_path):
    url, script = scripted
    ok = event("Hello") + event(" there") + event(finish="stop") + b"data: [DONE]\n\n"
    script.responses += [(503, b'{"error": {"message": "loading model"}}'), (200, ok)]
    assert "".join(generator(url, tmp_path).stream([{"role": "user", "content": "hi"}], 8)) == "Hello there"
    assert len(script.requests) == 2
    assert script.requests[1]["model"] == "scripted-model" and script.requests[1]["temperature"] == 0.0


def test_a_bad_request_is_not_retried_and_says_why(scripted, tmp_path):
    url, script = scripted
    script.responses.append((400, b'{"error": {"message": "Requested tokens exceed context window"}}'))
    with pytest.raises(BackendError, match="HTTP 400: Requested tokens exceed context window"):
        list(generator(url, tmp_path).stream([{"role": "user", "content": "hi"}], 8))
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    "body",
    [event("Half an ans") + b"data: [DONE]\n\n", event("Half an ans"), event("x") + b'data: {"error": "boom"}\n\n'],
    ids=["done-without-finish", "no-done", "error-event"],
)
def test_an_answer_cut_short_is_an_error_not_a_short_answer(scripted, tmp_path, body: bytes):
    url, script = scripted
    script.responses.append((200, body))
    with pytest.raises(BackendError, match="ended the answer before it was finished|reported an error: boom"):
        list(generator(url, tmp_path).stream([{"role": "user", "content": "hi"}], 8))
    assert len(script.requests) == 1
