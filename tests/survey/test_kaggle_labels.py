"""Every label of the real Kaggle waves (the extracts in data/kaggle/) maps to a taxonomy
entity or is reported by the import, never silently unassigned."""

from pathlib import Path

import pytest

from survey.importers.kaggle import kaggle_import
from survey.models import Answer, Choice, Question

EXTRACTS = Path(__file__).resolve().parents[2] / "data" / "kaggle"
# Countries with no Census region, as these waves spell them; the import reports each one.
NO_REGION = {"Other", "I do not wish to disclose my location"}


@pytest.mark.parametrize("wave", ["2018", "2022"])
def test_every_label_of_a_real_wave_maps_or_is_reported(db, wave):
    summary = kaggle_import(path=EXTRACTS / f"kaggle_{wave}_extract.zip", wave=wave)
    survey_slug = f"kaggle-{wave}"

    assert dict(summary.unmapped) == {}
    assert not Choice.objects.filter(question__survey__slug=survey_slug, needs_review=True)
    reported = {line for line in summary.lines() if "has no region" in line}
    assert {line.split("'")[1] for line in reported} == NO_REGION
    # Every country but those is in a region: its respondents count in the region's base.
    country = Question.objects.get(survey__slug=survey_slug, key="country")
    unassigned = {c.label for c in country.choices.all() if not c.group_key}
    assert unassigned == NO_REGION
    region = Question.objects.get(survey__slug=survey_slug, key="region")
    in_region = Answer.objects.filter(question=region).count()
    in_country = Answer.objects.filter(question=country).exclude(choice__label__in=NO_REGION)
    assert in_region == in_country.count()
    # What stood for "not asked" is said, and only the labels the layout names.
    assert {label for _key, label in summary.not_applicable} <= {"I am a student"}
