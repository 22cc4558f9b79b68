"""A poll's results: the same snapshots, disclosure and CSV as reports, moving in batches."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from results.exports import CELL_COLUMNS
from results.models import RebuildJob, Snapshot
from results.services import poll_due, snapshot_build, snapshot_publish, stale_series
from survey.models import Series, Survey
from survey.poll_services import poll_create
from survey.selectors import voted_proof
from tests.conftest import cast_votes

pytestmark = pytest.mark.django_db


def publish(poll: Survey) -> Snapshot:
    snapshot = snapshot_build(series_id=poll.series_id)
    return snapshot_publish(snapshot_id=snapshot.pk)


def results_page(client, poll, proof=True, **extra):
    suffix = f"?voted={voted_proof(poll_id=poll.pk)}" if proof else ""
    return client.get(f"/p/{poll.slug}/results/{suffix}", **extra)


def test_before_k_votes_the_page_says_how_many_more_are_needed(client, poll):
    cast_votes(poll, {"pytorch": 3, "jax": 1})

    html = results_page(client, poll).content.decode()

    assert "6 more votes needed" in html
    assert "<table" not in html


def test_the_standing_shows_shares_with_intervals_and_hides_small_counts(client, poll):
    cast_votes(poll, {"pytorch": 24, "tensorflow": 12, "jax": 4})
    snapshot = publish(poll)

    html = results_page(client, poll).content.decode()

    assert "n = 40 votes" in html
    assert "60.0%" in html  # 24 / 40
    # The 95% Wilson interval of 24/40.
    assert "44.6–73.7%" in html
    assert ">24<" in html
    # 4 is between 1 and k-1; 12 would give it away by subtraction, so both are hidden.
    assert ">4<" not in html and ">12<" not in html
    assert html.count(">hidden</abbr>") == 2
    assert "Last updated" in html
    assert snapshot.published_at is not None


def test_results_wait_for_a_vote_by_default(client, poll):
    cast_votes(poll, {"pytorch": 30})
    publish(poll)

    before = results_page(client, poll, proof=False).content.decode()
    after = results_page(client, poll).content.decode()

    assert "shown once you have voted" in before and "<table" not in before
    assert "<table" in after


def test_results_can_wait_for_the_poll_to_close(client, poll):
    Survey.objects.filter(pk=poll.pk).update(
        results_visibility=Survey.ResultsVisibility.AFTER_CLOSE
    )
    cast_votes(poll, {"pytorch": 30})
    publish(poll)

    running = results_page(client, poll).content.decode()
    Survey.objects.filter(pk=poll.pk).update(status=Survey.Status.CLOSED)
    closed = results_page(client, poll, proof=False).content.decode()

    assert "shown when the poll closes" in running and "<table" not in running
    assert "<table" in closed


def test_a_poll_gets_a_new_snapshot_only_once_k_votes_arrived(poll, settings):
    settings.TALLY_POLL_REFRESH_SECONDS = 3600
    series = poll.series
    cast_votes(poll, {"pytorch": 9})
    assert not poll_due(series=series, latest=None, taxonomy=None)
    cast_votes(poll, {"jax": 1})
    assert poll_due(series=series, latest=None, taxonomy=None)
    assert series in stale_series()

    latest = snapshot_build(series_id=series.pk)
    cast_votes(poll, {"tensorflow": 9}, prefix="late")
    assert not poll_due(series=series, latest=latest, taxonomy=None)
    assert series not in stale_series()

    cast_votes(poll, {"tensorflow": 1}, prefix="last")
    assert poll_due(series=series, latest=latest, taxonomy=None)


def test_fewer_than_k_new_votes_are_published_on_the_schedule(poll, settings):
    settings.TALLY_POLL_REFRESH_SECONDS = 60
    cast_votes(poll, {"pytorch": 12})
    latest = snapshot_build(series_id=poll.series_id)
    cast_votes(poll, {"jax": 1}, prefix="late")
    assert not poll_due(series=poll.series, latest=latest, taxonomy=None)

    Snapshot.objects.filter(pk=latest.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    latest.refresh_from_db()

    assert poll_due(series=poll.series, latest=latest, taxonomy=None)


def test_the_page_says_results_are_being_updated_when_a_batch_is_due(client, poll):
    cast_votes(poll, {"pytorch": 30})
    publish(poll)
    cast_votes(poll, {"jax": 10}, prefix="late")

    html = results_page(client, poll).content.decode()

    assert "Results are being updated" in html
    assert RebuildJob.objects.filter(series=poll.series).exists()  # and one was asked for


def test_the_results_csv_has_the_columns_of_cells_csv(client, poll):
    cast_votes(poll, {"pytorch": 30, "jax": 12})
    publish(poll)

    response = client.get(f"/p/{poll.slug}/results.csv?voted={voted_proof(poll_id=poll.pk)}")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert response.status_code == 200
    assert rows[0] == CELL_COLUMNS
    pytorch = dict(zip(rows[0], next(r for r in rows[1:] if r[3] == "pytorch"), strict=True))
    assert pytorch["count"] == "30" and pytorch["base_n"] == "42"


def test_the_results_csv_waits_like_the_page_and_says_why_in_plain_text(client, poll):
    cast_votes(poll, {"pytorch": 30})
    publish(poll)

    response = client.get(f"/p/{poll.slug}/results.csv")

    assert response.status_code == 403
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == "The results are shown once you have voted in this poll.\n"


def test_the_results_csv_of_an_unknown_poll_is_a_plain_text_404(client, db):
    response = client.get("/p/no-such-poll/results.csv")

    assert response.status_code == 404
    assert response.content.decode() == "There is no poll at this address.\n"


def vote_in_browser(client, poll, choice):
    page = client.get(f"/p/{poll.slug}/").content.decode()
    ballot = re.search(r'name="ballot" value="([^"]+)"', page).group(1)
    return client.post(f"/p/{poll.slug}/", {"ballot": ballot, "choice": choice})


def test_a_voter_with_the_respondent_cookie_sees_results_and_csv_without_a_token(client, poll):
    cast_votes(poll, {"pytorch": 30})
    vote_in_browser(client, poll, "jax")
    publish(poll)

    page = client.get(f"/p/{poll.slug}/results/").content.decode()
    response = client.get(f"/p/{poll.slug}/results.csv")

    assert "shown once you have voted" not in page and "<table" in page
    assert 'href="/p/new-project/results.csv"' in page
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert b"".join(response.streaming_content).decode().startswith(",".join(CELL_COLUMNS))


def test_a_cookie_from_another_polls_vote_shows_no_results(client, poll):
    cast_votes(poll, {"pytorch": 30})
    publish(poll)
    second = poll_create(
        slug="second-poll",
        text="Another question?",
        choices=[("a", "A"), ("b", "B")],
        status=Survey.Status.OPEN,
    )
    vote_in_browser(client, second, "a")

    page = client.get(f"/p/{poll.slug}/results/").content.decode()

    assert "shown once you have voted" in page and "<table" not in page
    assert client.get(f"/p/{poll.slug}/results.csv").status_code == 403


def test_the_embed_voter_keeps_the_token_when_opening_the_full_results(client, poll):
    cast_votes(poll, {"pytorch": 30})
    publish(poll)
    proof = voted_proof(poll_id=poll.pk)

    embed = client.get(f"/p/{poll.slug}/embed/results/?voted={proof}").content.decode()

    assert f'href="/p/{poll.slug}/results/?voted={proof}"' in embed


def test_the_embed_results_can_be_framed_where_the_poll_can(client, poll):
    poll.frame_ancestors = "https://ok.example"
    poll.save()
    response = client.get(f"/p/{poll.slug}/embed/results/")
    assert "frame-ancestors https://ok.example" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response


def test_a_quick_poll_channel_is_marked_and_kept_apart(client, db):
    from survey.poll_services import poll_create

    census_series = Series.objects.create(slug="ml-frameworks", title="ML Framework Census")
    quick = poll_create(
        slug="quick-census",
        text="Which framework do you reach for first when you start a new project?",
        key="primary_framework",
        choices=[("pytorch", "PyTorch"), ("jax", "JAX")],
        status=Survey.Status.OPEN,
        results_visibility=Survey.ResultsVisibility.ALWAYS,
        quick_poll_of=census_series,
    )

    html = client.get(f"/p/{quick.slug}/results/").content.decode()

    assert quick.series != census_series
    assert "quick-poll channel" in html and "never pooled" in html
    assert not census_series.surveys.exists()


def _two_rounds(poll, january: dict[str, int], february: dict[str, int]) -> Survey:
    """The poll as a closed January round, then an open February round, both voted in and
    the February one published."""
    earlier = Survey.objects.filter(pk=poll.pk)
    earlier.update(wave_label="2026-01-01", slug="new-project-2026-01-01")
    cast_votes(Survey.objects.get(pk=poll.pk), january)
    earlier.update(status=Survey.Status.CLOSED)
    current = poll_create(
        slug="new-project",
        series_slug=poll.series.slug,
        wave_label="2026-02-01",
        text=poll.questions.get().text,
        choices=[("pytorch", "PyTorch"), ("tensorflow", "TensorFlow"), ("jax", "JAX")],
        has_other=True,
        status=Survey.Status.OPEN,
        results_visibility=Survey.ResultsVisibility.ALWAYS,
    )
    cast_votes(current, february, prefix="feb")
    publish(current)
    return current


def test_a_recurring_poll_shows_its_trend_with_intervals(client, poll):
    _two_rounds(poll, {"pytorch": 20, "jax": 20}, {"pytorch": 30, "jax": 10})

    html = client.get("/p/new-project/results/").content.decode()

    assert "Trend across rounds" in html
    assert "50.0% (35.2–64.8%)" in html  # pytorch in January: 20 / 40
    assert "75.0% (59.8–85.8%)" in html  # and in February: 30 / 40
    assert "+25.0 pts (" in html


def test_a_poll_series_report_charts_the_polls_question_once_rounds_have_ten_k_votes(client, poll):
    from survey.poll_services import poll_create

    Survey.objects.filter(pk=poll.pk).update(wave_label="2026-01-01", slug="jan")
    cast_votes(Survey.objects.get(pk=poll.pk), {"pytorch": 60, "jax": 50})
    current = poll_create(
        slug="feb",
        series_slug=poll.series.slug,
        wave_label="2026-02-01",
        text=poll.questions.get().text,
        choices=[("pytorch", "PyTorch"), ("tensorflow", "TensorFlow"), ("jax", "JAX")],
        has_other=True,
        status=Survey.Status.OPEN,
    )
    cast_votes(current, {"pytorch": 80, "jax": 30}, prefix="feb")
    publish(current)

    html = client.get(f"/reports/{poll.series.slug}/").content.decode()
    svg = client.get(f"/reports/{poll.series.slug}/charts/headline.svg")

    assert "Over time" in html
    assert "Share of votes for each answer, by round" in html
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"


def test_a_poll_series_report_waits_for_ten_k_votes_as_the_readme_says(client, poll):
    cast_votes(poll, {"pytorch": 30, "jax": 10})
    publish(poll)

    html = client.get(f"/reports/{poll.series.slug}/").content.decode()

    assert "Not enough answers yet: 40 of 100 needed." in html
    assert "the latest wave with enough answers" not in html


def test_with_the_broker_down_votes_count_and_the_page_says_results_are_updating(
    client, poll, monkeypatch
):
    from kombu.exceptions import OperationalError

    from results import tasks

    def broker_down(**kwargs):
        raise OperationalError("Error 111 connecting to the broker: Connection refused.")

    monkeypatch.setattr(tasks.rebuild, "delay", broker_down)
    cast_votes(poll, {"pytorch": 30})
    publish(poll)
    cast_votes(poll, {"jax": 12}, prefix="late")
    ballot = re.search(
        r'name="ballot" value="([^"]+)"', client.get(f"/p/{poll.slug}/").content.decode()
    ).group(1)

    voted = client.post(f"/p/{poll.slug}/", {"ballot": ballot, "choice": "tensorflow"})
    page = client.get(voted["Location"])

    assert voted.status_code == 302
    assert page.status_code == 200
    assert "Results are being updated" in page.content.decode()
    assert poll.responses.filter(status="complete").count() == 43


def test_the_embed_snippet_points_where_the_request_came_without_a_site_url(client, poll, settings):
    settings.SITE_URL = ""
    cast_votes(poll, {"pytorch": 30})
    publish(poll)

    html = results_page(client, poll, HTTP_HOST="127.0.0.1:8765").content.decode()

    assert "&lt;iframe src=&quot;http://127.0.0.1:8765/p/new-project/embed/&quot;" in html
    assert "127.0.0.1:8000" not in html


def test_the_embed_snippet_uses_the_configured_site_url(client, poll, settings):
    settings.SITE_URL = "https://polls.example"
    cast_votes(poll, {"pytorch": 30})
    publish(poll)

    html = results_page(client, poll, HTTP_HOST="127.0.0.1:8765").content.decode()

    assert "&lt;iframe src=&quot;https://polls.example/p/new-project/embed/&quot;" in html


def test_the_embed_widget_and_its_results_label_a_synthetic_poll_visibly(client, poll):
    Survey.objects.filter(pk=poll.pk).update(is_synthetic=True)
    proof = voted_proof(poll_id=poll.pk)

    widget = client.get(f"/p/{poll.slug}/embed/").content.decode()
    results = client.get(f"/p/{poll.slug}/embed/results/?voted={proof}").content.decode()

    for html in (widget, results):
        body = html.split("<body", 1)[1]
        assert '<span class="tag"' in body and "synthetic demo data</span>" in body


def test_the_embed_of_a_real_poll_has_no_synthetic_label(client, poll):
    widget = client.get(f"/p/{poll.slug}/embed/").content.decode()

    assert "synthetic" not in widget.split("<body", 1)[1]


def test_the_trend_marks_hidden_cells_briefly_and_explains_the_mark_once(client, poll):
    _two_rounds(
        poll,
        {"pytorch": 20, "jax": 20, "tensorflow": 3},
        {"pytorch": 30, "jax": 10, "tensorflow": 4},
    )

    html = client.get("/p/new-project/results/").content.decode()
    trend = html[
        html.index('<table class="poll-trend">') : html.index("</table>", html.index("poll-trend"))
    ]
    visible = re.sub(r"<[^>]+>", "", html)

    assert ">hidden</abbr>" in trend
    assert "Hidden to protect small groups" not in re.sub(r"<[^>]+>", "", trend)
    assert visible.count("Hidden to protect small groups") == 1
    assert "<dt>Hidden</dt><dd>Hidden to protect small groups" in html


def test_the_vote_link_has_no_dangling_separator_when_the_csv_is_not_offered(client, poll):
    cast_votes(poll, {"pytorch": 3})

    html = results_page(client, poll).content.decode()

    assert "Download the results (CSV)" not in html
    assert "Vote or change your vote</a></p>" in html


def test_the_vote_link_and_the_csv_link_are_joined_by_one_separator(client, poll):
    cast_votes(poll, {"pytorch": 30})
    publish(poll)

    html = results_page(client, poll).content.decode()

    assert re.search(
        r"Vote or change your vote</a> · <a href=\"[^\"]+\">Download the results", html
    )
