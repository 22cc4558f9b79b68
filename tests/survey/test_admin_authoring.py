import pytest
from django.contrib.auth.models import User

from survey.models import Choice, Invitation, Question, Response, Survey


@pytest.fixture
def staff_client(client, db):
    user = User.objects.create_superuser("admin", "admin@example.org", "pw-for-tests-only")
    client.force_login(user)
    return client


def test_survey_change_page_shows_pages_questions_and_choices(staff_client, census):
    page = staff_client.get(f"/admin/survey/survey/{census.pk}/change/").content.decode()
    assert "frameworks_used" in page
    assert "pytorch" in page
    assert "Copy as next wave" in page
    assert "?preview=1" in page


def test_copy_as_next_wave_keeps_keys_and_show_if(staff_client, census):
    answer = staff_client.post(
        f"/admin/survey/survey/{census.pk}/copy/",
        {"slug": "census-2027", "wave_label": "2027", "title": "ML Framework Census 2027"},
    )
    assert answer.status_code == 302
    copy = Survey.objects.get(slug="census-2027")
    assert copy.status == Survey.Status.DRAFT
    assert copy.series_id == census.series_id
    keys = lambda s: sorted(s.questions.values_list("key", flat=True))  # noqa: E731
    assert keys(copy) == keys(census)
    assert (
        Choice.objects.filter(question__survey=copy).count()
        == Choice.objects.filter(question__survey=census).count()
    )
    migration = copy.questions.get(key="migration_from")
    assert migration.show_if_question == copy.questions.get(key="migrated")


def test_a_copied_wave_keeps_every_question_rule_and_choice(census):
    from survey.services import survey_copy_as_wave, survey_pages_spec

    census.questions.filter(key="frameworks_used").update(max_selections=5)
    Question.objects.filter(survey=census, key="comment").update(min_value=1, max_value=9)
    copy = survey_copy_as_wave(survey=census, slug="census-2027", wave_label="2027", title="C")
    assert survey_pages_spec(copy) == survey_pages_spec(census)
    spec = {q["key"]: q for page in survey_pages_spec(copy) for q in page["questions"]}
    assert spec["frameworks_used"]["max_selections"] == 5
    assert spec["migration_to"]["differs_from"] == "migration_from"
    assert any(c["is_exclusive"] for c in spec["frameworks_used"]["choices"])


def test_structure_is_written_only_by_survey_create():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    writes = [
        f"{path.relative_to(root)}:{number}"
        for app in ("survey", "results", "signals")
        for path in (root / app).rglob("*.py")
        if "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if "Question.objects.create(" in line or "Page.objects.create(" in line
    ]
    assert [w.split(":")[0] for w in writes] == ["survey/services.py", "survey/services.py"]


def test_copy_refuses_a_wave_label_the_series_has(staff_client, census):
    answer = staff_client.post(
        f"/admin/survey/survey/{census.pk}/copy/",
        {"slug": "census-again", "wave_label": "2026", "title": "Again"},
    )
    assert answer.status_code == 200
    assert "has a wave with this label already" in answer.content.decode()


def test_open_and_close_actions_change_status(staff_client, census):
    staff_client.post(
        "/admin/survey/survey/",
        {"action": "close_surveys", "_selected_action": [census.pk]},
    )
    census.refresh_from_db()
    assert census.status == Survey.Status.CLOSED
    assert not census.is_open
    staff_client.post(
        "/admin/survey/survey/", {"action": "open_surveys", "_selected_action": [census.pk]}
    )
    census.refresh_from_db()
    assert census.status == Survey.Status.OPEN


def test_preview_walks_the_survey_without_saving(staff_client, census, census_post):
    Survey.objects.filter(pk=census.pk).update(status=Survey.Status.DRAFT)
    page = staff_client.get("/s/census-2026/?preview=1").content.decode()
    assert "nothing you enter here is saved" in page
    step = staff_client.post(
        "/s/census-2026/?preview=1", {"page": "1", "action": "next", **census_post[0]}
    )
    assert step.status_code == 302
    assert "preview=1" in step["Location"]
    assert Response.objects.count() == 0


def test_invitations_are_shown_once_and_stored_hashed(staff_client, census):
    page = staff_client.post(
        f"/admin/survey/survey/{census.pk}/invitations/", {"count": 3, "label": "panel"}
    ).content.decode()
    assert page.count("?invite=") == 3
    token = page.split("?invite=")[1].split()[0]
    stored = list(Invitation.objects.values_list("token_hash", flat=True))
    assert len(stored) == 3
    assert token not in stored


def test_question_admin_edits_choices_inline(staff_client, census):
    question = Question.objects.get(survey=census, key="role")
    page = staff_client.get(f"/admin/survey/question/{question.pk}/change/").content.decode()
    assert "data-scientist" in page
