"""The report on a 390 px phone: phone-sized charts, text at least 11 px, no overlapping labels."""

import pytest
from playwright.sync_api import expect

from results.models import Snapshot
from tests.results.factories import census_snapshot

from .chart_checks import overlaps, svg_texts, too_small

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _with_universe_break(snapshot: Snapshot) -> None:
    summary = snapshot.summary
    summary["breaks"].append(
        {
            "question": "frameworks_used",
            "wave": "2026",
            "previous_wave": "2022",
            "kind": "universe",
            "universe": "those who write code",
            "previous_universe": "",
        }
    )
    Snapshot.objects.filter(pk=snapshot.pk).update(summary=summary)


def test_every_chart_reads_on_a_390px_phone(live_server, phone, tmp_path):
    _with_universe_break(census_snapshot())
    page = phone.new_page()
    page.goto(live_server.url + "/reports/ml-frameworks/")
    expect(page.get_by_role("heading", name="ML Framework Census", level=1)).to_be_visible()
    images = page.locator("figure.report-chart picture img")
    assert images.count() >= 7
    checked = 0
    for index in range(images.count()):
        image = images.nth(index)
        image.scroll_into_view_if_needed()
        loaded = "(img) => img.complete && img.naturalWidth > 0"
        page.wait_for_function(loaded, arg=image.element_handle())
        shown = image.evaluate(
            "(img) => ({src: img.currentSrc, width: img.clientWidth, natural: img.naturalWidth,"
            " right: img.getBoundingClientRect().right})"
        )
        assert ".phone.svg" in shown["src"], shown
        assert shown["right"] <= 390, shown  # no sideways scrolling to read a chart
        scale = shown["width"] / shown["natural"]
        svg = page.request.get(shown["src"]).text()
        checker = phone.new_page()
        texts = svg_texts(checker, svg)
        checker.close()
        assert texts, shown["src"]
        assert too_small(texts, scale) == [], shown["src"]
        assert overlaps(texts) == [], shown["src"]
        checked += 1
    page.screenshot(path=str(tmp_path / "report-390.png"), full_page=True)
    assert (tmp_path / "report-390.png").stat().st_size > 10_000
    assert checked == images.count()


def test_the_wave_switch_works_without_javascript(live_server, browser):
    census_snapshot()
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/reports/ml-frameworks/")
    expect(page.get_by_role("heading", name="Breakdowns, 2026")).to_be_visible()
    switch = page.get_by_role("navigation", name="Breakdowns by wave")
    switch.get_by_role("link", name="2022").click()
    expect(page.get_by_role("heading", name="Breakdowns, 2022")).to_be_visible()
    assert page.url.endswith("?wave=2022#breakdowns-h")
    context.close()
