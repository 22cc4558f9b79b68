"""The browser's page path kept short: pages, questions and choices come from the per-process
structure cache (survey.services.structure_current) and are never stale."""

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext

from survey.models import Page, Question, Response


def _walk(client: Client, census_post, pages: int) -> None:
    assert client.get("/s/census-2026/").status_code == 200
    for number, data in enumerate(census_post[:pages], start=1):
        assert client.post("/s/census-2026/", {"page": str(number), **data}).status_code == 302


@pytest.mark.django_db
def test_a_page_with_the_structure_cached_reads_no_question_page_or_choice(census, census_post):
    _walk(Client(), census_post, 1)  # loads the structure into this process's cache
    client = Client()
    _walk(client, census_post, 1)  # a draft on page 2
    with CaptureQueriesContext(connection) as shown:
        assert client.get("/s/census-2026/").status_code == 200
    with CaptureQueriesContext(connection) as posted:
        answer = client.post("/s/census-2026/", {"page": "2", **census_post[1]})
    assert answer.status_code == 302
    for captured in (shown, posted):
        sql = " ".join(query["sql"] for query in captured.captured_queries)
        for table in ("survey_question", "survey_page", "survey_choice"):
            assert f'FROM "{table}"' not in sql, sql
    # Shown: the survey's row, the draft, the session, its answers. Posted: those, the open
    # check and the draft again under a lock, the page's answers replaced, the draft's page.
    assert len(shown.captured_queries) <= 4, [q["sql"][:80] for q in shown.captured_queries]
    assert len(posted.captured_queries) <= 12, [q["sql"][:80] for q in posted.captured_queries]


@pytest.mark.django_db
def test_an_edit_reaches_the_next_page_view(census, census_post):
    client = Client()
    _walk(client, census_post, 1)  # cached, and on page 2
    question = Question.objects.get(survey=census, key="project_types")
    question.text = "What kinds of ML work did you do this year?"
    question.save()
    assert "did you do this year?" in client.get("/s/census-2026/?page=2").content.decode()

    # A page added in the middle is the next respondent's second page.
    Page.objects.filter(survey=census, position__gte=2).update(position=F("position") + 100)
    added = Page.objects.create(survey=census, position=2, title="An added page")
    Question.objects.create(
        survey=census, page=added, position=1, key="added_note", kind=Question.Kind.TEXT,
        text="Anything to add?", required=False,
    )  # fmt: skip
    fresh = Client()
    _walk(fresh, census_post, 1)
    page = fresh.get("/s/census-2026/").content.decode()
    assert "Anything to add?" in page and "An added page" in page
    assert Response.objects.filter(status=Response.Status.DRAFT).count() == 2
