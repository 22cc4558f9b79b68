"""Public pages: the home page, the published reports, their CSVs and charts, and /healthz.

Everything here reads the latest published snapshot (results.selectors), never responses.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.csp import CSP
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_safe

from signals.selectors import SIGNAL_COLUMNS, signal_rows, signal_source
from survey.selectors import polls_open, surveys_open

from .charts import (
    CSV_FIELDS,
    chart_csv_rows,
    chart_image,
    chart_table,
    focus_facts,
)
from .comparison import COLUMNS as COMPARISON_COLUMNS
from .comparison import comparison_build, comparison_name, comparison_page
from .comparison_chart import comparison_image
from .drawing import LAYOUTS
from .exports import CODEBOOK_COLUMNS, cells_csv_response, codebook_rows, csv_response
from .health import database_answers
from .models import Snapshot
from .pagecache import per_snapshot
from .selectors import (
    FLAG_MEANINGS,
    Report,
    published_series,
    published_snapshot,
    report_build,
    series_shortfalls,
    snapshot_age_seconds,
    summary_waves,
)
from .services import refresh_state

# Pages follow a new publication within a minute; a chart URL that names its snapshot never
# changes, so browsers may keep it for good.
PAGE_MAX_AGE = 60
IMMUTABLE_MAX_AGE = 60 * 60 * 24 * 365
BROKER_TIMEOUT_SECONDS = 0.5
CHART_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


def _listed() -> list[Any]:
    """Published series for listings, each with its "not enough answers yet" state, if any."""
    listed = list(published_series())
    shortfalls = series_shortfalls(listed)
    for series in listed:
        series.shortfall = shortfalls.get(series.pk, "")  # type: ignore[attr-defined]
    return listed


@never_cache  # the open polls' forms carry per-visitor ballot tokens
def home(request: HttpRequest) -> HttpResponse:
    context = {"surveys": surveys_open(), "polls": polls_open(), "published": _listed()}
    return render(request, "survey/home.html", context)


def _missing(request: HttpRequest, slug: str, chart: str = "") -> HttpResponse:
    return render(
        request,
        "results/missing.html",
        {"slug": slug, "chart": chart, "published": _listed()},
        status=404,
    )


def _synthetic(snapshot: Snapshot) -> bool:
    series = (snapshot.summary or {}).get("series") or {}
    return bool(series.get("is_synthetic", snapshot.series.is_synthetic))


@require_safe
@cache_control(public=True, max_age=PAGE_MAX_AGE)
def reports(request: HttpRequest) -> HttpResponse:
    return render(request, "results/reports.html", {"published": _listed()})


def _chart_links(slug: str, snapshot: Snapshot, name: str) -> dict[str, str]:
    base = f"/reports/{slug}/charts/{name}"
    links = {ext: f"{base}.{ext}?v={snapshot.pk}" for ext in ("svg", "png", "csv")}
    links["phone"] = f"{base}.phone.svg?v={snapshot.pk}"
    return links


def _methodology(report: Report) -> dict[str, Any]:
    summary = report.summary
    waves = []
    for wave in summary_waves(summary):
        waves.append(
            {
                **wave,
                "exclusions": sorted((wave.get("exclusions") or {}).items()),
                "channels": sorted(
                    (wave.get("channels") or {}).items(), key=lambda item: -(item[1] or 0)
                ),
            }
        )
    weighting = summary.get("weighting") or {}
    targets = []
    for target in weighting.get("targets") or []:
        if isinstance(target, dict):
            share = target.get("share")
            targets.append(
                f"{target.get('dimension', '?')} = {target.get('segment', '?')}: "
                + (f"{share * 100:.1f}%" if isinstance(share, int | float) else "?")
                + (f" (source: {target['source']})" if target.get("source") else "")
            )
        else:
            targets.append(str(target))
    return {
        "waves": waves,
        "k": summary.get("k", report.series.k_threshold),
        "n_eff_min": summary.get("n_eff_min", 30),
        "interval": summary.get("interval") or "95% Wilson score interval",
        "weighting": {
            "enabled": bool(weighting.get("enabled")),
            "targets": targets,
            "trim": weighting.get("trim"),
            "employer_cap": weighting.get("employer_cap"),
            "design_effect": sorted((weighting.get("design_effect") or {}).items()),
        },
    }


def _wave_links(slug: str, built: Report, shown: str) -> list[dict[str, Any]]:
    """The breakdowns' wave switch: plain links, so it works without JavaScript."""
    base = reverse("results:report", args=[slug])
    links = []
    for state in built.states:
        links.append(
            {
                "label": state.label,
                "url": f"{base}?{urlencode({'wave': state.label})}#breakdowns-h",
                "current": state.label == shown,
                "shortfall": state.shortfall,
            }
        )
    return links


@require_safe
@cache_control(public=True, max_age=PAGE_MAX_AGE)
# Rendering the report costs tens of milliseconds (every chart's table, the template) and its
# snapshot never changes: kept rendered per snapshot, a visit is one lookup and a cache read.
@per_snapshot(PAGE_MAX_AGE)
def report(request: HttpRequest, slug: str) -> HttpResponse:
    snapshot = published_snapshot(slug)
    if snapshot is None:
        return _missing(request, slug)
    built = report_build(snapshot)
    methodology = _methodology(built)
    weighted = methodology["weighting"]["enabled"]
    asked = request.GET.get("wave", "")
    wave = asked if built.state(asked) is not None else built.speaking_wave
    shown = [built.headline, built.changes, *built.focus, *built.breakdowns.get(wave, [])]
    charts = {}
    for chart in shown:
        if chart is None:
            continue
        head, rows = chart_table(chart, weighted=weighted)
        charts[chart.name] = {
            "chart": chart,
            "head": head,
            "rows": rows,
            "links": _chart_links(slug, snapshot, chart.name),
        }
    url = request.build_absolute_uri(reverse("results:report", args=[slug]))
    published = timezone.localdate(snapshot.published_at)
    attributions = [str(w["attribution"]) for w in built.waves if w.get("attribution")]
    citation = (
        f"Tally, “{built.series.title}”, snapshot {snapshot.pk} published "
        f"{published.isoformat()}, {url}"
        + (f". Data: {'; '.join(attributions)}." if attributions else ".")
    )
    return render(
        request,
        "results/report.html",
        {
            "report": built,
            "spec": built.spec,
            "series": built.series,
            "snapshot": snapshot,
            "synthetic": built.synthetic,
            "headline": charts.get("headline"),
            "changes": charts.get("changes"),
            "focus": [charts[c.name] for c in built.focus],
            "focus_facts": focus_facts(built),
            "breakdown_wave": wave,
            "breakdown_state": built.state(wave),
            "breakdowns": [charts[c.name] for c in built.breakdowns.get(wave, [])],
            "withheld": sorted(
                {
                    str(d).replace("_", " ")
                    for w, q, d, *choice in snapshot.summary.get("withheld_breakdowns", [])
                    if w == wave and q == built.spec.headline_question and not choice
                }
            ),
            "wave_links": _wave_links(slug, built, wave),
            "unknown_wave": asked if asked and built.state(asked) is None else "",
            "methodology": methodology,
            "flags": [(flag, meaning) for flag, meaning in FLAG_MEANINGS.items() if flag],
            "citation": citation,
            "comparison": comparison_page(snapshot),
        },
    )


def _export_headers(snapshot: Snapshot, slug: str) -> dict[str, str]:
    headers = {
        "Cache-Control": f"public, max-age={PAGE_MAX_AGE}",
        "Tally-Snapshot": str(snapshot.pk),
        "Link": f'</reports/{slug}/codebook.csv>; rel="describedby"',
    }
    # A tidy CSV has no room for a comment line: the header and the file name say it instead,
    # and the codebook's series row spells it out.
    if _synthetic(snapshot):
        headers["Tally-Synthetic"] = "true"
    return headers


def _filename(snapshot: Snapshot, slug: str, what: str) -> str:
    return f"{slug}-{'synthetic-' if _synthetic(snapshot) else ''}{what}.csv"


@require_safe
def cells_csv(request: HttpRequest, slug: str) -> HttpResponseBase:
    snapshot = published_snapshot(slug)
    if snapshot is None:
        return _missing(request, slug)
    return cells_csv_response(
        snapshot, _filename(snapshot, slug, "cells"), headers=_export_headers(snapshot, slug)
    )


@require_safe
def codebook_csv(request: HttpRequest, slug: str) -> HttpResponseBase:
    snapshot = published_snapshot(slug)
    if snapshot is None:
        return _missing(request, slug)
    return csv_response(
        _filename(snapshot, slug, "codebook"),
        CODEBOOK_COLUMNS,
        codebook_rows(snapshot),
        headers=_export_headers(snapshot, slug),
    )


# The SVG may be opened on its own: it needs nothing, so it gets the strictest policy.
@require_safe
@csp_override({"default-src": [CSP.NONE], "frame-ancestors": [CSP.NONE]})
def chart_file(
    request: HttpRequest, slug: str, name: str, ext: str, layout: str = "wide"
) -> HttpResponseBase:
    snapshot = published_snapshot(slug)
    if snapshot is None:
        return _missing(request, slug)
    etag = f'"{snapshot.pk}-{name}-{layout}-{ext}"'
    if request.GET.get("v") == str(snapshot.pk):
        cache = f"public, max-age={IMMUTABLE_MAX_AGE}, immutable"
    else:
        cache = f"public, max-age={PAGE_MAX_AGE}"
    if request.headers.get("If-None-Match") == etag:
        not_modified = HttpResponseNotModified()
        not_modified["ETag"], not_modified["Cache-Control"] = etag, cache
        return not_modified

    def build() -> Any:
        chart = report_build(snapshot).chart(name)
        return None if chart is None or chart.empty else chart

    if ext == "csv":
        chart = build()
        if chart is None:
            return _missing(request, slug, name)
        headers = _export_headers(snapshot, slug)
        headers.update({"ETag": etag, "Cache-Control": cache})
        return csv_response(
            _filename(snapshot, slug, name), CSV_FIELDS, chart_csv_rows(chart), headers=headers
        )
    image = chart_image(snapshot, name, build, LAYOUTS[layout])
    if image is None:
        return _missing(request, slug, name)
    body = image.svg.encode("utf-8") if ext == "svg" else bytes(image.png)
    response = HttpResponse(body, content_type=CHART_TYPES[ext])
    response["ETag"], response["Cache-Control"] = etag, cache
    suffix = "" if layout == "wide" else f"-{layout}"
    response["Content-Disposition"] = (
        f'inline; filename="{_filename(snapshot, slug, name)[:-4]}{suffix}.{ext}"'
    )
    return response


def _broker_status() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
        socket_timeout=BROKER_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except (redis.RedisError, OSError):
        return "unreachable"
    finally:
        client.close()
    return "ok"


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers (503 otherwise), with the broker and snapshot ages."""
    database = "ok" if database_answers() else "unreachable"
    snapshots = []
    if database == "ok":
        now = timezone.now()
        for series in published_series():
            last = series.last_published_at  # type: ignore[attr-defined]  # annotated
            snapshots.append(
                {
                    "series": series.slug,
                    "published_at": last.isoformat(),
                    "age_seconds": snapshot_age_seconds(last, now),
                }
            )
    refresh = refresh_state() if database == "ok" else []
    return JsonResponse(
        {
            "database": database,
            "broker": _broker_status(),
            "published": snapshots,
            # Each periodic refresh runner; "stale": no success for two intervals.
            "refresh": refresh,
            "refresh_stale": any(r["stale"] for r in refresh),
        },
        status=200 if database == "ok" else 503,
    )


# -- What other data says: the comparison's files and each signal's tidy CSV ------------------


@require_safe
@csp_override({"default-src": [CSP.NONE], "frame-ancestors": [CSP.NONE]})
def comparison_file(
    request: HttpRequest, slug: str, ext: str, layout: str = "wide"
) -> HttpResponseBase:
    snapshot = published_snapshot(slug)
    if snapshot is None:
        return _missing(request, slug)
    name = comparison_name()
    cache = f"public, max-age={PAGE_MAX_AGE}"
    if ext == "csv":
        comparison = comparison_build(snapshot)
        if comparison is None:
            return _missing(request, slug, "comparison")
        headers = _export_headers(snapshot, slug)
        return csv_response(
            _filename(snapshot, slug, "comparison"),
            COMPARISON_COLUMNS,
            comparison.csv_rows(),
            headers=headers,
        )
    image = comparison_image(snapshot, name, lambda: comparison_build(snapshot), LAYOUTS[layout])
    if image is None:
        return _missing(request, slug, "comparison")
    body = image.svg.encode("utf-8") if ext == "svg" else bytes(image.png)
    response = HttpResponse(body, content_type=CHART_TYPES[ext])
    response["Cache-Control"] = cache
    response["Content-Disposition"] = (
        f'inline; filename="{_filename(snapshot, slug, "comparison")[:-4]}.{ext}"'
    )
    return response


@require_safe
def signal_csv(request: HttpRequest, key: str) -> HttpResponseBase:
    """One outside signal, tidy, with its source, licence, unit, breaks and missing reasons."""
    source = signal_source(key)
    if source is None:
        return _missing(request, key)
    return csv_response(
        f"signal-{source.key}.csv",
        SIGNAL_COLUMNS,
        signal_rows(source),
        headers={"Cache-Control": f"public, max-age={PAGE_MAX_AGE}"},
    )
