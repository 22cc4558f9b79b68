"""Fixtures for the importer, taxonomy and curation tests."""

import csv
import io
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import User

FRAMEWORK_Q = (
    "Which of the following machine learning frameworks do you use on a regular basis? "
    "(Select all that apply) - Selected Choice - "
)
HEADER = [
    ("Duration (in seconds)", "Duration (in seconds)"),
    ("Q4", "In which country do you currently reside?"),
    ("Q16", "For how many years have you used machine learning methods?"),
    ("Q17_1", FRAMEWORK_Q + "  Scikit-learn "),
    ("Q17_2", FRAMEWORK_Q + "  TensorFlow "),
    ("Q17_3", FRAMEWORK_Q + " PyTorch "),
    ("Q17_4", FRAMEWORK_Q + " Fast.ai "),
    ("Q17_5", FRAMEWORK_Q + "None"),
    ("Q17_6", FRAMEWORK_Q + "Other"),
    (
        "Q23",
        "Select the title most similar to your current role (or most recent title if "
        "retired): - Selected Choice",
    ),
    ("Q25", "What is the size of the company where you are employed?"),
]


def kaggle_csv_text(rows: list[dict], header=HEADER) -> str:
    """A small responses CSV in the 2022 layout; rows give cells by column code."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([code for code, _ in header])
    writer.writerow([text for _, text in header])
    for row in rows:
        writer.writerow([row.get(code, "") for code, _ in header])
    return out.getvalue()


SAMPLE_ROWS = [
    {
        "Duration (in seconds)": "600",
        "Q4": "India",
        "Q16": "1-2 years",
        "Q17_1": "  Scikit-learn ",
        "Q17_3": " PyTorch ",
        "Q23": "Data Scientist",
        "Q25": "> 10,000 employees",
    },
    {
        "Duration (in seconds)": "400",
        "Q4": "Germany",
        "Q16": "Under 1 year",
        "Q17_2": "  TensorFlow ",
        "Q17_4": " Fast.ai ",
        "Q23": "Software Engineer",
        "Q25": "0-49 employees",
    },
    {"Duration (in seconds)": "300", "Q4": "Other", "Q17_5": "None", "Q23": "Chief Data Wrangler"},
    {"Duration (in seconds)": "200", "Q4": "Brazil"},
]


@pytest.fixture
def kaggle_file(tmp_path):
    """Write a small CSV in the 2022 layout and return its path."""

    def make(rows=None, header=HEADER, name="responses.csv") -> Path:
        path = tmp_path / name
        path.write_text(kaggle_csv_text(SAMPLE_ROWS if rows is None else rows, header))
        return path

    return make


def kaggle_dir() -> Path:
    configured = os.environ.get("TALLY_KAGGLE_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "kaggle"


@pytest.fixture
def curator(db):
    return User.objects.create_superuser("curator", "curator@example.org", "pw-for-tests-only")


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client
