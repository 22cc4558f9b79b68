"""The admin creates, opens, closes and schedules polls."""

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from survey.models import Survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, db):
    user = User.objects.create_superuser("admin", "admin@example.org", "pw-for-tests-only")
    client.force_login(user)
    return client


def test_the_admin_creates_an_open_poll(staff_client):
    response = staff_client.post(
        "/admin/survey/poll/add/",
        {
            "text": "Which framework would you pick today?",
            "slug": "pick-today",
            "choices": "pytorch: PyTorch\nJAX\n\n",
            "has_other": "on",
            "key": "primary_framework",
            "results_visibility": "after_vote",
            "frame_ancestors": "https://blog.example.org",
            "open_now": "on",
        },
    )

    assert response.status_code == 302
    poll = Survey.objects.get(slug="pick-today")
    assert poll.is_poll and poll.is_open and poll.series.auto_publish
    question = poll.questions.get()
    assert question.key == "primary_framework"
    assert list(question.choices.values_list("key", flat=True)) == ["pytorch", "jax", "other"]
    page = staff_client.get(f"/admin/survey/poll/{poll.pk}/change/").content.decode()
    assert "/p/pick-today/embed/" in page


def test_the_admin_refuses_a_bad_origin_and_a_one_answer_poll(staff_client):
    response = staff_client.post(
        "/admin/survey/poll/add/",
        {
            "text": "Q?",
            "slug": "q",
            "choices": "only one",
            "key": "answer",
            "results_visibility": "always",
            "frame_ancestors": "https://ok.example; script-src *",
        },
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "at least two answers" in html
    assert "Not an origin" in html
    assert not Survey.objects.filter(slug="q").exists()


def test_the_admin_closes_and_opens_polls(staff_client, poll):
    staff_client.post(
        "/admin/survey/poll/", {"action": "close_polls", "_selected_action": [poll.pk]}
    )
    poll.refresh_from_db()
    assert not poll.is_open

    staff_client.post(
        "/admin/survey/poll/", {"action": "open_polls", "_selected_action": [poll.pk]}
    )
    poll.refresh_from_db()
    assert poll.status == Survey.Status.OPEN


def test_the_admin_schedules_the_next_round(staff_client, poll):
    opens = (timezone.now() + timezone.timedelta(days=7)).strftime("%Y-%m-%d %H:%M:%S")

    response = staff_client.post(f"/admin/survey/poll/{poll.pk}/schedule/", {"opens_at": opens})

    assert response.status_code == 302
    assert poll.series.surveys.count() == 2


def test_scheduling_in_the_past_is_refused_clearly(staff_client, poll):
    response = staff_client.post(
        f"/admin/survey/poll/{poll.pk}/schedule/", {"opens_at": "2020-01-01 00:00:00"}
    )
    assert response.status_code == 200
    assert "must open in the future" in response.content.decode()


def test_the_admin_snippet_points_where_the_admin_is_served(staff_client, poll, settings):
    settings.SITE_URL = ""

    page = staff_client.get(
        f"/admin/survey/poll/{poll.pk}/change/", HTTP_HOST="127.0.0.1:8765"
    ).content.decode()

    assert "Embed snippet" in page
    assert "&lt;iframe src=&quot;http://127.0.0.1:8765/p/new-project/embed/&quot;" in page


def test_the_add_form_explains_the_address_without_an_empty_pattern(staff_client):
    page = staff_client.get("/admin/survey/poll/add/").content.decode()

    assert "/p//" not in page
    assert "framework-pick gives /p/framework-pick/" in page
