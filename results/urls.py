from django.urls import path, re_path

from . import api, polls, views

app_name = "results"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("reports/", views.reports, name="reports"),
    path("p/<slug:slug>/results/", polls.poll_results_page, name="poll-results"),
    path("p/<slug:slug>/embed/results/", polls.poll_embed_results, name="poll-embed-results"),
    path("p/<slug:slug>/results.csv", polls.poll_results_csv, name="poll-results-csv"),
    path("reports/<slug:slug>/", views.report, name="report"),
    path("reports/<slug:slug>/cells.csv", views.cells_csv, name="cells-csv"),
    path("reports/<slug:slug>/codebook.csv", views.codebook_csv, name="codebook-csv"),
    *[
        path(
            f"reports/<slug:slug>/charts/comparison.{ext}",
            views.comparison_file,
            {"ext": ext},
            name=f"comparison-{ext}",
        )
        for ext in ("svg", "png", "csv")
    ],
    # Before the charts' own phone address, which would take "comparison" for a chart name.
    path(
        "reports/<slug:slug>/charts/comparison.phone.svg",
        views.comparison_file,
        {"ext": "svg", "layout": "phone"},
        name="comparison-phone-svg",
    ),
    path("signals/<slug:key>.csv", views.signal_csv, name="signal-csv"),
    *[
        path(
            f"reports/<slug:slug>/charts/<slug:name>.{ext}",
            views.chart_file,
            {"ext": ext},
            name=f"chart-{ext}",
        )
        for ext in ("svg", "png", "csv")
    ],
    path(
        "reports/<slug:slug>/charts/<slug:name>.phone.svg",
        views.chart_file,
        {"ext": "svg", "layout": "phone"},
        name="chart-phone-svg",
    ),
    path("api/v1/series/", api.SeriesList.as_view(), name="api-series"),
    path("api/v1/series/<slug:slug>/", api.SeriesDetail.as_view(), name="api-series-detail"),
    path("api/v1/series/<slug:slug>/cells/", api.CellList.as_view(), name="api-cells"),
    path("api/schema/", api.SchemaView.as_view(), name="api-schema"),
    path("api/docs/", api.DocsView.as_view(url_name="results:api-schema"), name="api-docs"),
    # Last: any other address under /api/ gets a JSON 404 (after APPEND_SLASH has had its say).
    re_path(r"^api/(?P<path>[\s\S]*)/$", api.api_not_found, name="api-not-found"),
]
