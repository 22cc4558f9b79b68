"""GitHub Innovation Graph topics: developers pushing to tagged repositories, by economy."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from .base import Parsed, Row, SignalFileError, csv_records, whole

COLUMNS = ["num_pushers", "topic", "iso2_code", "year", "quarter"]
# Topics that name no framework in the taxonomy's sense, kept as context.
NOT_FRAMEWORKS = {"deep-learning", "machine-learning", "llm", "llms", "vllm"}
UNDER_100 = "under 100 developers: not published by GitHub"
SOURCE = {
    "key": "github-innovation-graph",
    "name": "GitHub Innovation Graph, topics",
    "url": "https://github.com/github/innovationgraph",
    "licence": "CC0 1.0",
    "attribution": "GitHub Innovation Graph (github/innovationgraph, data/topics.csv), CC0 1.0.",
    "unit": "developers pushing to tagged repositories",
    "measures": "Distinct developers who pushed to public repositories tagged with a topic, "
    "per economy per quarter.",
    "biases": "Public repositories only, tagged by their owners (many ML repositories carry no "
    "framework topic); one developer may push to repositories of several topics; `jax` "
    "appears only from 2023; `EU` is an aggregate of member economies and is left out of sums.",
    "missing_rule": "GitHub publishes a figure only when at least 100 developers stand behind "
    "it: a missing figure means under 100, not zero.",
    "scope_kind": "economy",
    "additive": False,
}


def _quarter(year: int, quarter: int) -> tuple[str, date, date]:
    start = date(year, 3 * quarter - 2, 1)
    following = date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1)
    return f"{year}-Q{quarter}", start, following - timedelta(days=1)


def parse(path: Path) -> Parsed:
    published: dict[tuple[str, str, tuple[int, int]], int] = {}
    for line, record in csv_records(path, COLUMNS):
        year = whole(record["year"], line, "year")
        quarter = whole(record["quarter"], line, "quarter")
        if not (2000 <= year <= 2100 and 1 <= quarter <= 4):
            raise SignalFileError(f"line {line}: no quarter {record['quarter']} of {year}")
        topic, economy = record["topic"].strip().lower(), record["iso2_code"].strip().upper()
        if not topic or not (len(economy) == 2 and economy.isalpha()):
            raise SignalFileError(f"line {line}: a topic and a two-letter economy code needed")
        key = (topic, economy, (year, quarter))
        if key in published:
            raise SignalFileError(f"line {line}: {topic} {economy} {year} Q{quarter} repeated")
        published[key] = whole(record["num_pushers"], line, "num_pushers")
    if not published:
        raise SignalFileError("no data rows")
    quarters = sorted({k[2] for k in published})
    first, last = quarters[0], quarters[-1]
    every = [
        (y, q) for y in range(first[0], last[0] + 1) for q in range(1, 5) if first <= (y, q) <= last
    ]
    rows = []
    # Every economy that shows up for a topic gets a row in every quarter: a figure, or the
    # reason it is missing. An economy never over 100 for a topic stays absent.
    for topic, economy in sorted({(t, e) for t, e, _ in published}):
        lookup = None if topic in NOT_FRAMEWORKS else topic
        for year, quarter in every:
            period, start, end = _quarter(year, quarter)
            value = published.get((topic, economy, (year, quarter)))
            rows.append(
                Row(
                    period,
                    start,
                    end,
                    economy,
                    topic,
                    lookup,
                    value,
                    "" if value is not None else UNDER_100,
                )
            )
    return Parsed(source=dict(SOURCE), rows=rows)


# The economies in the file, by name, so they can be grouped into the survey's regions.
ECONOMIES = {
    "AU": "Australia",
    "BD": "Bangladesh",
    "BR": "Brazil",
    "CA": "Canada",
    "CH": "Switzerland",
    "CN": "China",
    "DE": "Germany",
    "EG": "Egypt",
    "ES": "Spain",
    "FR": "France",
    "GB": "United Kingdom",
    "HK": "Hong Kong",
    "ID": "Indonesia",
    "IL": "Israel",
    "IN": "India",
    "IR": "Iran",
    "IT": "Italy",
    "JP": "Japan",
    "KR": "South Korea",
    "NL": "Netherlands",
    "PK": "Pakistan",
    "PL": "Poland",
    "RU": "Russia",
    "SE": "Sweden",
    "SG": "Singapore",
    "TN": "Tunisia",
    "TR": "Turkey",
    "TW": "Taiwan",
    "US": "United States",
    "VN": "Viet Nam",
}
# Scopes that add up others: left out whenever economies are summed.
AGGREGATES = {"EU"}
