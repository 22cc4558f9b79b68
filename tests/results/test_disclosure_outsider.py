"""The outsider's attack on the reports as published: the demo and the real Kaggle waves.

Only the public files go in: cells.csv, codebook.csv and each wave's n as the report shows
it. The attack (tests/results/attacker.py) shares no code with results.disclosure.
"""

import csv
import io
from io import StringIO

import pytest
from django.core.management import call_command

from results.models import WeightingTarget
from results.services import snapshot_build, snapshot_publish
from results.services.figures import wave_figures
from survey.models import Answer, Series, Survey

from .attacker import attack, leaks, propagate, weighted_surprises

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


def unexplained_gaps(cells: list[dict]) -> list[dict]:
    """Rows that leave out a count, a base or a share without a flag saying why."""
    return [
        c for c in cells
        if not c["flag"] and "" in (c["base_n"], c["share"], c["count"])
        and c["measure"] != "change"
    ]  # fmt: skip


@pytest.mark.django_db
def test_every_missing_number_of_the_real_waves_says_why(client, real_waves):
    cells, _, _ = public_files(client, "ml-frameworks")
    assert unexplained_gaps(cells) == []
    assert any(c["flag"] == "hidden-base" and c["count"] and not c["base_n"] for c in cells)


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


def _weight(series, targets: dict[str, dict[str, float]], cap: int | None) -> None:
    series.weighting_enabled = True
    series.employer_cap = cap
    series.save()
    for dimension, shares in targets.items():
        for segment, share in shares.items():
            WeightingTarget.objects.create(
                series=series, dimension=dimension, segment=segment, share=share, source="test"
            )


REGIONS = {"europe": 0.5, "north-america": 0.3, "east-asia": 0.2}


@pytest.mark.django_db
def test_an_outsider_rebuilds_every_published_weighted_share_from_published_counts(
    client, demo_series
):
    """Weighted on one dimension without an employer cap: the outsider rebuilds the weights
    from the published targets and trim bounds, and every weighted share and n_eff from the
    published counts, so the weighted figures add no equation."""
    _weight(demo_series, {"region": REGIONS}, cap=None)
    snapshot_publish(snapshot_id=snapshot_build(series_id=demo_series.pk).pk)
    cells, _, _ = public_files(client, demo_series.slug)
    summary = client.get(f"/api/v1/series/{demo_series.slug}/").json()["snapshot"]["summary"]
    checked, surprises = weighted_surprises(cells, summary)
    assert checked > 20
    assert surprises == []
    trimmed = [c for c in cells if c["share_weighted"] and c["share_weighted"] != c["share"]]
    assert trimmed  # the weights really moved the shares


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("targets", "cap"),
    [
        ({"region": REGIONS}, 3),
        ({"region": REGIONS, "company_size": {"0-49": 0.5, "50-249": 0.5}}, None),
    ],
    ids=["employer-cap", "two-margins"],
)
def test_weights_the_outsider_cannot_rebuild_publish_no_weighted_share(
    client, demo_series, targets, cap
):
    _weight(demo_series, targets, cap=cap)
    snapshot_publish(snapshot_id=snapshot_build(series_id=demo_series.pk).pk)
    cells, _, _ = public_files(client, demo_series.slug)
    summary = client.get(f"/api/v1/series/{demo_series.slug}/").json()["snapshot"]["summary"]
    assert weighted_surprises(cells, summary) == (0, [])
