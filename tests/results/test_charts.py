import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from results.charts import chart_table
from results.drawing import chart_spec, spread_labels
from results.models import ChartImage
from results.selectors import published_snapshot, report_build, wording_runs
from tests.results.factories import LEAK, census_snapshot

BASE = "/reports/ml-frameworks/charts/"


@pytest.mark.django_db
def test_svg_download_is_an_svg_document_cached_for_good_when_versioned(client):
    snapshot = census_snapshot()
    response = client.get(f"{BASE}headline.svg?v={snapshot.pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    root = ET.fromstring(response.content)  # noqa: S314 (our own renderer made this SVG)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "immutable" in response["Cache-Control"]
    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    text = response.content.decode()
    assert "Wording changed" in text
    assert "PyTorch" in text


@pytest.mark.django_db
def test_png_download_is_a_png(client):
    census_snapshot()
    response = client.get(f"{BASE}migration.png")
    assert response["Content-Type"] == "image/png"
    assert response.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert response["Cache-Control"] == "public, max-age=60"


@pytest.mark.django_db
def test_a_chart_is_rendered_once_then_served_from_the_database(client, django_assert_num_queries):
    snapshot = census_snapshot()
    first = client.get(f"{BASE}retention.svg")
    with django_assert_num_queries(2):  # the snapshot and the stored image
        second = client.get(f"{BASE}retention.svg")
    assert second.content == first.content
    assert ChartImage.objects.filter(snapshot=snapshot, name="retention").count() == 1


@pytest.mark.django_db
def test_a_known_etag_gets_not_modified(client):
    census_snapshot()
    etag = client.get(f"{BASE}changes.png")["ETag"]
    response = client.get(f"{BASE}changes.png", headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.content == b""


@pytest.mark.django_db
def test_chart_csv_holds_exactly_that_charts_rows(client):
    census_snapshot()
    response = client.get(f"{BASE}new-projects.csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("series,chart,wave,question,choice,choice_label")
    assert len(lines) == 1 + 4  # pytorch, tensorflow, jax and the suppressed keras row
    assert all(",new-projects," in line for line in lines[1:])
    assert str(LEAK) not in "".join(lines)


@pytest.mark.django_db
def test_unknown_chart_and_unpublished_series_are_404(client):
    draft = census_snapshot(published=False)
    assert client.get(f"{BASE}headline.svg").status_code == 404
    census_snapshot(series=draft.series)
    response = client.get(f"{BASE}no-such-chart.svg")
    assert response.status_code == 404
    assert "no chart called" in response.content.decode()


@pytest.mark.django_db
def test_synthetic_chart_says_so_in_the_picture(client):
    census_snapshot(synthetic=True)
    assert "(synthetic demo data)" in client.get(f"{BASE}headline.svg").content.decode()


@pytest.mark.django_db
def test_the_headline_never_joins_waves_across_a_wording_break():
    report = report_build(census_snapshot())
    runs = wording_runs(report.summary, "frameworks_used", ["2018", "2022", "2026"])
    assert runs == {"2018": 0, "2022": 1, "2026": 1}
    headline = report.headline
    assert {(r["wave"], r["run"]) for r in headline.rows} == {("2018", 0), ("2022", 1), ("2026", 1)}
    assert headline.breaks == [
        {"wave": "2022", "previous_wave": "2018", "label": "Wording changed"}
    ]
    line = next(layer for layer in chart_spec(headline)["layer"] if layer["mark"]["type"] == "line")
    assert line["encoding"]["detail"]["field"] == "run"


@pytest.mark.django_db
def test_suppressed_cells_are_not_drawn_and_their_table_row_says_why():
    report = report_build(census_snapshot())
    chart = report.chart("breakdown-2026-company_size")
    assert all(row["segment"] != "10000-plus" for row in chart.drawn)
    head, rows = chart_table(chart)
    texts = [[cell.text for cell in row] for row in rows]
    large = [row for row in texts if row[1] == "10,000 or more employees"]
    assert len(large) == 2 and all(row[3] == "—" and row[4] == "" for row in large)
    assert any(row[-1].startswith("Hidden to protect small groups") for row in large)
    assert head[-2:] == ["n", "Note"]


@pytest.mark.django_db
def test_change_table_says_no_detectable_change_in_words():
    report = report_build(census_snapshot())
    _, rows = chart_table(report.changes)
    notes = {row[0].text: row[-1].text for row in rows if row[1].text == "2022 → 2026"}
    assert notes["Keras"] == "No detectable change."
    assert notes["TensorFlow"] == ""
    crossing = [row for row in rows if row[1].text == "2018 → 2022"]
    assert crossing and all(row[-1].text.startswith("Not comparable") for row in crossing)


@pytest.mark.django_db
def test_report_build_reads_the_snapshot_in_one_query(django_assert_num_queries):
    census_snapshot()
    snapshot = published_snapshot("ml-frameworks")
    with django_assert_num_queries(1):
        report = report_build(snapshot)
    assert [c.name for c in report.charts][:2] == ["headline", "changes"]


@given(
    st.lists(st.floats(min_value=0, max_value=300), min_size=1, max_size=12),
    st.floats(min_value=5, max_value=20),
)
def test_line_end_labels_are_pushed_apart_and_stay_in_order(wanted, gap):
    wanted = sorted(wanted)
    placed = spread_labels(wanted, gap, 0, 300)
    assert len(placed) == len(wanted)
    assert all(b - a >= gap - 1e-9 for a, b in zip(placed, placed[1:], strict=False))
    if gap * (len(wanted) - 1) <= 300:  # room for them all: none leaves the plot
        assert placed[0] >= -1e-9 and placed[-1] <= 300 + 1e-9


def test_phone_charts_fit_a_390px_screen_and_wide_ones_keep_their_size():
    from results.drawing import PHONE, WIDE

    assert PHONE.total <= 348  # 390 px less the page's and the chart frame's margins
    assert WIDE.width > PHONE.width


def _values(spec, layer):
    data = layer["data"]
    return data["values"] if "values" in data else spec["datasets"][data["name"]]


@pytest.mark.django_db
@pytest.mark.parametrize("layout", ["phone", "wide"])
def test_every_run_of_the_headline_is_named_and_the_legend_shows_only_drawn_lines(layout):
    from results.drawing import LAYOUTS

    headline = report_build(census_snapshot()).headline
    spec = chart_spec(headline, LAYOUTS[layout])
    texts = next(
        _values(spec, layer)
        for layer in spec["layer"]
        if layer["mark"]["type"] == "text" and layer["encoding"]["text"]["field"] == "text"
    )
    # 2018 is a run of its own, before the wording break: its points are named too.
    choices = {row["choice_label"] for row in headline.rows if row["wave"] == "2018"}
    later = {row["choice_label"] for row in headline.rows if row["wave"] != "2018"}
    labels = [label["choice_label"] for label in texts]
    assert len(labels) == len(choices) + len(later)
    assert set(labels) == choices | later
    assert not any("…" in label["text"] for label in texts)
    line = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "line")
    # 2018 is one point per line: no line is drawn for it, so the legend does not name it.
    assert line["encoding"]["strokeDash"]["scale"]["domain"] == ["asked 2022 to 2026"]
    assert all(row["wave"] != "2018" for row in _values(spec, line))
