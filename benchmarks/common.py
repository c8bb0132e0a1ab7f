"""Shared by the benchmark scripts: markdown tables, percentiles, peak memory, the machine's
description, and a generator of synthetic news-like text (so nothing is downloaded)."""

from __future__ import annotations

import os
import platform
import random
import resource
import statistics
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    # The scripts run as `python benchmarks/x.py`; make `import rag` work without an install too.
    sys.path.insert(0, str(ROOT))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str | None = None) -> str:
    """A GitHub markdown table; floats get three significant figures, None shows as a dash."""
    cells = [[fmt(v) for v in row] for row in rows]
    lines = []
    if title:
        lines += [f"### {title}", ""]
    lines.append("| " + " | ".join(headers) + " |")
    lines.append("| " + " | ".join("---:" if i else "---" for i in range(len(headers))) + " |")
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines) + "\n"


def show(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str | None = None) -> None:
    print(table(headers, rows, title), flush=True)


def fmt(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def peak_rss_mb() -> float:
    """This process's peak resident set size (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """This process's current resident set size, from /proc (no psutil needed)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def machine() -> str:
    load = os.getloadavg()
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores visible, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, Python {platform.python_version()}"
    )


def header(title: str, settings: dict[str, object]) -> None:
    print(f"## {title}\n")
    print(f"Machine: {machine()}  ")
    print("Settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()) + "\n", flush=True)


def sizes(text: str) -> list[int]:
    """'10k,100000,1M' -> [10000, 100000, 1000000]."""
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        scale = {"k": 1_000, "m": 1_000_000}.get(part[-1:], 1)
        out.append(int(float(part.rstrip("km")) * scale))
    return out


# --- synthetic news -----------------------------------------------------------------------------

_COUNTRIES = [
    "Niger",
    "Mali",
    "Chad",
    "Ghana",
    "Kenya",
    "Peru",
    "Chile",
    "Norway",
    "Poland",
    "Spain",
    "Italy",
    "France",
    "Germany",
    "Japan",
    "Vietnam",
    "Brazil",
    "Canada",
    "Egypt",
    "Morocco",
    "Turkey",
    "Greece",
    "Finland",
    "Ireland",
    "Portugal",
    "Nigeria",
    "Senegal",
    "Ethiopia",
    "Colombia",
    "Mexico",
    "Australia",
]
_CITIES = [
    "Niamey",
    "Bamako",
    "Accra",
    "Nairobi",
    "Lima",
    "Oslo",
    "Warsaw",
    "Madrid",
    "Rome",
    "Lyon",
    "Hamburg",
    "Osaka",
    "Hanoi",
    "Recife",
    "Toronto",
    "Cairo",
    "Rabat",
    "Ankara",
    "Athens",
    "Tampere",
    "Cork",
    "Porto",
    "Lagos",
    "Dakar",
    "Addis",
    "Bogota",
    "Monterrey",
    "Perth",
    "Geneva",
    "Vienna",
]
_FIRST = [
    "Maria",
    "Ahmed",
    "Li",
    "Anna",
    "Omar",
    "Sofia",
    "Jean",
    "Elena",
    "Kwame",
    "Priya",
    "Lukas",
    "Amina",
    "Diego",
    "Hana",
    "Ivan",
    "Grace",
    "Tomas",
    "Yara",
]
_LAST = [
    "Lopez",
    "Diallo",
    "Chen",
    "Novak",
    "Haddad",
    "Rossi",
    "Moreau",
    "Ivanova",
    "Mensah",
    "Sharma",
    "Weber",
    "Toure",
    "Garcia",
    "Sato",
    "Petrov",
    "Okafor",
]
_ROLES = (
    "minister of finance",
    "opposition leader",
    "central bank governor",
    "army spokesman",
    "union leader",
    "mayor",
    "foreign minister",
    "chief executive",
    "health minister",
    "trade envoy",
)
_BODIES = (
    "the government",
    "the European Union",
    "the African Union",
    "the United Nations",
    "ECOWAS",
    "the World Bank",
    "the IMF",
    "the parliament",
    "the military junta",
    "the electoral commission",
)
_TOPICS = (
    "fuel prices",
    "a new mining law",
    "the border closure",
    "grain exports",
    "the port strike",
    "a drought",
    "the rail project",
    "uranium contracts",
    "the peace talks",
    "inflation",
    "power cuts",
    "a vaccine campaign",
)
_VERBS = ("announced", "rejected", "welcomed", "criticised", "postponed", "approved", "questioned", "confirmed")
_TEMPLATES = (
    "{person}, the {role}, {verb} {topic} on {day}, saying it would affect {n} families in {city}.",
    "{body} {verb} talks with {country} over {topic}, according to officials in {city}.",
    "Protesters gathered in {city} on {day} as {body} {verb} plans linked to {topic}.",
    "The cost of {topic} has risen by {pct}% since {month}, {person} told reporters.",
    "In {country}, {body} said {n} soldiers had been sent to {city} to secure {topic}.",
    "{person} {verb} the decision by {body}, calling {topic} a test for {country}.",
    "Analysts in {city} expect {topic} to cut growth in {country} to {pct}% this year.",
    "A spokesman for {body} declined to comment on reports about {topic} in {city}.",
    "Talks between {country} and {country2} on {topic} ended on {day} without agreement.",
    "About {n} people left {city} after {topic} forced {body} to act, {person} said.",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "March", "May", "July", "September", "November")


def news_sentence(rng: random.Random) -> str:
    return rng.choice(_TEMPLATES).format(
        person=f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        role=rng.choice(_ROLES),
        verb=rng.choice(_VERBS),
        topic=rng.choice(_TOPICS),
        day=rng.choice(_DAYS),
        month=rng.choice(_MONTHS),
        n=f"{rng.randint(2, 90) * 100:,}",
        pct=rng.randint(1, 40),
        city=rng.choice(_CITIES),
        country=rng.choice(_COUNTRIES),
        country2=rng.choice(_COUNTRIES),
        body=rng.choice(_BODIES),
    )


def news_article(rng: random.Random, sentences: int = 14) -> str:
    """An article file as the loader expects it: a ` date YYYY-MM-DD ` header, paragraphs of 2-4 sentences."""
    body: list[str] = []
    paragraph: list[str] = []
    for _ in range(sentences):
        paragraph.append(news_sentence(rng))
        if len(paragraph) >= rng.randint(2, 4):
            body.append(" ".join(paragraph))
            paragraph = []
    if paragraph:
        body.append(" ".join(paragraph))
    date = f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return f" date {date} " + "\n\n".join(body) + "\n"


def news_articles(count: int, seed: int = 0) -> Iterator[tuple[str, str]]:
    """(file name, text) pairs, reproducible for a seed."""
    rng = random.Random(seed)
    for i in range(count):
        yield f"{i:07d}.txt", news_article(rng, rng.randint(8, 20))
