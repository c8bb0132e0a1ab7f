"""Checksum benchmark: what verifying an index's files costs, for sha256 and blake2b.

Hashes --size bytes of random data (default 1 GB) in memory, then from a file with
`hashlib.file_digest`, as rag.index.store does when it saves an index and when it verifies one on load or
with `rag index --check`. The file has just been written, so it is read from the page cache: this is
the cost of hashing, not of the disk. A cold read of a large index is bounded by the disk as well.

    .venv/bin/python benchmarks/bench_checksum.py
    .venv/bin/python benchmarks/bench_checksum.py --size 100M --repeat 1     # smoke run
"""

from __future__ import annotations

import argparse
import hashlib
import os
import ssl
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import header, show

ALGORITHMS = ("sha256", "blake2b")
_BLOCK = 1 << 24  # bytes written at a time: slicing bytes copies, so the copy stays small


def byte_count(text: str) -> int:
    """'1G' -> 1_000_000_000, '100M', '64k', or a plain number of bytes."""
    scale = {"k": 10**3, "m": 10**6, "g": 10**9}.get(text[-1:].lower(), 1)
    return int(float(text.rstrip("kKmMgG")) * scale)


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        clock = time.perf_counter()
        run()
        times.append(time.perf_counter() - clock)
    return min(times)


def in_memory(name: str, data: bytes, repeat: int) -> list[object]:
    seconds = best_seconds(lambda: hashlib.new(name, data).hexdigest(), repeat)
    return [name, "in memory", len(data), seconds, len(data) / seconds / 1e9]


def from_file(name: str, path: Path, size: int, repeat: int) -> list[object]:
    def run() -> None:
        with open(path, "rb") as handle:
            hashlib.file_digest(handle, name).hexdigest()

    seconds = best_seconds(run, repeat)
    return [name, "from a file (page cache)", size, seconds, size / seconds / 1e9]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=byte_count, default=byte_count("1G"), help="bytes to hash: 1G, 100M...")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is shown")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the scratch file [default: the temp dir]")
    args = parser.parse_args()
    header("Checksums", {"bytes": f"{args.size:,}", "repeat": args.repeat, "openssl": ssl.OPENSSL_VERSION})

    data = os.urandom(args.size)
    rows = [in_memory(name, data, args.repeat) for name in ALGORITHMS]
    with tempfile.NamedTemporaryFile(dir=args.dir, suffix=".bin") as scratch:
        for at in range(0, args.size, _BLOCK):
            scratch.write(data[at : at + _BLOCK])
        scratch.flush()
        del data  # the file is read back through the page cache, not from this copy
        rows += [from_file(name, Path(scratch.name), args.size, args.repeat) for name in ALGORITHMS]
    show(["algorithm", "data", "bytes hashed", "seconds", "GB/s"], rows, "Checksum speed")


if __name__ == "__main__":
    main()
