"""Disclosure benchmark: protection and audit against the number of published cells.

Loads the synthetic demo series and the real Kaggle 2018 and 2022 waves (the committed
extracts) into a dedicated database, then, per series, times in the same run the floor
(counting the figures: the GROUP BY passes of the build) and, on those figures, the
protection (the attacker's system, primary and secondary suppression with HiGHS) and the
audit of the stored cells. Prints the times against the floor and the information lost:
the share of cells hidden only to protect others, and the share of the 2022
framework-by-dimension cells still shown among those whose group and complement are >= k.
"""

from __future__ import annotations

import argparse
import os
import time
from io import StringIO

from bench.rebuild import _setup
from bench.scratch import scratch_database, scratch_name

K = 10


def _series(slug: str) -> dict[str, float | int | str]:
    from results import disclosure
    from results.services import build
    from results.services.figures import wave_figures
    from results.services.summary import summary_build
    from survey import selectors
    from survey.models import Series

    series = Series.objects.get(slug=slug)
    waves = selectors.series_waves(series_id=series.pk)
    started = time.perf_counter()
    summary = summary_build(series, waves, K, False, [], {})
    totals = disclosure.wave_totals(summary)
    figures = []
    for survey in waves:
        if totals.get(survey.wave_label):
            figures += wave_figures(survey, targets=[], cap=None, weighted=False).figures
    floor = time.perf_counter() - started
    context = build._context(waves)
    multi = frozenset(q for q, kind in context.kinds.items() if kind == "multi")
    thin = disclosure.sparse_breakdowns(figures, K, multi)
    everything = figures  # a withheld cell whose group is at least k counts as lost
    figures = [f for f in figures if not disclosure.withheld(f, thin)]
    started = time.perf_counter()
    protection = disclosure.protect(figures, context, K, totals)
    protect_s = time.perf_counter() - started
    started = time.perf_counter()
    report = disclosure.audit_figures(protection.figures, context, K, totals)
    audit_s = time.perf_counter() - started
    hidden = sum(1 for f in protection.figures if f.count is None)
    secondary = sum(1 for f in protection.figures if f.reason == disclosure.REASON_SECONDARY)
    shown = {f.count_key for f in protection.figures if f.count is not None}

    def large_group(count_and_base: tuple[int, int]) -> bool:
        count, base = count_and_base
        return count >= K and base - count >= K

    large = [
        f
        for f in everything
        if f.wave == "2022" and f.question == "frameworks_used" and f.dimension
        and large_group((f.count or 0, f.base_n or 0))
    ]  # fmt: skip
    kept = sum(1 for f in large if f.count_key in shown) / len(large) if large else float("nan")
    return {
        "series": slug,
        "cells": len(protection.figures),
        "hidden": hidden,
        "secondary": secondary,
        "floor": floor,
        "protect": protect_s,
        "audit": audit_s,
        "programs": protection.programs + report["programs"],
        "passed": str(report["passed"]),
        "kept": kept,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run disclosure")
    parser.add_argument("--database", help="The scratch database; default: DATABASE_URL's name "
                        "followed by _bench.")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="Keep the scratch database.")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tally")
    database = args.database or scratch_name(url)
    with scratch_database(url, database, keep=args.keep) as bench_url:
        _setup(bench_url)
        from django.core.management import call_command

        call_command("load_census", demo=True, stdout=StringIO())
        call_command("load_kaggle", stdout=StringIO())
        print(f"{'series':>20} {'cells':>6} {'hidden':>6} {'second.':>7} {'floor s':>8} "
              f"{'protect s':>9} {'audit s':>8} {'ratio':>7} {'LPs':>6} {'audit':>6} "
              f"{'2022 fw kept':>12}")  # fmt: skip
        for slug in ("ml-frameworks-demo", "ml-frameworks"):
            r = _series(slug)
            ratio = (float(r["protect"]) + float(r["audit"])) / float(r["floor"])
            line = (f"{r['series']:>20} {r['cells']:>6} {r['hidden']:>6} {r['secondary']:>7} "
                    f"{r['floor']:>8.2f} {r['protect']:>9.2f} {r['audit']:>8.2f} {ratio:>6.1f}x "
                    f"{r['programs']:>6} {r['passed']:>6} {r['kept']:>12.1%}")  # fmt: skip
            print(line, flush=True)


if __name__ == "__main__":
    main()
