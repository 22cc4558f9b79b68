"""The outsider's attack on the reports as published: the demo and the real Kaggle waves.

Only the public files go in: cells.csv, codebook.csv and each wave's n as the report shows
it. The attack (tests/results/attacker.py) shares no code with results.disclosure.
"""

import csv
import io
from io import StringIO

import pytest
from django.core.management import call_command

from results.services import snapshot_build, snapshot_publish
from results.services.figures import wave_figures
from survey.models import Answer, Series, Survey

from .attacker import attack, leaks, propagate

K = 10


def public_files(client, slug: str) -> tuple[list[dict], list[dict], dict]:
    cells = client.get(f"/reports/{slug}/cells.csv")
    codebook = client.get(f"/reports/{slug}/codebook.csv")
    read = [
        list(csv.DictReader(io.StringIO(b"".join(r.streaming_content).decode())))
        for r in (cells, codebook)
    ]
    waves = client.get(f"/api/v1/series/{slug}/").json()["snapshot"]["summary"]["waves"]
    return read[0], read[1], {w["label"]: w["n"] for w in waves}


def outsider_leaks(client, slug: str) -> tuple[list, int]:
    cells, codebook, totals = public_files(client, slug)
    found = attack(cells, codebook, totals, K)
    propagate(found)
    return leaks(found, K), sum(1 for c in cells if c["flag"] == "hidden")


@pytest.mark.django_db
def test_the_published_demo_gives_an_outsider_no_group_under_k(client, demo_series):
    snapshot_publish(snapshot_id=snapshot_build(series_id=demo_series.pk).pk)
    found, hidden = outsider_leaks(client, demo_series.slug)
    assert hidden > 0
    assert found == []


@pytest.fixture(scope="module")
def real_waves(django_db_setup, django_db_blocker):
    """The real 2018 and 2022 Kaggle waves from the committed extracts, built and published."""
    with django_db_blocker.unblock():
        call_command("load_kaggle", stdout=StringIO())
        series = Series.objects.get(slug="ml-frameworks")
        snapshot_publish(snapshot_id=snapshot_build(series_id=series.pk).pk)
        yield series
        Answer.objects.filter(response__survey__series=series).delete()
        Survey.objects.filter(series=series).delete()
        series.delete()


@pytest.mark.django_db
def test_the_published_real_waves_give_an_outsider_no_group_under_k(client, real_waves):
    found, hidden = outsider_leaks(client, "ml-frameworks")
    assert hidden > 100
    assert found == []


@pytest.mark.django_db
def test_the_real_waves_keep_most_framework_cells_whose_group_is_at_least_k(real_waves):
    """Information loss: of the 2022 framework-by-dimension cells whose own group and its
    complement are both at least k, at least 90% are still shown."""
    snapshot = real_waves.snapshots.latest("pk")
    survey = real_waves.surveys.get(wave_label="2022")
    true = {
        (f.dimension, f.segment, f.choice): f
        for f in wave_figures(survey, targets=[], cap=None, weighted=False).figures
        if f.question == "frameworks_used" and f.dimension
    }
    cells = snapshot.cells.filter(measure="share", wave="2022", question="frameworks_used")
    shown = {(c.dimension, c.segment, c.choice) for c in cells.exclude(count=None)}
    large = [key for key, f in true.items()
             if f.count >= K and f.base_n - f.count >= K]  # fmt: skip
    assert len(large) > 300
    assert sum(1 for key in large if key in shown) / len(large) >= 0.9
