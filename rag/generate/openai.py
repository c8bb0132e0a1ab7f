"""Generation over HTTP from any OpenAI-compatible server: llama.cpp's `llama-server`, vLLM, or
llama-cpp-python's `python -m llama_cpp.server`. The answer streams as server-sent events from
`POST {server_url}/chat/completions`; retrieval, the prompt and verification stay in this process.

A request that fails before its first token (server starting, restarting, briefly overloaded) is
retried with exponential backoff. Once text has been handed on, a cut stream cannot be resumed
without repeating it, so it raises `BackendError` instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from ..config import Config
from ..errors import BackendError

# Worth asking again: the server is overloaded, restarting or behind a proxy that lost it.
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class _Retry(Exception):
    """A failure before the first token: safe to ask again."""


class OpenAIGenerator:
    """Streams chat completions from an OpenAI-compatible server at `config.server_url`."""

    def __init__(self, config: Config) -> None:
        import httpx

        self.url = config.server_url.rstrip("/")
        self.model = config.server_model
        self.name = f"{self.model or 'server'} at {self.url}"
        self.temperature = config.temperature
        self.retries = config.server_retries
        self.backoff = config.server_backoff
        # The read timeout bounds the wait for each piece of the stream, not the whole answer.
        timeout = httpx.Timeout(config.server_timeout, connect=min(5.0, config.server_timeout))
        self._client = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        payload: dict[str, Any] = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": self.temperature,
            "stream": True,
        }
        for attempt in range(self.retries + 1):
            started = False
            try:
                payload["model"] = self.model or self._served_model()
                for piece in self._attempt(payload):
                    started = True
                    yield piece
                return
            except _Retry as exc:
                if started or attempt == self.retries:
                    raise BackendError(
                        f"the generation server at {self.url} failed {attempt + 1} times ({exc}); "
                        f"check that it is running (see README, 'Scaling up') or use --backend llama"
                    ) from None
                time.sleep(self.backoff * 2**attempt)

    def _attempt(self, payload: dict[str, Any]) -> Iterator[str]:
        """One request. Raises _Retry for failures before the first token, BackendError for the rest."""
        import httpx

        started = False
        finished = False
        try:
            with self._client.stream("POST", f"{self.url}/chat/completions", json=payload) as response:
                if response.status_code != 200:
                    detail = _error_detail(response.read())
                    if response.status_code in _RETRY_STATUS:
                        raise _Retry(f"HTTP {response.status_code}: {detail}")
                    raise BackendError(
                        f"the generation server at {self.url} refused the request "
                        f"(HTTP {response.status_code}: {detail})"
                    )
                for line in response.iter_lines():
                    data = _sse_data(line)
                    if data is None:
                        continue
                    if data == "[DONE]":
                        break
                    event = _parse_event(data, self.url)
                    choice = (event.get("choices") or [{}])[0]
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        started = True
                        yield text
                    if choice.get("finish_reason"):
                        finished = True
        except httpx.TransportError as exc:  # connect, read and protocol errors, timeouts
            if not started:
                raise _Retry(f"{type(exc).__name__}: {exc or 'no detail'}") from None
            raise BackendError(
                f"the generation server at {self.url} stopped in the middle of an answer "
                f"({type(exc).__name__}: {exc or 'connection lost'}); ask again when it is back"
            ) from None
        if not finished:
            # llama_cpp.server ends a stream early, without a finish reason, when its generation
            # fails or when another request arrives and it runs with --interrupt_requests true.
            raise BackendError(
                f"the generation server at {self.url} ended the answer before it was finished; "
                f"if it is llama_cpp.server, start it with --interrupt_requests false"
            )

    def _served_model(self) -> str:
        """The model id the server serves (vLLM insists on it; llama.cpp servers accept any)."""
        import httpx

        try:
            response = self._client.get(f"{self.url}/models")
        except httpx.TransportError as exc:
            raise _Retry(f"{type(exc).__name__}: {exc or 'no detail'}") from None
        if response.status_code in _RETRY_STATUS:
            raise _Retry(f"HTTP {response.status_code} from /models")
        try:
            self.model = str(response.json()["data"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise BackendError(
                f"{self.url}/models does not list a model (HTTP {response.status_code}); "
                f"is this an OpenAI-compatible server? Set the model with RAG_SERVER_MODEL"
            ) from exc
        self.name = f"{self.model} at {self.url}"
        return self.model


def _sse_data(line: str) -> str | None:
    """The payload of a `data:` line; None for blank lines, comments (pings) and other fields."""
    if not line.startswith("data:"):
        return None
    return line[5:].strip()


def _parse_event(data: str, url: str) -> dict[str, Any]:
    try:
        event = json.loads(data)
    except ValueError:
        raise BackendError(f"the generation server at {url} sent a malformed event: {data[:200]!r}") from None
    if not isinstance(event, dict):
        raise BackendError(f"the generation server at {url} sent a malformed event: {data[:200]!r}")
    if event.get("error"):
        raise BackendError(f"the generation server at {url} reported an error: {_error_detail(event)}")
    return event


def _error_detail(body: bytes | dict[str, Any]) -> str:
    if isinstance(body, bytes):
        try:
            body = json.loads(body)
        except ValueError:
            return body[:300].decode("utf-8", "replace") or "no detail"
    if isinstance(body, dict):
        error = body.get("error", body.get("detail", body))
        if isinstance(error, dict):
            error = error.get("message", error)
        return str(error)[:300]
    return str(body)[:300]
