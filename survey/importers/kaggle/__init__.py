"""Import a wave of the Kaggle Machine Learning & Data Science Survey (2018-2022 layouts).

A thin layer over the importer toolkit: the layout descriptions (`layout.py`, with the
layout each wave is read with), what is known of each wave (`waves.py`), and `kaggle_import`,
which names the wave's survey and calls `wave_import`.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.utils.text import slugify

from ..importer import WaveInfo, wave_import
from ..waves import ImporterError, ImportSummary
from .layout import KAGGLE, layout_for
from .waves import CHANNEL, DEFAULT_LICENSE, KNOWN_WAVES, UNIVERSES

KaggleImportError = ImporterError

__all__ = [
    "CHANNEL",
    "KAGGLE",
    "KNOWN_WAVES",
    "ImportSummary",
    "KaggleImportError",
    "kaggle_import",
]


def kaggle_import(
    *,
    path: Path,
    wave: str,
    series_slug: str = "ml-frameworks",
    license: str | None = None,
    attribution: str | None = None,
    source: str | None = None,
    progress: bool = False,
) -> ImportSummary:
    """Read a Kaggle responses file (or its zip, or its extract) into `kaggle-<wave>`."""
    wave = wave.strip()
    if not re.fullmatch(r"[\w.-]{1,40}", wave):
        raise ImporterError(f"wave label {wave!r} must be 1-40 letters, digits, '.', '-'")
    known = KNOWN_WAVES.get(wave, {})
    notes: list[str] = []
    if not license and not known:
        notes.append(f"Unknown wave {wave}: pass --license; stored {DEFAULT_LICENSE!r}")
    if wave not in UNIVERSES:
        notes.append(
            f"Unknown wave {wave}: who was asked each question is not recorded "
            "(add it to survey/importers/kaggle/waves.py)"
        )
    info = WaveInfo(
        slug=f"kaggle-{slugify(wave)}",
        title=f"Kaggle ML & DS Survey {wave}",
        license=license or known.get("license", DEFAULT_LICENSE),
        attribution=attribution
        or known.get(
            "attribution", f"Kaggle, {wave} Kaggle Machine Learning & Data Science Survey"
        ),
        source=source
        or known.get("source", f"Kaggle Machine Learning & Data Science Survey {wave}"),
        channel=CHANNEL,
        universes=UNIVERSES.get(wave, {}),
    )
    summary = wave_import(
        layout=layout_for(wave),
        path=path,
        wave=wave,
        info=info,
        series_slug=series_slug,
        progress=progress,
    )
    summary.notes += notes
    return summary
