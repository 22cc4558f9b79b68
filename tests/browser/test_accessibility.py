"""axe-core over the public pages in headless Chromium: no serious or critical violation.

axe-core comes from a pinned PyPI package (axe-playwright-python ships axe.min.js); it is
evaluated in the page through Playwright, never loaded from a CDN.
"""

import pytest

from results.services import snapshot_build, snapshot_publish
from survey.demo import demo_load

pytestmark = pytest.mark.browser


def _serious(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_the_public_pages_have_no_serious_or_critical_axe_violation(live_server, census, browser):
    series = demo_load(responses_per_wave=160, seed=7)
    snapshot_publish(snapshot_id=snapshot_build(series_id=series.pk).pk)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    found = {}
    for path in ("/", "/s/census-2026/", "/reports/", f"/reports/{series.slug}/"):
        page.goto(live_server.url + path)
        # Open every table alternative, so its scrolling region is checked too.
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        found[path] = _serious(page)
    context.close()
    assert found == {path: [] for path in found}
