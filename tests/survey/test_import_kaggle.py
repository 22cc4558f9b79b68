"""The Kaggle importer against the two real waves, and its refusals."""

import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count

from survey.census import FRAMEWORKS_USED_TEXT, REGIONS
from survey.curation import response_exclude
from survey.models import Answer, Choice, CurationLog, Response, Series, Survey

from .conftest import HEADER, kaggle_dir

REFERENCE = {
    "2022": (
        16_240,
        {"scikit-learn": 70.2, "tensorflow": 49.0, "keras": 40.5, "pytorch": 32.0, "jax": 1.6},
    ),
    "2018": (18_696, {"scikit-learn": 65.5, "tensorflow": 53.4, "keras": 43.5, "pytorch": 20.5}),
}


@pytest.fixture(scope="module")
def waves(django_db_setup, django_db_blocker):
    """Both shared waves, imported once for this module and removed afterwards."""
    folder = kaggle_dir()
    if not (folder / "kaggle_2018.zip").exists() or not (folder / "kaggle_2022.zip").exists():
        pytest.skip(f"the shared Kaggle waves are not in {folder} (set TALLY_KAGGLE_DIR)")
    with django_db_blocker.unblock():
        series_before = set(Series.objects.values_list("pk", flat=True))
        summaries = {
            wave: _import(folder / f"kaggle_{wave}.zip", wave) for wave in ("2018", "2022")
        }
        yield summaries
        for wave in summaries:
            survey = Survey.objects.get(slug=f"kaggle-{wave}")
            Answer.objects.filter(response__survey=survey).delete()
            survey.delete()
        # The series the import created goes too: later tests make their own.
        Series.objects.exclude(pk__in=series_before).filter(surveys__isnull=True).delete()


def _import(path, wave, *extra):
    from io import StringIO

    out = StringIO()
    call_command("import_kaggle", str(path), "--wave", wave, "--no-progress", *extra, stdout=out)
    return out.getvalue()


def _shares(wave: str) -> tuple[int, dict[str, float]]:
    answers = Answer.objects.filter(
        question__survey__slug=f"kaggle-{wave}", question__key="frameworks_used"
    )
    answered = answers.values("response_id").distinct().count()
    counts = answers.values("choice__key").annotate(n=Count("response_id", distinct=True))
    return answered, {row["choice__key"]: 100 * row["n"] / answered for row in counts}


@pytest.mark.parametrize("wave", ["2018", "2022"])
def test_wave_matches_the_reference_figures(waves, db, wave):
    answered, shares = _shares(wave)
    expected_answered, expected = REFERENCE[wave]
    assert answered == expected_answered
    for key, share in expected.items():
        assert shares[key] == pytest.approx(share, abs=0.1), key


def test_2018_has_no_jax_because_it_was_not_offered(waves, db):
    assert not Choice.objects.filter(
        question__survey__slug="kaggle-2018", question__key="frameworks_used", key="jax"
    ).exists()


def test_waves_keep_their_own_wording_and_2022_matches_the_census(waves, db):
    texts = {
        wave: Survey.objects.get(slug=f"kaggle-{wave}").questions.get(key="frameworks_used").text
        for wave in ("2018", "2022")
    }
    assert texts["2018"] == "What machine learning frameworks have you used in the past 5 years?"
    assert texts["2022"] == FRAMEWORKS_USED_TEXT


def test_drifting_labels_join_on_census_keys(waves, db):
    keys = {
        wave: set(
            Choice.objects.filter(
                question__survey__slug=f"kaggle-{wave}", question__key="frameworks_used"
            ).values_list("key", flat=True)
        )
        for wave in ("2018", "2022")
    }
    assert {"scikit-learn", "fastai", "xgboost", "none", "other"} <= keys["2018"] & keys["2022"]
    assert {"mxnet", "h2o"} <= keys["2018"]
    assert "huggingface-transformers" in keys["2022"]
    assert not Choice.objects.filter(
        question__survey__slug__startswith="kaggle-",
        question__key="frameworks_used",
        needs_review=True,
    ).exists()


def test_wave_survey_records_license_attribution_and_channel(waves, db):
    survey = Survey.objects.get(slug="kaggle-2022")
    assert survey.status == Survey.Status.CLOSED
    assert survey.license == "CC BY 2.0"
    assert survey.attribution == "Kaggle, 2022 Kaggle Machine Learning & Data Science Survey"
    assert Survey.objects.get(slug="kaggle-2018").license == "CC BY-SA 4.0"
    channels = set(survey.responses.values_list("channel", flat=True).distinct())
    assert channels == {"import:kaggle"}
    assert survey.responses.complete().count() == 23_997


def test_company_size_and_region_use_census_keys(waves, db):
    sizes = set(
        Choice.objects.filter(
            question__survey__slug="kaggle-2022", question__key="company_size"
        ).values_list("key", flat=True)
    )
    assert sizes == {"0-49", "50-249", "250-999", "1000-9999", "10000-plus"}
    regions = set(
        Answer.objects.filter(question__survey__slug="kaggle-2022", question__key="region")
        .values_list("choice__key", flat=True)
        .distinct()
    )
    assert regions <= {key for key, _ in REGIONS}
    assert {"south-asia", "north-america", "europe"} <= regions


def test_blank_framework_cells_store_no_answer_rows(waves, db):
    survey = Survey.objects.get(slug="kaggle-2018")
    without = survey.responses.exclude(answers__question__key="frameworks_used").count()
    assert without == 23_859 - 18_696


def test_summary_lists_rows_and_unmapped_labels(waves):
    assert "Rows read: 23,859; imported: 23,859" in waves["2018"]
    assert "'I am a student' treated as not asked" in waves["2018"]
    # Every role, industry and experience label of both waves is known to the taxonomy.
    for wave in ("2018", "2022"):
        assert "Labels the taxonomy does not know" not in waves[wave]
    assert "region: 'Other' has no region (1,430 rows)" in waves["2022"]


def test_small_file_maps_label_variants_and_keeps_unknown_labels(db, kaggle_file):
    path = kaggle_file()
    out = _import(path, "2099", "--license", "CC0 1.0")
    survey = Survey.objects.get(slug="kaggle-2099")
    assert survey.license == "CC0 1.0"
    assert survey.responses.count() == 4
    choices = {
        c.key: c for c in Choice.objects.filter(question__survey=survey, question__key="role")
    }
    assert choices["chief-data-wrangler"].needs_review
    assert not choices["data-scientist"].needs_review
    assert "role: 'Chief Data Wrangler' (1 answers)" in out
    size = Answer.objects.get(
        question__survey=survey, question__key="company_size", response__source_row="3"
    )
    assert size.choice.key == "10000-plus"
    fastai = Choice.objects.get(
        question__survey=survey, question__key="frameworks_used", key="fastai"
    )
    assert fastai.answers.count() == 1


def test_reimport_replaces_the_wave_and_keeps_curation(db, kaggle_file, curator):
    path = kaggle_file()
    _import(path, "2099")
    survey = Survey.objects.get(slug="kaggle-2099")
    first = survey.responses.get(source_row="3")
    response_exclude(response_ids=[first.pk], reason="Test exclusion", user=curator)
    _import(path, "2099")
    assert Survey.objects.filter(slug="kaggle-2099").count() == 1
    assert Response.objects.filter(survey=survey).count() == 4
    again = survey.responses.get(source_row="3")
    assert again.pk != first.pk
    assert again.curation == Response.Curation.EXCLUDED
    assert again.exclusion_reason == "Test exclusion"
    assert CurationLog.objects.get(action="exclude").response_id == again.pk


def _state():
    return (Survey.objects.count(), Response.objects.count(), Answer.objects.count())


def _write_zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p, f: p.write_bytes(b"Q1,Q2\n" + b"\xff\xfe broken"), "not UTF-8"),
        (lambda p, f: p.write_text(""), "empty"),
        (lambda p, f: p.write_text("Q4,Q17_1\n"), "missing header rows"),
        (
            lambda p, f: p.write_text(",".join(t for _, t in HEADER).replace(",", ";") + "\nx\n"),
            "missing header rows",
        ),
        (
            lambda p, f: p.write_text(f.read_text() + "1,2,3\n"),
            "ragged row: record 7 has 3 columns",
        ),
        (
            lambda p, f: p.write_text("Q1,Q2\nWhat is your age?,Where do you live?\n30,Here\n"),
            "unknown layout",
        ),
        (
            lambda p, f: _write_zip(p, {"__MACOSX/._x.csv": "junk", "notes.txt": "hi"}),
            "holds no CSV",
        ),
        (
            lambda p, f: p.write_bytes(
                _write_zip(p, {"responses.csv": f.read_text()}).read_bytes()[:60]
            ),
            "damaged or truncated zip",
        ),
    ],
    ids=[
        "not-utf8",
        "empty",
        "missing-header",
        "one-header",
        "ragged",
        "no-frameworks",
        "zip",
        "truncated-zip",
    ],
)
def test_malformed_file_stops_with_one_line_and_changes_nothing(
    db, tmp_path, kaggle_file, make, problem
):
    _import(kaggle_file(), "2099")
    before = _state()
    bad = tmp_path / "bad.zip"
    make(bad, kaggle_file())
    with pytest.raises(CommandError) as error:
        _import(bad, "2099")
    assert error.value.returncode == 2
    assert problem in str(error.value)
    assert "\n" not in str(error.value)
    assert _state() == before


def test_wave_of_another_series_is_refused_not_moved(db, kaggle_file):
    _import(kaggle_file(), "2099")
    before = _state()
    with pytest.raises(CommandError) as error:
        _import(kaggle_file(), "2099", "--series", "typo")
    assert error.value.returncode == 2
    assert "already imported into the series ml-frameworks" in str(error.value)
    assert Survey.objects.get(slug="kaggle-2099").series.slug == "ml-frameworks"
    assert not Series.objects.filter(slug="typo").exists()
    assert _state() == before


def test_zip_member_is_found_past_macos_junk(db, tmp_path, kaggle_file):
    archive = _write_zip(
        tmp_path / "wave.zip",
        {
            "__MACOSX/._kaggle_survey_2099_responses.csv": "\x00\x05",
            "Supplementary Data/methodology.pdf": "%PDF",
            "kaggle_survey_2099_responses.csv": kaggle_file().read_text(),
        },
    )
    out = _import(archive, "2099")
    assert "from kaggle_survey_2099_responses.csv" in out
    assert Survey.objects.get(slug="kaggle-2099").responses.count() == 4


def test_snapshot_of_the_series_shows_the_figures_and_the_wording_break(waves, db, curator):
    from results.services import snapshot_build
    from survey.taxonomy import taxonomy_apply

    series = Survey.objects.get(slug="kaggle-2022").series
    taxonomy_apply(user=curator)
    snapshot = snapshot_build(series_id=series.pk)
    cells = snapshot.cells.filter(
        measure="share", question="frameworks_used", dimension="", wave="2022"
    )
    tensorflow = cells.get(choice="tensorflow")
    assert tensorflow.base_n == 16_240
    assert 100 * tensorflow.share == pytest.approx(49.0, abs=0.1)
    assert 100 * cells.get(choice="jax").share == pytest.approx(1.6, abs=0.1)
    assert snapshot.taxonomy_version is not None
    breaks = snapshot.summary["breaks"]
    assert any(b.get("question") == "frameworks_used" for b in breaks)
    # Across the wording break no change is computed: the cells say why instead.
    changes = snapshot.cells.filter(
        measure="change", question="frameworks_used", wave="2022", compare_wave="2018"
    )
    assert not changes.exclude(share=None).exists()

    excluded = Response.objects.filter(
        survey__slug="kaggle-2022", answers__choice__key="jax"
    ).first()
    response_exclude(response_ids=[excluded.pk], reason="Test rule", user=curator)
    again = snapshot_build(series_id=series.pk)
    jax = again.cells.get(
        measure="share", question="frameworks_used", dimension="", wave="2022", choice="jax"
    )
    assert jax.base_n == 16_239 and jax.count == 251
