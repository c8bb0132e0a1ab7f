"""Shared fixtures: a real index of the seed articles and the real default model, built once."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from rag import Assistant, Config  # noqa: E402
from rag.index.embed import Embedder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
TROOPS = "hosting troops from the United States, France, Germany, and Italy"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="session")
def seed_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The seed articles copied to a scratch corpus with its own index; models from models/."""
    home = tmp_path_factory.mktemp("seeds-home")
    shutil.copytree(SEEDS, home / "seeds")
    return replace(Config(), corpus_dir=home / "seeds", index_dir=home / "index", models_dir=ROOT / "models")


@pytest.fixture(scope="session")
def assistant(seed_config: Config) -> Assistant:
    return Assistant(seed_config, update=True)


@pytest.fixture()
def corpus(tmp_path: Path) -> Config:
    """A private copy of the seeds and an empty index folder, for tests that change them."""
    shutil.copytree(SEEDS, tmp_path / "seeds")
    return replace(Config(), corpus_dir=tmp_path / "seeds", index_dir=tmp_path / "index", models_dir=ROOT / "models")
