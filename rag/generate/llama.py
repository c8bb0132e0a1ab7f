"""Generation backends: one method, `stream(messages)`, yielding text pieces as they are made."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from ..config import Config
from ..errors import BackendError, ModelNotFoundError
from .catalogue import resolve


class Generator(Protocol):
    name: str

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]: ...


class LlamaCppGenerator:
    """A GGUF model run in this process by llama-cpp-python, loaded once and reused.

    llama-cpp-python keeps the tokens of the previous call and evaluates only what differs, so the
    fixed instruction and few-shot prefix is processed once per process, not once per question.
    """

    def __init__(self, model_path: Path, threads: int, context_tokens: int, temperature: float) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelNotFoundError("llama-cpp-python is not installed: pip install llama-cpp-python") from exc
        self.name = model_path.name
        self.temperature = temperature
        self._lock = threading.Lock()
        try:
            self._llm = Llama(
                model_path=str(model_path),
                n_ctx=context_tokens,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=512,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise BackendError(f"llama.cpp could not load {model_path}: {exc}") from exc

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        # One llama.cpp context cannot serve two requests at once; concurrent users take turns.
        with self._lock:
            pieces = self._llm.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=self.temperature,
                stream=True,
            )
            for piece in pieces:
                text = piece["choices"][0]["delta"].get("content")  # type: ignore[index]
                if text:
                    yield text


def load_generator(config: Config) -> Generator:
    if config.backend == "llama":
        path = resolve(config.model, config.models_dir)
        return LlamaCppGenerator(path, config.threads, config.context_tokens, config.temperature)
    if config.backend == "openai":
        from .openai import OpenAIGenerator

        return OpenAIGenerator(config)
    raise BackendError(f"unknown backend {config.backend!r}: use 'llama' or 'openai'")
