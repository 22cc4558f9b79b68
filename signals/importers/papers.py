"""Papers: conference papers mentioning one framework only, and transformer papers' code."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from .base import Parsed, Row, SignalFileError, csv_records, whole

CONFERENCE_COLUMNS = ["conference", "month_year", "pytorch_only", "tensorflow_only", "total_papers"]
CONFERENCES = {
    "key": "conference-papers",
    "name": "Conference papers mentioning only PyTorch or only TensorFlow",
    "url": "https://github.com/Chillee/pytorch-vs-tensorflow",
    "licence": "No licence file in the source repository: figures cited with attribution.",
    "attribution": "H. He, “The State of Machine Learning Frameworks in 2019”, The Gradient; "
    "figures from Chillee/pytorch-vs-tensorflow, data_analysis/data.csv.",
    "unit": "papers",
    "measures": "Papers at a conference whose full text mentions PyTorch and not TensorFlow, "
    "or TensorFlow and not PyTorch (PyTorch includes allennlp, fairseq, torchvision; "
    "TensorFlow includes keras).",
    "biases": "Counts mentions, not the framework of the code; papers naming both or neither "
    "are left out; vision and NLP venues end in 2020, ML venues in 2022; ICLR totals look like "
    "all submissions.",
    "missing_rule": "",
    "scope_kind": "venue",
    "additive": True,
}
TRANSFORMER_COLUMNS = ["year", "papers", "no_official_code", "pytorch", "tensorflow", "jax"]
TRANSFORMERS = {
    "key": "transformer-papers",
    "name": "Vision and multimodal transformer papers by the framework of their official code",
    "url": "https://github.com/cmhungsteve/Awesome-Transformer-Attention",
    "licence": "No licence file in the source repository: only counts derived from it are "
    "carried, with attribution.",
    "attribution": "Counts derived from the curated list cmhungsteve/Awesome-Transformer-"
    "Attention (commit 0653f4a).",
    "unit": "papers",
    "measures": "Vision and multimodal transformer papers per venue year, by the framework "
    "named on their official code link (keras counted as TensorFlow, flax as JAX).",
    "biases": "One curator's list and labels (ViT's official JAX code is labelled TensorFlow "
    "there); third-party code excluded; many papers have no official code; 2024 is partial.",
    "missing_rule": "",
    "scope_kind": "",
    "additive": True,
}
ML_VENUES = {"NeurIPS", "ICML", "ICLR"}
# Columns that count papers but name no framework.
TRANSFORMER_CONTEXT = {"papers", "no_official_code", "unspecified"}


def conference_parse(path: Path) -> Parsed:
    rows: list[Row] = []
    seen: set[tuple[str, str]] = set()
    for line, record in csv_records(path, CONFERENCE_COLUMNS):
        venue = record["conference"].strip()
        month, _, year = record["month_year"].strip().partition("/")
        if not (venue and month.isdigit() and year.isdigit() and 1 <= int(month) <= 12):
            raise SignalFileError(
                f"line {line}: month_year must read MM/YY, not {record['month_year'][:20]!r}"
            )
        when = date(2000 + int(year), int(month), 1)
        period = when.strftime("%Y-%m")
        if (period, venue) in seen:
            raise SignalFileError(f"line {line}: {venue} {period} repeated")
        seen.add((period, venue))
        for column, lookup in (
            ("pytorch_only", "pytorch"),
            ("tensorflow_only", "tensorflow"),
            ("total_papers", None),
        ):
            value = whole(record[column], line, column)
            rows.append(Row(period, when, when, venue, column, lookup, value))
    if not rows:
        raise SignalFileError("no data rows")
    return Parsed(source=dict(CONFERENCES), rows=rows, breaks=_venue_breaks(rows))


def _venue_breaks(rows: list[Row]) -> list[dict]:
    """A break where vision and NLP venues stop and only ML venues remain."""
    years = {row.period_start.year for row in rows}
    last = max((row.period_start.year for row in rows if row.scope not in ML_VENUES), default=None)
    if last is None or last >= max(years):
        return []
    return [
        {
            "start": date(last + 1, 1, 1),
            "end": None,
            "label": f"From {last + 1}: ML venues only",
            "note": f"Vision and NLP venues end in {last}; later years count NeurIPS, ICML and "
            "ICLR only.",
        }
    ]


def transformer_parse(path: Path) -> Parsed:
    rows: list[Row] = []
    seen: set[int] = set()
    for line, record in csv_records(path, TRANSFORMER_COLUMNS):
        year = whole(record["year"], line, "year")
        if not 1990 <= year <= 2100 or year in seen:
            raise SignalFileError(f"line {line}: year {year} out of range or repeated")
        seen.add(year)
        for column, text in record.items():
            if column == "year":
                continue
            value = whole(text, line, column)
            lookup = None if column in TRANSFORMER_CONTEXT else column
            rows.append(
                Row(str(year), date(year, 1, 1), date(year, 12, 31), "", column, lookup, value)
            )
    if not rows:
        raise SignalFileError("no data rows")
    return Parsed(source=dict(TRANSFORMERS), rows=rows)
