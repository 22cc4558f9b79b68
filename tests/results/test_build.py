import pytest
from django.db.models import F, Q

from results import disclosure
from results.models import Cell, Snapshot, WeightingTarget
from results.services import SnapshotNotPublishableError, snapshot_build, snapshot_publish
from survey.models import Answer, Question, Response

FIELDS = (
    "measure", "wave", "compare_wave", "question", "choice", "option", "dimension", "segment",
    "base_n", "count", "share", "ci_low", "ci_high", "share_weighted", "ci_low_weighted",
    "ci_high_weighted", "n_eff", "design_effect", "flag",
)  # fmt: skip


def cell_tuples(snapshot: Snapshot) -> list[tuple]:
    return list(snapshot.cells.order_by("pk").values_list(*FIELDS))


def test_build_writes_a_ready_snapshot_that_passes_its_audit(demo_series):
    snapshot = snapshot_build(series_id=demo_series.pk)
    assert snapshot.status == Snapshot.Status.READY
    assert snapshot.audit_passed is True
    assert snapshot.response_count == Response.objects.accepted().count() == 320
    assert snapshot.watermark is not None
    assert len(snapshot.inputs_digest) == 64
    assert snapshot.parameters["k"] == 10
    assert snapshot.published_at is None
    measures = set(snapshot.cells.values_list("measure", flat=True))
    assert measures == {"share", "change", "retention", "migration"}


def test_overall_share_counts_those_who_answered_and_matches_the_responses(demo_series):
    snapshot = snapshot_build(series_id=demo_series.pk)
    cell = snapshot.cells.get(
        measure="share", wave="2025", question="frameworks_used", choice="pytorch", dimension=""
    )
    answered = Response.objects.accepted().filter(
        survey__wave_label="2025", answers__question__key="frameworks_used"
    )
    using = Answer.objects.filter(
        response__in=answered, question__key="frameworks_used", choice__key="pytorch"
    ).count()
    assert cell.base_n == answered.distinct().count()
    assert cell.count == using
    assert cell.share == pytest.approx(using / cell.base_n)
    assert cell.ci_low < cell.share < cell.ci_high
    assert cell.flag == ""


def test_not_asked_is_not_none_company_size_base_holds_only_those_asked(demo_series):
    snapshot = snapshot_build(series_id=demo_series.pk)
    cells = snapshot.cells.filter(
        measure="share", wave="2024", question="company_size", dimension=""
    )
    asked = Response.objects.accepted().filter(
        survey__wave_label="2024", answers__question__key="company_size"
    )
    bases = {c.base_n for c in cells}
    assert bases == {asked.count()}
    assert asked.count() < 160


def test_nothing_public_holds_free_text_or_sensitive_questions(demo_series):
    snapshot = snapshot_build(series_id=demo_series.pk)
    hidden = Question.objects.filter(Q(is_sensitive=True) | Q(kind__in=["text", "number"]))
    assert not snapshot.cells.filter(question__in=hidden.values("key")).exists()
    listed = {q["key"]: q for q in snapshot.summary["questions"]}
    assert listed["company_name"]["published"] is False
    assert listed["company_name"]["waves"]["2025"]["choices"] == []
    assert listed["frameworks_used"]["published"] is True


def test_every_missing_value_carries_a_flag(demo_series):
    snapshot = snapshot_build(series_id=demo_series.pk)
    missing = snapshot.cells.exclude(measure="change").filter(Q(count=None) | Q(share=None))
    assert missing.exists()
    assert not missing.filter(flag="").exists()
    for cell in missing.filter(count=None):
        assert cell.share is None and cell.ci_low is None and cell.share_weighted is None
    assert set(snapshot.cells.values_list("flag", flat=True)) <= set(disclosure.FLAGS)


def test_segments_are_one_dimension_at_a_time(demo_series):
    snapshot = snapshot_build(series_id=demo_series.pk)
    crossed = set(snapshot.cells.exclude(dimension="").values_list("wave", "question", "dimension"))
    thin = [tuple(key) for key in snapshot.summary["withheld_breakdowns"]]
    withheld = {key for key in thin if len(key) == 3}  # whole tables (else one answer's column)
    dimensions = {d for _, _, d in crossed | {key[:3] for key in thin}}
    assert dimensions == {
        "role", "company_size", "industry", "region", "ml_experience", "project_types"
    }  # fmt: skip
    assert not crossed & withheld
    assert not snapshot.cells.filter(question="role", dimension="role").exists()
    # A cross of two dimensions is published one way only, and country is never crossed.
    assert not {(w, d, q) for w, q, d in crossed} & crossed
    assert not any(q == "country" for _, q, _ in crossed | {key[:3] for key in thin})


def test_rebuilding_the_same_inputs_gives_identical_cells(demo_series):
    first = snapshot_build(series_id=demo_series.pk)
    second = snapshot_build(series_id=demo_series.pk)
    assert first.pk != second.pk
    assert first.inputs_digest == second.inputs_digest
    assert cell_tuples(first) == cell_tuples(second)
    assert first.summary == second.summary


def test_changes_between_waves_carry_newcombe_intervals(demo_series):
    snapshot = snapshot_build(series_id=demo_series.pk)
    change = snapshot.cells.get(measure="change", question="frameworks_used", choice="pytorch")
    assert (change.wave, change.compare_wave) == ("2025", "2024")
    assert change.ci_low <= change.share <= change.ci_high
    crossing = change.ci_low <= 0 <= change.ci_high
    assert (change.flag == "no-detectable-change") == crossing


def test_a_reworded_question_breaks_the_trend(demo_series):
    Question.objects.filter(survey__wave_label="2025", key="satisfaction").update(
        text="How happy are you with your main framework?"
    )
    snapshot = snapshot_build(series_id=demo_series.pk)
    changes = snapshot.cells.filter(measure="change", question="satisfaction")
    assert changes.exists()
    assert set(changes.values_list("flag", flat=True)) == {"wording-break"}
    assert set(changes.values_list("share", flat=True)) == {None}
    assert {
        "question": "satisfaction",
        "wave": "2025",
        "previous_wave": "2024",
        "kind": "wording",
    } in snapshot.summary["breaks"]


def test_a_question_asked_of_a_different_group_breaks_the_trend(demo_series):
    Question.objects.filter(survey__wave_label="2025", key="role").update(
        universe="not shown to self-declared students"
    )
    snapshot = snapshot_build(series_id=demo_series.pk)
    changes = snapshot.cells.filter(measure="change", question="role")
    assert changes.exists()
    assert set(changes.values_list("flag", flat=True)) == {disclosure.UNIVERSE_BREAK}
    assert set(changes.values_list("share", flat=True)) == {None}
    assert not changes.filter(flag="no-detectable-change").exists()
    assert {
        "question": "role",
        "wave": "2025",
        "previous_wave": "2024",
        "kind": "universe",
        "universe": "not shown to self-declared students",
        "previous_universe": "",
    } in snapshot.summary["breaks"]
    role = next(q for q in snapshot.summary["questions"] if q["key"] == "role")
    assert role["waves"]["2025"]["universe"] == "not shown to self-declared students"
    # Other questions keep their changes.
    assert snapshot.cells.filter(measure="change", question="region", flag="").exists() or (
        snapshot.cells.filter(measure="change", question="region")
        .exclude(flag=disclosure.UNIVERSE_BREAK)
        .exists()
    )


def test_retention_counts_those_still_using_among_those_who_ever_used(demo_series):
    snapshot = snapshot_build(series_id=demo_series.pk)
    shares = {
        c.option: c.count
        for c in snapshot.cells.filter(
            measure="share", wave="2024", question="framework_status", choice="pytorch",
            dimension="",
        )
    }  # fmt: skip
    retention = snapshot.cells.get(measure="retention", wave="2024", choice="pytorch")
    if retention.base_n is not None and None not in shares.values():
        assert (
            retention.base_n == shares["new-projects"] + shares["existing-only"] + shares["stopped"]
        )
        assert retention.count == shares["new-projects"] + shares["existing-only"]


def _moves(wave: str) -> list[tuple[int, str, str]]:
    """(response, from, to) of the wave's accepted switchers."""
    answers = Answer.objects.filter(
        response__in=Response.objects.accepted().filter(survey__wave_label=wave),
        question__key__in=["migration_from", "migration_to"],
    ).values_list("response_id", "question__key", "choice__key")
    found: dict[int, dict[str, str]] = {}
    for response, key, choice in answers:
        found.setdefault(response, {})[key] = choice
    return [
        (response, moved["migration_from"], moved["migration_to"])
        for response, moved in found.items()
        if len(moved) == 2
    ]


def test_migration_cells_count_moves_between_different_frameworks(demo_series):
    snapshot = snapshot_build(series_id=demo_series.pk)
    pairs = snapshot.cells.filter(measure="migration", wave="2024")
    moves = _moves("2024")
    self_moves = [m for m in moves if m[1] == m[2]]
    assert self_moves, "the demo has moves from a framework to itself"
    assert {c.base_n for c in pairs} <= {len(moves) - len(self_moves), None}
    assert not pairs.filter(choice=F("option")).exists()
    published = [c for c in pairs if c.count is not None]
    assert all(c.count == 0 or c.count >= 10 for c in published)
    assert {c.flag for c in published} <= {disclosure.CONTRADICTIONS_EXCLUDED}


def test_none_with_a_framework_is_left_out_of_retention_and_migration(demo_series):
    survey = demo_series.surveys.get(wave_label="2024")
    used = Question.objects.get(survey=survey, key="frameworks_used")
    none = used.choices.get(key="none")
    rated = Response.objects.accepted().filter(
        survey=survey, answers__question__key="framework_status"
    )
    contradicting = list(
        rated.filter(answers__question=used).exclude(answers__choice=none).distinct()[:25]
    )
    Answer.objects.bulk_create(
        Answer(response=r, question=used, choice=none) for r in contradicting
    )
    left_out = {r.pk for r in contradicting}
    snapshot = snapshot_build(series_id=demo_series.pk)

    status = Answer.objects.filter(
        response__in=Response.objects.accepted().filter(survey=survey),
        question__key="framework_status",
        choice__key="pytorch",
    ).exclude(response_id__in=left_out)
    still = status.filter(column__key__in=["new-projects", "existing-only"]).count()
    ever = still + status.filter(column__key="stopped").count()
    retention = snapshot.cells.get(measure="retention", wave="2024", choice="pytorch")
    assert (retention.count, retention.base_n) in ((still, ever), (None, ever), (None, None))
    assert retention.count is None or retention.flag == disclosure.CONTRADICTIONS_EXCLUDED
    # The matrix shares themselves keep every answer.
    share = snapshot.cells.get(
        measure="share", wave="2024", question="framework_status", choice="pytorch",
        option="stopped", dimension="",
    )  # fmt: skip
    assert (
        share.base_n is None
        or share.base_n
        == status.count()
        + Answer.objects.filter(
            response_id__in=left_out, question__key="framework_status", choice__key="pytorch"
        ).count()
    )
    moves = [m for m in _moves("2024") if m[1] != m[2] and m[0] not in left_out]
    pairs = snapshot.cells.filter(measure="migration", wave="2024")
    assert {c.base_n for c in pairs} <= {len(moves), None}
    assert snapshot.audit_passed


def test_summary_describes_waves_with_small_groups_hidden(demo_series):
    Response.objects.filter(pk__in=Response.objects.order_by("pk").values("pk")[:3]).update(
        curation="excluded", exclusion_reason="duplicate"
    )
    snapshot = snapshot_build(series_id=demo_series.pk)
    summary = snapshot.summary
    assert summary["series"]["is_synthetic"] is True
    assert [w["label"] for w in summary["waves"]] == ["2024", "2025"]
    first = summary["waves"][0]
    assert first["n"] == 157
    assert first["n_excluded"] is None
    assert first["exclusions"] == {"other reasons": None}
    assert sum(n for n in first["channels"].values() if n) <= 157
    assert summary["interval"] == "Wilson 95%; Newcombe 95% for changes"


def test_weighting_fills_weighted_columns_with_design_effect(demo_series):
    demo_series.weighting_enabled = True
    demo_series.save()
    for segment, share in (("europe", 0.5), ("north-america", 0.3), ("east-asia", 0.2)):
        WeightingTarget.objects.create(
            series=demo_series, dimension="region", segment=segment, share=share, source="test"
        )
    snapshot = snapshot_build(series_id=demo_series.pk)
    assert snapshot.summary["weighting"]["enabled"] is True
    assert snapshot.summary["weighting"]["design_effect"]["2024"] > 1
    regions = {
        cell.choice: cell.share_weighted
        for cell in snapshot.cells.filter(
            measure="share", wave="2024", question="region", dimension=""
        )
    }
    # Raked to 50:30:20 over the targeted regions (the others keep their weight).
    targeted = regions["europe"] + regions["north-america"] + regions["east-asia"]
    assert regions["europe"] / targeted == pytest.approx(0.5)
    assert regions["north-america"] / targeted == pytest.approx(0.3)
    published = snapshot.cells.filter(measure="share", dimension="").exclude(share=None)
    weighted = published.exclude(share_weighted=None)
    assert weighted.filter(design_effect__gt=1).exists()
    # A row whose breakdown by region is not published in full gets no weighted share: it
    # would be an equation over the hidden part (tests/results/test_disclosure_outsider.py).
    assert published.filter(share_weighted=None).exists()
    assert snapshot.audit_passed


def test_publish_refuses_a_snapshot_whose_audit_fails(demo_series):
    snapshot = snapshot_build(series_id=demo_series.pk)
    hidden = snapshot.cells.filter(measure="share", flag="hidden").first()
    Cell.objects.filter(pk=hidden.pk).update(count=3, flag="")
    with pytest.raises(SnapshotNotPublishableError):
        snapshot_publish(snapshot_id=snapshot.pk)
    snapshot.refresh_from_db()
    assert snapshot.published_at is None
    assert snapshot.audit_passed is False


def test_publish_sets_published_at_for_a_passing_snapshot(demo_series, admin_user):
    snapshot = snapshot_build(series_id=demo_series.pk)
    published = snapshot_publish(snapshot_id=snapshot.pk, user=admin_user)
    assert published.published_at is not None
    assert published.published_by == admin_user
    assert Snapshot.objects.latest_published(demo_series) == published
