"""Writes: importing a signal file replaces that source's figures in one transaction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from survey.taxonomy import TaxonomyIndex

from .importers import PARSERS, SignalFileError, detect
from .models import Break, Source, Value

FRAMEWORK = "framework"


@dataclass
class ImportReport:
    source: str
    format: str
    values: int
    missing: int
    breaks: int
    unchanged: bool
    unmapped: list[str]

    def line(self) -> str:
        state = "unchanged, re-imported" if self.unchanged else "imported"
        mapped = (
            f"; labels naming no framework: {', '.join(self.unmapped)}" if self.unmapped else ""
        )
        return (
            f"{self.source}: {state} {self.values:,} figures ({self.missing:,} missing), "
            f"{self.breaks} break{'s' if self.breaks != 1 else ''} ({self.format}){mapped}"
        )


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def signal_import(*, path: Path, format: str | None = None) -> ImportReport:
    """Import one signal file, replacing the figures of its source (idempotent)."""
    if not path.is_file():
        raise SignalFileError("no such file")
    if format is None:
        format = detect(path)
    elif format not in PARSERS:
        raise SignalFileError(f"unknown format {format!r} (known: {', '.join(PARSERS)})")
    parsed = PARSERS[format](path)
    digest = _digest(path)
    taxonomy = TaxonomyIndex.load()
    entity_keys: dict[str, str] = {}
    for row in parsed.rows:
        if row.label not in entity_keys:
            entity = taxonomy.lookup(FRAMEWORK, row.lookup) if row.lookup else None
            entity_keys[row.label] = entity.key if entity is not None else ""
    meta = parsed.source
    with transaction.atomic():
        previous = Source.objects.filter(key=meta["key"]).values_list("file_sha256", flat=True)
        unchanged = digest in previous
        source, _ = Source.objects.update_or_create(
            key=meta["key"],
            defaults={
                **{name: value for name, value in meta.items() if name != "key"},
                "format": format,
                "file_name": path.name[:200],
                "file_sha256": digest,
                "imported_at": timezone.now(),
            },
        )
        source.values.all().delete()
        source.breaks.all().delete()
        Value.objects.bulk_create(
            (
                Value(
                    source=source,
                    period=row.period,
                    period_start=row.period_start,
                    period_end=row.period_end,
                    scope=row.scope,
                    label=row.label,
                    entity_key=entity_keys[row.label],
                    value=row.value,
                    missing=row.missing,
                )
                for row in parsed.rows
            ),
            batch_size=2000,
        )
        Break.objects.bulk_create(Break(source=source, **spec) for spec in parsed.breaks)
    return ImportReport(
        source=source.key,
        format=format,
        values=len(parsed.rows),
        missing=sum(1 for row in parsed.rows if row.value is None),
        breaks=len(parsed.breaks),
        unchanged=unchanged,
        unmapped=sorted(label for label, key in entity_keys.items() if not key),
    )
