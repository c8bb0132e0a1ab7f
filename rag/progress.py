"""Progress of long work (indexing an archive): a bar on a terminal, log lines with counts and rate elsewhere."""

from __future__ import annotations

import io
from collections.abc import Callable

from tqdm import tqdm

# True: a bar on the terminal; a function: log lines through it (a log file, CI); False: nothing.
Progress = bool | Callable[[str], None]


def progress_bar(total: int, desc: str, unit: str, progress: Progress, every: float) -> tqdm:
    """A tqdm bar that shows `progress` as chosen; as log lines it writes one at the start, one at most every
    `every` seconds, and one at the end, each with the count, the rate and the time left."""
    if not callable(progress):
        return tqdm(total=total, desc=desc, unit=unit, disable=not progress)
    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        file=_Lines(progress),
        mininterval=every,
        bar_format="{desc}: {n_fmt}/{total_fmt} {unit}s ({percentage:.0f}%), {rate_fmt}, {remaining} left",
    )


class _Lines(io.TextIOBase):
    """A file that turns tqdm's carriage-return updates into whole lines for a log."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log

    def write(self, text: str) -> int:
        line = text.strip()
        if line:
            self.log(line)
        return len(text)
