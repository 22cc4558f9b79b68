"""The compact Kaggle extracts in data/kaggle/: what `make run` imports on first start."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from results.services import snapshot_build
from results.services.cells import CELL_COLUMNS
from survey.importers.kaggle import kaggle_import
from survey.importers.kaggle.extract import kaggle_extract
from survey.models import Answer, Response, Survey
from survey.taxonomy import taxonomy_apply

from .conftest import kaggle_dir

EXTRACTS = Path(__file__).resolve().parents[2] / "data" / "kaggle"
WAVES = ("2018", "2022")


def _load(**options) -> str:
    out = StringIO()
    call_command("load_kaggle", stdout=out, **options)
    return out.getvalue()


def _cells(series_id: int) -> list[tuple]:
    snapshot = snapshot_build(series_id=series_id)
    assert snapshot.audit_passed
    return list(snapshot.cells.order_by("pk").values_list(*CELL_COLUMNS))


def test_extracts_are_small_and_licensed_beside_a_readme():
    sizes = {wave: (EXTRACTS / f"kaggle_{wave}_extract.zip").stat().st_size for wave in WAVES}
    assert all(size < 400 * 1024 for size in sizes.values()), sizes
    readme = (EXTRACTS / "README.md").read_text()
    assert "CC BY-SA 4.0" in readme and "CC BY 2.0" in readme
    assert "kaggle_extract" in readme


def test_load_imports_the_real_waves_once(db):
    out = _load()
    assert "Imported Kaggle 2018" in out and "Imported Kaggle 2022" in out
    survey = Survey.objects.get(slug="kaggle-2022")
    assert survey.license == "CC BY 2.0"
    assert Survey.objects.get(slug="kaggle-2018").license == "CC BY-SA 4.0"
    framework = Answer.objects.filter(question__survey=survey, question__key="frameworks_used")
    answered = framework.values("response_id").distinct().count()
    tensorflow = framework.filter(choice__key="tensorflow").count()
    assert answered == 16_240
    assert 100 * tensorflow / answered == pytest.approx(49.0, abs=0.1)
    before = (
        Response.objects.count(),
        Answer.objects.count(),
        set(survey.responses.values_list("pk", flat=True)),
    )

    again = _load()

    assert "Kaggle 2018 is already imported" in again and "Kaggle 2022 is already imported" in again
    after = (
        Response.objects.count(),
        Answer.objects.count(),
        set(survey.responses.values_list("pk", flat=True)),
    )
    assert after == before


def test_load_leaves_a_wave_imported_from_its_full_file(db, kaggle_file):
    kaggle_import(path=kaggle_file(), wave="2022")
    out = _load()
    assert "Kaggle 2022 is already imported" in out
    assert Survey.objects.get(slug="kaggle-2022").responses.count() == 4


def test_load_refuses_a_missing_folder_with_one_line(db, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as error:
        _load(folder=tmp_path / "nowhere")
    assert error.value.returncode == 2
    assert "is not a folder" in str(error.value)


def test_extract_gives_the_same_published_cells_as_the_full_file(db, tmp_path, curator):
    folder = kaggle_dir()
    full = {wave: folder / f"kaggle_{wave}.zip" for wave in WAVES}
    if not all(path.exists() for path in full.values()):
        pytest.skip(f"the full Kaggle waves are not in {folder} (set TALLY_KAGGLE_DIR)")
    for wave, path in full.items():
        kaggle_import(path=path, wave=wave)
    taxonomy_apply(user=curator)
    series = Survey.objects.get(slug="kaggle-2022").series
    from_full = _cells(series.pk)

    for wave, path in full.items():
        made = tmp_path / f"kaggle_{wave}_extract.zip"
        records, _columns = kaggle_extract(path=path, target=made)
        assert records == Survey.objects.get(slug=f"kaggle-{wave}").responses.count()
        # The extract made now is the one in the repository: the same bytes.
        assert made.read_bytes() == (EXTRACTS / made.name).read_bytes()
        kaggle_import(path=made, wave=wave)
    taxonomy_apply(user=curator)
    from_extracts = _cells(series.pk)

    assert len(from_full) > 1000
    assert from_extracts == from_full
