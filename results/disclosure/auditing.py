"""Auditing: what a reader holding everything published can work out, solved exactly."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .columns import STORED_COLUMNS, public_values
from .figures import Context, Figure
from .flags import K_DEFAULT, is_small
from .suppression import audit_system
from .system import build_system

if TYPE_CHECKING:
    from ..models import Snapshot

# The public columns a Figure is made of, in its order.
AUDITED = ("measure", "wave", "question", "choice", "option", "dimension", "segment", "base_n",
           "count", "flag")  # fmt: skip
assert set(AUDITED) <= set(STORED_COLUMNS), "the audit reads public columns only"


def audit_figures(
    figures: list[Figure],
    context: Context,
    k: int,
    totals: dict[str, int | None],
    left_out: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Prove from published values alone that every hidden value and unseen group is safe."""
    found = audit_system(build_system(figures, context, totals, left_out), k)
    return {
        "passed": not found["leaks"],
        "k": k,
        "published": sum(1 for f in figures if f.count is not None),
        "hidden": sum(1 for f in figures if f.count is None),
        "unknowns": found["unknowns"],
        "programs": found["programs"],
        "integer_programs": found["integer_programs"],
        "violations": found["leaks"][:50],
        "violation_count": len(found["leaks"]),
    }


def wave_totals(summary: dict[str, Any]) -> dict[str, int | None]:
    """Each wave's published n, as the report shows it."""
    return {str(w.get("label")): w.get("n") for w in summary.get("waves", [])}


def waves_leaving_out(summary: dict[str, Any]) -> frozenset[str]:
    """The waves whose derived measures left contradicting answers out, as published."""
    return frozenset(
        str(w.get("label")) for w in summary.get("waves", []) if w.get("contradictions_excluded")
    )


def audit(snapshot: Snapshot) -> dict[str, Any]:
    """Audit a stored snapshot from its published cells and summary alone."""
    # Read as a reader gets them: every public column, masked as the CSVs and the API mask it.
    stored = snapshot.cells.exclude(measure="change").order_by("pk").values_list(*STORED_COLUMNS)
    public = (public_values(dict(zip(STORED_COLUMNS, row, strict=True))) for row in stored)
    figures = [Figure(*(cell[name] for name in AUDITED)) for cell in public]
    k = int(snapshot.parameters.get("k", K_DEFAULT))
    context = Context.from_dict(snapshot.parameters.get("disclosure_model", {}))
    summary = snapshot.summary
    report = audit_figures(figures, context, k, wave_totals(summary), waves_leaving_out(summary))
    leaks = _summary_leaks(snapshot.summary, k)
    if leaks:
        report["passed"] = False
        report["summary_leaks"] = leaks
    return report


def _summary_leaks(summary: dict[str, Any], k: int) -> list[str]:
    leaks: list[str] = []
    for wave in summary.get("waves", []):
        if is_small(wave.get("n"), k):
            leaks.append(f"{wave.get('label')} n")
        for part in ("channels", "exclusions"):
            for key, n in (wave.get(part) or {}).items():
                if is_small(n, k):
                    leaks.append(f"{wave.get('label')} {part} {key}")
    return leaks
