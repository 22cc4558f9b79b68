"""What is known of each wave, the importer's refusal, and the summary it reports."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

CHANNEL = "import:kaggle"

# What is known of each published wave; other waves take the command's options.
KNOWN_WAVES: dict[str, dict[str, str]] = {
    "2018": {
        "license": "CC BY-SA 4.0",
        "attribution": "Kaggle, 2018 Kaggle ML & DS Survey",
        "source": "Kaggle ML & DS Survey 2018 (kaggle.com/kaggle/kaggle-survey-2018)",
    },
    "2022": {
        "license": "CC BY 2.0",
        "attribution": "Kaggle, 2022 Kaggle Machine Learning & Data Science Survey",
        "source": "Kaggle Machine Learning & Data Science Survey 2022 "
        "(kaggle.com/competitions/kaggle-survey-2022)",
    },
}
DEFAULT_LICENSE = "Unknown: check the license on the Kaggle dataset page before publishing"


class KaggleImportError(Exception):
    """A file the importer refuses; the message is one line naming the problem."""


@dataclass
class ImportSummary:
    wave: str
    survey: str = ""
    member: str = ""
    rows_read: int = 0
    imported: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    unmapped: Counter[tuple[str, str]] = field(default_factory=Counter)
    not_applicable: Counter[tuple[str, str]] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    answered_frameworks: int = 0
    seconds: float = 0.0

    def lines(self) -> list[str]:
        out = [
            f"Wave {self.wave} -> survey {self.survey} (from {self.member})",
            f"Rows read: {self.rows_read:,}; imported: {self.imported:,}; answered the "
            f"framework question: {self.answered_frameworks:,}; {self.seconds:.1f} s",
        ]
        for reason, count in sorted(self.skipped.items()):
            out.append(f"Skipped {count:,} rows: {reason}")
        for (key, label), count in sorted(self.not_applicable.items()):
            out.append(f"{key}: {label!r} treated as not asked ({count:,} rows)")
        if self.unmapped:
            out.append("Labels the taxonomy does not know (kept as choices to review):")
            for (key, label), count in sorted(self.unmapped.items()):
                out.append(f"  {key}: {label!r} ({count:,} answers)")
        out += self.notes
        return out
