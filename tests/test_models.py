"""Model files: assembling from parts with verification, finding them, refusing bad ones."""

import hashlib
from pathlib import Path

import pytest

from rag import ModelIntegrityError, ModelNotFoundError
from rag.generate import catalogue as models
from rag.generate.catalogue import CATALOGUE, ModelSpec

from .conftest import ROOT


def fake_parts(tmp_path: Path, monkeypatch, chunks: list[bytes], published: bytes) -> ModelSpec:
    """A tiny model split over importable packages laid out like the real ones (fakemodelpartN/data/partNN.bin)."""
    for n, data in enumerate(chunks, start=1):
        folder = tmp_path / "site" / f"fakemodelpart{n}"
        (folder / "data").mkdir(parents=True)
        (folder / "__init__.py").write_text("")
        (folder / "data" / f"part{n:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    spec = ModelSpec(
        "fake",
        "fake.gguf",
        "fakemodelpart",
        "1.0",
        len(chunks),
        len(published),
        hashlib.sha256(published).hexdigest(),
        "test",
    )
    monkeypatch.setitem(CATALOGUE, "fake", spec)
    return spec


def test_install_joins_parts_atomically_and_is_idempotent(tmp_path, monkeypatch):
    fake_parts(tmp_path, monkeypatch, [b"GGUF", b"-body-", b"end"], b"GGUF-body-end")
    target = models.install("fake", tmp_path / "models")
    assert target.read_bytes() == b"GGUF-body-end"
    mtime = target.stat().st_mtime_ns
    assert models.install("fake", tmp_path / "models") == target
    assert target.stat().st_mtime_ns == mtime
    assert not list((tmp_path / "models").glob(".joining-*"))


def test_parts_that_do_not_match_the_published_hash_are_refused(tmp_path, monkeypatch):
    fake_parts(tmp_path, monkeypatch, [b"GGUF", b"-tampered-", b"end"], b"GGUF-body-end")
    with pytest.raises(ModelIntegrityError, match="pip install --force-reinstall fakemodelpart1==1.0"):
        models.install("fake", tmp_path / "models")
    assert not list((tmp_path / "models").iterdir())


def test_a_model_file_altered_after_install_is_refused(tmp_path, monkeypatch):
    fake_parts(tmp_path, monkeypatch, [b"GGUF", b"-body-", b"end"], b"GGUF-body-end")
    target = models.install("fake", tmp_path / "models")
    target.write_bytes(b"GGUF-evil-end")
    with pytest.raises(ModelIntegrityError, match="rag models install fake"):
        models.resolve("fake", tmp_path / "models")


def test_missing_parts_say_what_to_install(tmp_path, monkeypatch):
    spec = fake_parts(tmp_path, monkeypatch, [b"a"], b"ab")
    monkeypatch.setitem(CATALOGUE, "fake", ModelSpec(**{**spec.__dict__, "parts": 2}))
    with pytest.raises(ModelNotFoundError, match="fakemodelpart2==1.0"):
        models.install("fake", tmp_path / "models")


def test_real_default_model_is_installed_and_verified():
    path = models.resolve("qwen2.5-1.5b", ROOT / "models")
    assert path.stat().st_size == CATALOGUE["qwen2.5-1.5b"].size
    names = [name for name, _ in models.available(ROOT / "models")]
    assert "qwen2.5-1.5b" in names


def test_any_gguf_in_models_can_be_chosen_by_file_name_or_path(tmp_path):
    (tmp_path / "mine.gguf").write_bytes(b"GGUF")
    assert models.resolve("mine.gguf", tmp_path) == tmp_path / "mine.gguf"
    assert models.resolve(str(tmp_path / "mine.gguf"), Path("/nowhere")) == tmp_path / "mine.gguf"
    assert ("mine.gguf", tmp_path / "mine.gguf") in models.available(tmp_path)


def test_part_packages_are_found_where_pip_put_them():
    spec = CATALOGUE["qwen2.5-1.5b"]
    path = spec.part_path(1)
    assert path is not None and path.name == "part01.bin" and "site-packages" in str(path)
