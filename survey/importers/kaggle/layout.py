"""The Kaggle ML & DS Survey layout of 2018-2022, as a description.

Row 1 holds column codes, row 2 question texts; codes change every wave, texts barely do,
so every question is found by phrases of its text. Adding a layout is writing one of these
(see docs/importers.md).
"""

from __future__ import annotations

from pathlib import Path

from ... import census
from ..layout import Grouping, Layout, Multi, Screen, Single
from ..regions import region_of


def responses_first(name: str) -> int:
    """The responses CSV of a Kaggle zip before its free-text and schema files."""
    lower = Path(name).name.lower()
    return 0 if "multiplechoice" in lower or ("response" in lower and "free" not in lower) else 1


FRAMEWORKS = Multi(
    key="frameworks_used",
    pattern=r"machine learning frameworks|\bml frameworks\b",
    # A framework question about the future is another question ("hope to become familiar").
    exclude=r"next 2 years|hope to|familiar with",
    taxonomy="framework",
)
SINGLES = (
    Single(
        "role",
        ("title most similar to your current role", "current job title", "current role"),
        taxonomy="role",
        dimension=True,
    ),
    Single(
        "company_size",
        ("size of the company", "how many employees", "number of employees"),
        taxonomy="company-size",
        dimension=True,
    ),
    Single(
        "industry",
        ("in what industry", "which industry", "industry"),
        taxonomy="industry",
        dimension=True,
        # 2018 offers students this answer instead of skipping them.
        not_applicable=("I am a student",),
    ),
    Single("country", ("which country", "country")),
    Single(
        "ml_experience",
        (
            "years have you used machine learning methods",
            "years have you been using machine learning",
        ),
        taxonomy="ml-experience",
        dimension=True,
    ),
)
STUDENTS = Screen(
    pattern=r"are you currently a student",
    answer="Yes",
    key="role",
    label="Student",
    note="{n} respondents who said they are students counted as Student "
    "(this wave does not show students the title list)",
)
REGIONS = Grouping(
    key="region",
    source="country",
    choices=census.REGIONS,
    group=region_of,
    help_text="Derived from the country answer, grouped into the Census regions.",
)

KAGGLE = Layout(
    name="kaggle-2018-2022",
    singles=SINGLES,
    multis=(FRAMEWORKS,),
    order=("role", "company_size", "industry", "country", "region", "ml_experience"),
    screens=(STUDENTS,),
    groupings=(REGIONS,),
    duration=r"duration|time from start to finish",
    member_rank=responses_first,
    page_title="About you and your frameworks",
)

# Waves whose files are in another layout than KAGGLE's (say 2017's: one header row, the
# question texts in schema.csv): wave label -> its layout description.
WAVE_LAYOUTS: dict[str, Layout] = {}


def layout_for(wave: str) -> Layout:
    """The layout a wave's file is read with."""
    return WAVE_LAYOUTS.get(wave, KAGGLE)
