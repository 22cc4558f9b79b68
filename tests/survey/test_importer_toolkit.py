"""The importer toolkit (survey/importers/) and the importer defects of issue 10."""

import random
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survey.census import CENSUS_SPEC
from survey.importers.copy import ids_reserve, rows_copy
from survey.importers.kaggle.extract import kaggle_extract
from survey.importers.responses import answer_rows
from survey.importers.waves import ImporterError
from survey.models import Answer, Choice, Page, Question, Survey
from survey.services import Structure, response_import, survey_create

from .conftest import FRAMEWORK_Q, HEADER, kaggle_csv_text

ROLE_Q = (
    "Select the title most similar to your current role (or most recent title if retired): "
    "- Selected Choice"
)
INDUSTRY_Q = (
    "In what industry is your current employer/contract (or your most recent employer if "
    "retired)? - Selected Choice"
)
# The 2020-2021 layout: the framework question's Other is a column of its own, `Q16_OTHER`.
HEADER_2021 = [
    ("Q3", "In which country do you currently reside?"),
    ("Q5", ROLE_Q),
    ("Q20", INDUSTRY_Q),
    ("Q15", "For how many years have you used machine learning methods?"),
    ("Q16_Part_1", FRAMEWORK_Q + "  Scikit-learn "),
    ("Q16_Part_2", FRAMEWORK_Q + "  TensorFlow "),
    ("Q16_Part_3", FRAMEWORK_Q + "None"),
    ("Q16_OTHER", FRAMEWORK_Q + "Other"),
]


def _import(path, wave, *extra) -> str:
    out = StringIO()
    call_command("import_kaggle", str(path), "--wave", wave, "--no-progress", *extra, stdout=out)
    return out.getvalue()


def _write(tmp_path, rows, header, name="responses.csv"):
    path = tmp_path / name
    path.write_text(kaggle_csv_text(rows, header))
    return path


def _answers(wave: str, key: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row, choice in Answer.objects.filter(
        question__survey__slug=f"kaggle-{wave}", question__key=key
    ).values_list("response__source_row", "choice__key"):
        found.setdefault(row, []).append(choice)
    return found


def test_other_column_named_apart_from_the_parts_is_imported(db, tmp_path):
    path = _write(
        tmp_path,
        [
            {"Q3": "India", "Q16_Part_1": "  Scikit-learn "},
            {"Q3": "India", "Q16_OTHER": "Other"},
            {"Q3": "Germany", "Q16_Part_2": "  TensorFlow ", "Q16_OTHER": "Other"},
            {"Q3": "Brazil"},
        ],
        HEADER_2021,
    )
    out = _import(path, "2021", "--license", "CC BY 4.0")

    used = _answers("2021", "frameworks_used")
    assert used == {"3": ["scikit-learn"], "4": ["other"], "5": ["tensorflow", "other"]}
    assert "answered frameworks_used: 3" in out
    other = Choice.objects.get(
        question__survey__slug="kaggle-2021", question__key="frameworks_used", key="other"
    )
    assert other.is_other and not other.needs_review
    assert other.question.has_other  # one Other choice, the imported one
    assert other.question.choices.filter(is_other=True).count() == 1


def test_labels_of_later_waves_are_known_to_the_taxonomy(db, tmp_path):
    rows = [
        {"Q3": "India", "Q5": "DBA/Database Engineer", "Q15": "< 1 years"},
        {"Q3": "India", "Q5": "Developer Relations/Advocacy", "Q20": "Military/Security/Defense"},
        {"Q3": "India", "Q5": "Data Architect", "Q20": "Hospitality/Entertainment/Sports"},
        {
            "Q3": "India",
            "Q5": "Engineer (non-software)",
            "Q20": "Online Business/Internet-based Sales",
        },
        {"Q3": "India", "Q5": "Machine Learning/ MLops Engineer", "Q15": "20 or more years"},
    ]
    out = _import(_write(tmp_path, rows, HEADER_2021), "2021", "--license", "CC BY 4.0")

    assert "Labels the taxonomy does not know" not in out
    assert not Choice.objects.filter(question__survey__slug="kaggle-2021", needs_review=True)
    assert _answers("2021", "ml_experience") == {"3": ["under-1"], "7": ["10-plus"]}
    roles = {keys[0] for keys in _answers("2021", "role").values()}
    assert roles == {
        "database-engineer",
        "developer-advocate",
        "data-architect",
        "engineer-non-software",
        "ml-engineer",
    }


def test_countries_without_a_region_are_reported_never_silently_unassigned(db, tmp_path):
    rows = [
        {"Q3": country, "Q16_Part_1": "  Scikit-learn "}
        for country in ["India", "Kazakhstan", "Other", "I do not wish to disclose my location"]
    ]
    out = _import(_write(tmp_path, rows, HEADER_2021), "2021", "--license", "CC BY 4.0")

    assert "region: 'Kazakhstan' has no region (1 rows)" in out
    assert "region: 'Other' has no region (1 rows)" in out
    assert "region: 'I do not wish to disclose my location' has no region (1 rows)" in out
    region = Question.objects.get(survey__slug="kaggle-2021", key="region")
    for label in ("Kazakhstan", "Other", "I do not wish to disclose my location"):
        assert label in region.help_text
    assert _answers("2021", "region") == {"3": ["south-asia"]}


def test_country_adds_up_into_region_for_the_disclosure_control(db, kaggle_file):
    _import(kaggle_file(), "2022")
    survey = Survey.objects.get(slug="kaggle-2022")
    country = survey.questions.get(key="country")
    assert country.grouped_into == survey.questions.get(key="region")
    groups = dict(country.choices.values_list("label", "group_key"))
    assert groups == {
        "India": "south-asia",
        "Germany": "europe",
        "Other": "",
        "Brazil": "latin-america",
    }


def test_import_records_who_was_asked_each_question(db, kaggle_file):
    _import(kaggle_file(), "2022")
    universe = dict(
        Question.objects.filter(survey__slug="kaggle-2022").values_list("key", "universe")
    )
    assert "not shown to respondents who said they are students" in universe["role"].lower()
    assert "recorded as student" in universe["role"].lower()
    assert "students" in universe["company_size"] and "not employed" in universe["company_size"]
    assert "write code and use machine learning" in universe["frameworks_used"]
    assert universe["country"] == ""


def test_2018_role_was_asked_of_everyone_so_2022_breaks_its_universe(db, kaggle_file):
    _import(kaggle_file(), "2018")
    _import(kaggle_file(), "2022")
    roles = dict(
        Question.objects.filter(
            key="role", survey__slug__in=["kaggle-2018", "kaggle-2022"]
        ).values_list("survey__slug", "universe")
    )
    assert roles["kaggle-2018"] == ""
    assert roles["kaggle-2022"] != ""


def test_unknown_wave_says_who_was_asked_is_not_recorded(db, kaggle_file):
    out = _import(kaggle_file(), "2099", "--license", "CC0 1.0")
    assert "who was asked each question is not recorded" in out
    assert not Question.objects.filter(survey__slug="kaggle-2099").exclude(universe="").exists()


def test_extract_keeps_every_record_and_only_the_columns_read(db, tmp_path):
    header = [*HEADER_2021, ("Q99", "What is your favourite colour?")]
    rows = [
        {"Q3": "India", "Q16_OTHER": "Other", "Q99": "Blue"},
        {},
        {"Q3": "Germany", "Q5": "Data Scientist", "Q99": "Red"},
    ]
    source = _write(tmp_path, rows, header)
    target = tmp_path / "extract.zip"

    records, columns = kaggle_extract(path=source, target=target)

    assert (records, columns) == (3, len(HEADER_2021))
    _import(target, "2021", "--license", "CC BY 4.0")
    assert _answers("2021", "frameworks_used") == {"3": ["other"]}
    assert _answers("2021", "role") == {"5": ["data-scientist"]}


def test_extract_of_a_ragged_file_stops_with_one_line(db, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text(kaggle_csv_text([{"Q4": "India"}], HEADER) + "1,2,3\n")
    with pytest.raises(CommandError) as error:
        call_command("kaggle_extract", str(source), str(tmp_path / "x.zip"), stdout=StringIO())
    assert error.value.returncode == 2
    assert "ragged row: record 4 has 3 columns" in str(error.value)


def test_rows_copy_writes_rows_and_ids_are_never_reused(db):
    survey = survey_create(spec=CENSUS_SPEC)
    table = Page._meta.db_table
    ids = ids_reserve(table=table, count=2)
    rows_copy(
        table=table,
        columns=["id", "survey_id", "position", "title", "intro"],
        rows=[(pk, survey.pk, 90 + n, f"Copied {n}", "") for n, pk in enumerate(ids)],
    )
    assert list(Page.objects.filter(pk__in=ids).values_list("title", flat=True)) == [
        "Copied 0",
        "Copied 1",
    ]
    later = Page.objects.create(survey=survey, position=99, title="Later")
    assert later.pk > max(ids)
    assert ids_reserve(table=table, count=1)[0] > later.pk


def _random_values(structure: Structure, rng: random.Random) -> dict:
    values: dict = {}
    for question in structure.questions:
        options = [c.key for c in question.choices.all() if c.role == Choice.Role.OPTION]
        rows = [c.key for c in question.choices.all() if c.role == Choice.Role.ROW]
        columns = [c.key for c in question.choices.all() if c.role == Choice.Role.COLUMN]
        if rng.random() < 0.2:
            continue
        if question.kind in (Question.Kind.SINGLE, Question.Kind.SCALE):
            values[question.key] = rng.choice([*options, "no-such-key"])
        elif question.kind == Question.Kind.MULTI:
            picked = rng.sample(options, k=min(len(options), rng.randint(1, 4)))
            values[question.key] = [*picked, picked[0], "no-such-key"]
        elif question.kind == Question.Kind.MATRIX:
            values[question.key] = {row: rng.choice(columns) for row in rows if rng.random() < 0.7}
        elif question.kind == Question.Kind.NUMBER:
            values[question.key] = rng.randint(0, 40)
        else:
            values[question.key] = rng.choice(["", "some words", "x" * 3000])
        if question.has_other:
            values[f"{question.key}__other"] = "  other text  "
    return values


def test_fast_answer_rows_follow_the_services_answer_rules(db):
    survey = survey_create(spec=CENSUS_SPEC)
    structure = Structure.of(survey)
    rng = random.Random(7)
    for _ in range(60):
        values = _random_values(structure, rng)
        _response, answers = response_import(
            survey=survey, respondent_hash="x", values=values, channel="t", structure=structure
        )
        expected = sorted(
            (a.question_id, a.choice_id, a.column_id, a.value_number, a.value_text) for a in answers
        )
        fast = sorted(answer_rows(values=values, structure=structure, survey=survey), key=str)
        assert sorted(fast, key=str) == sorted(expected, key=str)


def test_a_layout_with_its_question_texts_in_a_schema_file_is_a_description(db, tmp_path):
    import csv
    import dataclasses
    import io
    import zipfile

    from survey.importers.importer import WaveInfo, wave_import
    from survey.importers.kaggle.layout import KAGGLE

    def parse(text: str) -> dict[str, str]:
        return {row["Column"]: row["Question"] for row in csv.DictReader(io.StringIO(text))}

    one_header = dataclasses.replace(KAGGLE, header_rows=1, schema=("schema.csv", parse))
    schema = io.StringIO()
    writer = csv.writer(schema)
    writer.writerow(["Column", "Question"])
    writer.writerows(HEADER_2021)
    responses = io.StringIO()
    writer = csv.writer(responses)
    writer.writerow([code for code, _ in HEADER_2021])
    writer.writerow(
        ["India", "Data Scientist", "", "1-2 years", "  Scikit-learn ", "", "", "Other"]
    )
    archive = tmp_path / "wave.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("multipleChoiceResponses.csv", responses.getvalue())
        zipped.writestr("schema.csv", schema.getvalue())
    info = WaveInfo(
        slug="kaggle-2017",
        title="Kaggle 2017",
        license="CC BY-SA 4.0",
        attribution="Kaggle",
        source="Kaggle",
        channel="import:kaggle",
        universes={"frameworks_used": "Asked of people who code"},
    )

    summary = wave_import(
        layout=one_header, path=archive, wave="2017", info=info, series_slug="ml-frameworks"
    )

    assert summary.imported == 1
    assert _answers("2017", "frameworks_used") == {"2": ["scikit-learn", "other"]}
    assert _answers("2017", "role") == {"2": ["data-scientist"]}
    question = Question.objects.get(survey__slug="kaggle-2017", key="frameworks_used")
    assert question.universe == "Asked of people who code"
    assert question.text.startswith("Which of the following machine learning frameworks")


FRAMEWORK_CELLS = ["", "  Scikit-learn ", "  TensorFlow ", "None", "Other", " PyTorch "]


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["", "India", "Kazakhstan", "Other", "Brazil"]),
            st.sampled_from(["", "Student", "Data Scientist", "Chief Wizard"]),
            st.lists(st.sampled_from(FRAMEWORK_CELLS), min_size=4, max_size=4),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_whoever_ticked_a_framework_column_answered_and_nothing_else_did(db, records):
    from survey.importers.importer import respondents_parse
    from survey.importers.kaggle.layout import KAGGLE
    from survey.importers.labels import labels_for
    from survey.importers.layout import layout_find
    from survey.importers.waves import ImportSummary
    from survey.taxonomy import TaxonomyIndex, taxonomy_seed

    taxonomy_seed()
    index = TaxonomyIndex.load()
    codes, texts = zip(*HEADER_2021, strict=True)
    found = layout_find(KAGGLE, list(codes), list(texts))
    labels = {
        single.key: labels_for(key=single.key, index=index, taxonomy=single.taxonomy)
        for single in KAGGLE.singles
    }
    labels["frameworks_used"] = labels_for(
        key="frameworks_used", index=index, taxonomy="framework", special=True
    )
    rows = [
        (number, [country, role, "", "", *frameworks])
        for number, (country, role, frameworks) in enumerate(records, start=3)
    ]
    summary = ImportSummary(wave="x")
    try:
        parsed = respondents_parse(found=found, records=iter(rows), labels=labels, summary=summary)
    except ImporterError as error:
        assert str(error) == "no respondent answered any of the imported questions"
        assert all(not any(row[1]) for row in rows)
        return

    ticked = {number for number, row in rows if any(cell.strip() for cell in row[4:])}
    answered = {r.number for r in parsed if "frameworks_used" in r.values}
    assert answered == ticked
    assert summary.answered["frameworks_used"] == len(ticked)
    assert {r.number for r in parsed} == {number for number, row in rows if any(row)}


# The 2017 layout as published: one header row of column codes, the question texts in
# schema.csv, and frameworks among the tools of one packed, comma-separated cell.
SCHEMA_2017 = [
    ("Country", "Select the country you currently live in."),
    (
        "CurrentJobTitleSelect",
        "Select the option that's most similar to your current job/professional title "
        "(or most recent title if retired).",
    ),
    (
        "WorkToolsSelect",
        "At work, which data science/analytics tools, technologies, and languages have you "
        "used in the past year? (Select all that apply)",
    ),
]


def _parse_2017(text: str) -> dict[str, str]:
    import csv
    import io

    return {row["Column"]: row["Question"] for row in csv.DictReader(io.StringIO(text))}


def test_a_wave_in_a_new_layout_is_a_description_and_an_entry(db, tmp_path, monkeypatch):
    import csv
    import io
    import zipfile

    from survey.importers.kaggle.layout import REGIONS, WAVE_LAYOUTS, responses_first
    from survey.importers.layout import Layout, Multi, Single

    layout = Layout(
        name="kaggle-2017",
        singles=(
            Single("role", ("current job/professional title",), taxonomy="role"),
            Single("country", ("country you currently live in",)),
        ),
        multis=(
            Multi(
                key="frameworks_used",
                pattern=r"tools, technologies",
                taxonomy="framework",
                packed=",",
                known_only=True,
            ),
        ),
        order=("role", "country", "region"),
        groupings=(REGIONS,),
        header_rows=1,
        schema=("schema.csv", _parse_2017),
        member_rank=responses_first,
    )
    monkeypatch.setitem(WAVE_LAYOUTS, "2017", layout)
    schema, responses = io.StringIO(), io.StringIO()
    csv.writer(schema).writerows([("Column", "Question"), *SCHEMA_2017])
    writer = csv.writer(responses)
    writer.writerow([code for code, _text in SCHEMA_2017])
    writer.writerows(
        [
            ["India", "Data Scientist", "Python,TensorFlow,Excel,PyTorch"],
            ["Germany", "Data Scientist", "R,SQL"],  # asked, no framework among the tools
            ["Brazil", "Data Scientist", ""],  # did not answer the tools question
        ]
    )
    path = tmp_path / "kaggle-survey-2017.zip"
    with zipfile.ZipFile(path, "w") as zipped:
        zipped.writestr("multipleChoiceResponses.csv", responses.getvalue())
        zipped.writestr("schema.csv", schema.getvalue())

    out = _import(path, "2017", "--license", "ODbL 1.0")

    assert _answers("2017", "frameworks_used") == {"2": ["tensorflow", "pytorch"], "3": ["none"]}
    assert "answered frameworks_used: 2" in out
    assert "frameworks_used: 'Excel' is none of its entities, left out (1 answers)" in out
    assert "Labels the taxonomy does not know" not in out
    question = Question.objects.get(survey__slug="kaggle-2017", key="frameworks_used")
    assert question.text.startswith("At work, which data science/analytics tools")
