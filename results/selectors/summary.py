"""Tolerant readers over the summary JSON the build writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def summary_waves(summary: dict[str, Any]) -> list[dict[str, Any]]:
    # The build lists waves in series order; that order is kept, not re-derived from dates.
    return [w for w in summary.get("waves") or [] if isinstance(w, dict) and w.get("label")]


def summary_questions(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return [q for q in summary.get("questions") or [] if isinstance(q, dict) and q.get("key")]


@dataclass
class Labels:
    """Labels and texts from the summary; the latest wave's wording wins for labels."""

    choices: dict[str, dict[str, str]] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    texts: dict[str, dict[str, str]] = field(default_factory=dict)
    any_choice: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> Labels:
        labels = cls()
        order = [w["label"] for w in summary_waves(summary)]
        rank = {label: i for i, label in enumerate(order)}
        for question in summary_questions(summary):
            key = question["key"]
            per_wave = question.get("waves") or {}
            for wave in sorted(per_wave, key=lambda w: rank.get(w, -1)):
                asked = per_wave[wave] or {}
                labels.texts.setdefault(key, {})[wave] = str(asked.get("text") or "")
                for pair in asked.get("choices") or []:
                    labels.choices.setdefault(key, {})[str(pair[0])] = str(pair[1])
                    labels.any_choice[str(pair[0])] = str(pair[1])
                for pair in asked.get("columns") or []:
                    labels.columns.setdefault(key, {})[str(pair[0])] = str(pair[1])
        return labels

    def choice(self, question: str, key: str) -> str:
        return self.choices.get(question, {}).get(key) or self.any_choice.get(key) or key

    def column(self, question: str, key: str) -> str:
        return self.columns.get(question, {}).get(key) or self.any_choice.get(key) or key


def universe_breaks(summary: dict[str, Any], question: str) -> list[dict[str, Any]]:
    """The question's universe breaks: where who was asked it changed between waves."""
    return [
        b
        for b in summary.get("breaks") or []
        if isinstance(b, dict) and b.get("question") == question and b.get("kind") == "universe"
    ]


def wording_runs(summary: dict[str, Any], question: str, waves: list[str]) -> dict[str, int]:
    """Number the runs of waves that asked the question in the same words of the same people."""
    labels = Labels.from_summary(summary)
    texts = labels.texts.get(question, {})
    break_waves = {
        str(b.get("wave"))
        for b in summary.get("breaks") or []
        if isinstance(b, dict) and b.get("question") == question
    }
    runs: dict[str, int] = {}
    run, previous_text = 0, None
    for index, wave in enumerate(waves):
        text = texts.get(wave)
        changed = previous_text is not None and text is not None and text != previous_text
        if index and (wave in break_waves or changed):
            run += 1
        runs[wave] = run
        previous_text = text if text is not None else previous_text
    return runs
