import pytest
from playwright.sync_api import expect

from signals.services import signal_import
from tests.results.factories import census_snapshot
from tests.signals.conftest import FILES

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Every text box of the drawn chart: its font size and its box on the page.
TEXTS = """() => [...document.querySelectorAll('svg text')]
  .filter(t => t.textContent.trim() !== '')
  .map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, size: parseFloat(getComputedStyle(t).fontSize),
            x: r.left, y: r.top, w: r.width, h: r.height};
  })"""


def _overlaps(a: dict, b: dict) -> bool:
    # One pixel of slack: glyph boxes of neighbouring lines may touch.
    return (
        a["x"] + a["w"] - 1 > b["x"]
        and b["x"] + b["w"] - 1 > a["x"]
        and a["y"] + a["h"] - 1 > b["y"]
        and b["y"] + b["h"] - 1 > a["y"]
    )


def test_the_comparison_chart_reads_at_a_phones_width(live_server, phone):
    census_snapshot()
    for path in FILES.values():
        signal_import(path=path)
    page = phone.new_page()
    page.goto(live_server.url + "/reports/ml-frameworks/")
    section = page.locator("section.comparison")
    expect(section.get_by_role("heading", name="What other data says")).to_be_visible()
    image = page.locator("#chart-comparison img")
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector('#chart-comparison img');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    drawn = image.evaluate(
        "i => ({shown: i.getBoundingClientRect().width, natural: i.naturalWidth})"
    )
    # Shown at its own size: the 11 px text in the picture stays 11 px on the screen.
    assert drawn["shown"] == pytest.approx(drawn["natural"], abs=1)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390

    # The picture itself: every label at least 11 px, and no two labels overlap.
    page.goto(live_server.url + image.get_attribute("src"))
    texts = page.evaluate(TEXTS)
    assert len(texts) > 20
    assert min(t["size"] for t in texts) >= 11
    clashes = [
        (a["text"], b["text"])
        for i, a in enumerate(texts)
        for b in texts[i + 1 :]
        if _overlaps(a, b)
    ]
    assert clashes == []
