"""An admin's curation (an exclusion, an approved "other" mapping) shows in the next snapshot."""

import pytest

from results.services import snapshot_build
from survey.curation import other_mapping_approve, other_text_groups, response_exclude
from survey.models import Entity, Response
from survey.services import Structure
from tests.factories import imported_response


def cell(snapshot, choice: str):
    return snapshot.cells.get(
        measure="share", question="frameworks_used", choice=choice, dimension="", option=""
    )


@pytest.fixture
def answered(census, admin_user):
    structure = Structure.of(census)
    base = {"role": "student", "region": "europe", "project_types": ["research"]}
    rows = (
        [{"frameworks_used": ["pytorch"]}] * 30
        + [{"frameworks_used": ["other"], "frameworks_used__other": "PyTorch nightly build"}] * 12
        + [{"frameworks_used": ["tensorflow"]}] * 18
    )
    for index, extra in enumerate(rows):
        imported_response(
            census, respondent_hash=f"r{index}", values={**base, **extra}, structure=structure
        )
    return census


@pytest.mark.django_db
def test_an_exclusion_and_an_approved_other_mapping_reach_the_next_snapshot(answered, admin_user):
    before = snapshot_build(series_id=answered.series_id)
    assert (cell(before, "pytorch").count, cell(before, "pytorch").base_n) == (30, 60)
    assert cell(before, "other").count == 12

    excluded = list(
        Response.objects.filter(answers__choice__key="tensorflow").values_list("pk", flat=True)
    )[:5]
    response_exclude(response_ids=excluded, reason="Same person, five times", user=admin_user)
    groups = other_text_groups(kind="framework")
    assert [g.label for g in groups] == ["PyTorch nightly build"]
    other_mapping_approve(
        kind="framework",
        texts=["PyTorch nightly build"],
        entity=Entity.objects.get(kind="framework", key="pytorch"),
        user=admin_user,
    )

    after = snapshot_build(series_id=answered.series_id)
    assert (cell(after, "pytorch").count, cell(after, "pytorch").base_n) == (42, 55)
    assert cell(after, "tensorflow").count == 13
    assert after.taxonomy_version is not None
    assert after.taxonomy_version != before.taxonomy_version
    wave = after.summary["waves"][0]
    assert wave["n"] == 55
    # Five exclusions are fewer than k: listed, but their number is not published.
    assert wave["n_excluded"] is None
    assert wave["exclusions"] == {"other reasons": None}
