import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from signals.importers import SignalFileError
from signals.models import Break, Source, Value
from signals.selectors import entity_points, signal_source
from signals.services import signal_import

from .conftest import FILES

COMPARED = ["pytorch", "tensorflow", "jax", "keras"]
ROOT = Path(__file__).resolve().parents[2]


def _by_period(points):
    return {point.period: point.values for point in points}


@pytest.mark.django_db
def test_github_reproduces_the_us_reference_figures(signals_loaded):
    us = _by_period(
        entity_points(signal_source("github-innovation-graph"), COMPARED, scopes=["US"])
    )
    assert (us["2020-Q1"]["pytorch"], us["2020-Q1"]["tensorflow"]) == (585, 664)
    assert (us["2025-Q1"]["pytorch"], us["2025-Q1"]["tensorflow"]) == (1243, 494)
    assert round(585 / (585 + 664), 2) == 0.47 and round(1243 / (1243 + 494), 2) == 0.72


@pytest.mark.django_db
def test_github_under_100_is_missing_never_zero(signals_loaded):
    source = signal_source("github-innovation-graph")
    china = Value.objects.get(source=source, scope="CN", label="tensorflow", period="2023-Q1")
    assert china.value is None and "under 100" in china.missing
    assert not Value.objects.filter(source=source, value=0).exists()
    # jax appears only from 2023: before that the US figure is missing, not zero.
    us = _by_period(entity_points(source, ["jax"], scopes=["US"]))
    assert us["2022-Q4"]["jax"] is None and us["2023-Q1"]["jax"] == 122


@pytest.mark.django_db
def test_github_sums_economies_without_the_eu_aggregate(signals_loaded):
    source = signal_source("github-innovation-graph")
    world = _by_period(entity_points(source, ["pytorch"]))["2020-Q1"]["pytorch"]
    published = Value.objects.filter(
        source=source, label="pytorch", period="2020-Q1", value__isnull=False
    )
    assert world == sum(v.value for v in published.exclude(scope="EU"))
    assert world < sum(v.value for v in published)


@pytest.mark.django_db
def test_conference_papers_reproduce_the_reference_figures(signals_loaded):
    source = signal_source("conference-papers")
    cvpr = _by_period(entity_points(source, ["pytorch", "tensorflow"], scopes=["CVPR"]))
    assert cvpr["2020-06"] == {"pytorch": 418, "tensorflow": 113}
    vision = _by_period(
        entity_points(source, ["pytorch", "tensorflow"], scopes=["CVPR", "ICCV"], yearly=True)
    )["2019"]
    assert round(vision["pytorch"] / (vision["pytorch"] + vision["tensorflow"]), 2) == 0.68
    nlp = _by_period(
        entity_points(source, ["pytorch", "tensorflow"], scopes=["ACL", "EMNLP"], yearly=True)
    )["2020"]
    assert round(nlp["pytorch"] / (nlp["pytorch"] + nlp["tensorflow"]), 2) == 0.86
    assert [b.label for b in source.breaks.all()] == ["From 2021: ML venues only"]


@pytest.mark.django_db
def test_transformer_papers_reproduce_the_2022_reference(signals_loaded):
    source = signal_source("transformer-papers")
    year = _by_period(entity_points(source, ["pytorch", "tensorflow", "jax"]))["2022"]
    assert year == {"pytorch": 669, "tensorflow": 18, "jax": 4}
    assert round(669 / (669 + 18 + 4), 3) == 0.968


@pytest.mark.django_db
def test_pypi_reproduces_the_yearly_mean_shares(signals_loaded):
    points = entity_points(signal_source("pypi-downloads"), ["pytorch", "tensorflow"])
    shares = defaultdict(list)
    for point in points:
        torch, tensorflow = point.values["pytorch"], point.values["tensorflow"]
        if torch is not None:
            shares[point.end.year].append(torch / (torch + tensorflow))
    means = {year: round(sum(s) / len(s), 2) for year, s in shares.items()}
    expected = {2019: 0.12, 2021: 0.26, 2022: 0.32, 2023: 0.37, 2024: 0.55, 2025: 0.68}
    assert {year: means[year] for year in expected} == expected


@pytest.mark.django_db
def test_pypi_maps_packages_through_the_taxonomy(signals_loaded):
    source = signal_source("pypi-downloads")
    entity = dict(Value.objects.filter(source=source).values_list("label", "entity_key"))
    assert entity["torch"] == "pytorch"
    assert entity["tensorflow-cpu"] == entity["tensorflow-gpu"] == "tensorflow"
    assert entity["jaxlib"] == entity["tf-nightly"] == entity["torchvision"] == ""
    last = entity_points(source, ["pytorch", "tensorflow", "jax"])[-1]
    assert last.period.startswith("2026-04-01")
    assert last.values["pytorch"] == 87_347_847 and last.values["jax"] == 19_165_515
    assert last.values["tensorflow"] == 22_653_919 + 71_380 + 1_481_099
    assert [b.label for b in Break.objects.filter(source=source)] == [
        "2018: 365-day and 30-day windows mixed",
        "July 2025: counted on ClickHouse, not BigQuery",
    ]


@pytest.mark.django_db
def test_importing_again_replaces_instead_of_adding():
    first = signal_import(path=FILES["pypi-downloads"])
    count = Value.objects.count()
    again = signal_import(path=FILES["pypi-downloads"])
    assert Value.objects.count() == count == first.values
    assert Source.objects.count() == 1 and Break.objects.count() == 2
    assert (first.unchanged, again.unchanged) == (False, True)


def _write(tmp_path: Path, text: str, name: str = "bad.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("a,b\n1,2\n", None, "matches no known format"),
        ("num_pushers,topic,iso2_code,year,quarter\nmany,pytorch,US,2020,1\n", None, "line 2"),
        ("num_pushers,topic,iso2_code,year,quarter\n120,pytorch,US,2020,5\n", None, "quarter"),
        ("num_pushers,topic,iso2_code,year,quarter\n120,pytorch,US,2020\n", None, "columns"),
        ("num_pushers,topic,iso2_code,year,quarter\n", None, "no data rows"),
        ("year,papers\n2020,3\n", "transformer-papers", "header lacks"),
        (
            "conference,month_year,pytorch_only,tensorflow_only,total_papers\nCVPR,2020,1,2,3\n",
            None,
            "MM/YY",
        ),
        ("commit_date,last_update,nrows,torch\n2020-01-01,yesterday,5000,1\n", None, "date"),
    ],
)
def test_a_malformed_file_is_a_one_line_error_with_exit_code_2(tmp_path, text, fmt, message):
    path = _write(tmp_path, text)
    with pytest.raises(CommandError) as raised:
        call_command("import_signal", str(path), *(["--format", fmt] if fmt else []))
    assert raised.value.returncode == 2
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert str(raised.value).startswith("bad.csv: ")
    assert not Source.objects.exists()


def test_a_file_that_is_not_text_is_refused(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SignalFileError, match="UTF-8"):
        signal_import(path=path)


def test_the_command_exits_2_with_one_line_on_stderr(tmp_path):
    path = _write(tmp_path, "a,b\n1,2\n")
    done = subprocess.run(
        [sys.executable, "manage.py", "import_signal", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"TALLY_DEBUG": "1", "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "matches no known format" in done.stderr
