import re

import pytest
from playwright.sync_api import expect

from survey.models import Response
from survey.selectors import response_values

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def next_page(page) -> None:
    page.get_by_role("button", name=re.compile("^(Next|Submit)$")).click()


def test_a_respondent_fills_the_whole_census_on_a_phone(live_server, census, phone, browser):
    page = phone.new_page()
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="ML Framework Census 2026").click()
    expect(page.get_by_text("Page 1 of 5")).to_be_visible()

    # A required question left empty: the error is announced and shown beside the field.
    next_page(page)
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#q-role .error")).to_have_text("This question needs an answer.")

    # Show-if without a round trip: a student is not asked about their employer.
    page.get_by_label("Student").check()
    expect(page.locator("#q-company_size")).to_be_hidden()
    page.get_by_label("Data Scientist").check()
    expect(page.locator("#q-company_size")).to_be_visible()
    page.get_by_label("50-249 employees").check()
    page.get_by_label("Computers / Technology").check()
    page.get_by_label("Europe").check()
    page.get_by_label("2-5 years").check()
    next_page(page)

    expect(page.get_by_text("Page 2 of 5")).to_be_visible()
    page.get_by_label("Research", exact=True).check()
    page.get_by_label("Prototyping and proofs of concept").check()
    next_page(page)

    expect(page.get_by_text("Page 3 of 5")).to_be_visible()
    page.locator("#q-frameworks_used").get_by_label("PyTorch", exact=True).check()
    page.locator("#q-frameworks_used").get_by_label("JAX", exact=True).check()
    page.locator("fieldset.matrix-row", has_text="TensorFlow").get_by_label(
        "Used before and stopped"
    ).check()

    # Back keeps what was entered on both pages.
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_text("Page 2 of 5")).to_be_visible()
    expect(page.get_by_label("Research", exact=True)).to_be_checked()
    next_page(page)
    expect(page.locator("#q-frameworks_used").get_by_label("JAX", exact=True)).to_be_checked()
    next_page(page)

    # Leave, then resume in a fresh browser from the resume link.
    expect(page.get_by_text("Page 4 of 5")).to_be_visible()
    resume_url = page.get_by_role("link", name="resume link").get_attribute("href")
    page.close()
    other = browser.new_context(viewport={"width": 390, "height": 844})
    page = other.new_page()
    page.goto(resume_url)
    expect(page.get_by_text("Page 4 of 5")).to_be_visible()
    page.locator("#q-primary_framework").get_by_label("PyTorch", exact=True).check()
    page.locator("#q-migrated").get_by_label("Yes").check()
    page.locator("#q-migration_from").get_by_label("TensorFlow", exact=True).check()
    page.locator("#q-migration_to").get_by_label("PyTorch", exact=True).check()
    next_page(page)

    expect(page.get_by_text("Page 5 of 5")).to_be_visible()
    page.get_by_label("4", exact=True).check()
    page.get_by_role("textbox").fill("More JAX tutorials, please.")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()

    # Coming back shows they answered, and lets them edit.
    page.goto(live_server.url + "/s/census-2026/")
    expect(page.get_by_text("You already answered this survey")).to_be_visible()
    other.close()

    response = Response.objects.get()
    assert response.status == Response.Status.COMPLETE
    values = response_values(response)
    assert values["frameworks_used"] == ["pytorch", "jax"]
    assert values["framework_status"] == {"tensorflow": "stopped"}
    assert values["migration_from"] == "tensorflow"
    assert values["comment"] == "More JAX tutorials, please."


def test_the_survey_works_with_javascript_off(live_server, census, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/s/census-2026/")
    page.get_by_label("Student").check()
    page.get_by_label("Europe").check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Page 2 of 5")).to_be_visible()
    context.close()
    values = response_values(Response.objects.get())
    assert values == {"role": "student", "region": "europe"}
