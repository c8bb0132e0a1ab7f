"""Generation backends: one method, `stream(messages)`, yielding text pieces as they are made."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
            with plain_weight_buffers_on_amx():
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


@contextmanager
def plain_weight_buffers_on_amx() -> Iterator[None]:
    """On a CPU with AMX, load the weights without llama.cpp's extra (repacked) buffer types: its
    AMX matrix product crashes the process on Q4_K models (seen here on the first decode; reported
    as ggml-org/llama.cpp#20824). llama-cpp-python does not expose the model parameter, so the
    default parameters it starts from are changed while the model loads. Elsewhere, nothing changes."""
    import llama_cpp.llama_cpp as llama_cpp  # the module llama_cpp.Llama reads its defaults from

    if b"AMX_INT8 = 1" not in llama_cpp.llama_print_system_info():
        yield
        return
    default = llama_cpp.llama_model_default_params

    def without_extra_buffers():  # type: ignore[no-untyped-def]
        params = default()
        params.use_extra_bufts = False
        return params

    llama_cpp.llama_model_default_params = without_extra_buffers
    try:
        yield
    finally:
        llama_cpp.llama_model_default_params = default


def load_generator(config: Config) -> Generator:
    if config.backend == "llama":
        path = resolve(config.model, config.models_dir)
        return LlamaCppGenerator(path, config.threads, config.context_tokens, config.temperature)
    if config.backend == "openai":
        from .openai import OpenAIGenerator

        return OpenAIGenerator(config)
    raise BackendError(f"unknown backend {config.backend!r}: use 'llama' or 'openai'")
