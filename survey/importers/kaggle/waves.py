"""What is known of each Kaggle wave: licence, attribution, and who was asked what."""

from __future__ import annotations

CHANNEL = "import:kaggle"
DEFAULT_LICENSE = "Unknown: check the license on the Kaggle dataset page before publishing"

NOT_EMPLOYED = "Not asked of students or of people currently not employed."

# Per wave: the survey's metadata and, per question key, who was asked it when not everyone
# who reached it was (Question.universe; a change between waves is a universe break).
KNOWN_WAVES: dict[str, dict[str, str]] = {
    "2018": {
        "license": "CC BY-SA 4.0",
        "attribution": "Kaggle, 2018 Kaggle ML & DS Survey",
        "source": "Kaggle ML & DS Survey 2018 (kaggle.com/kaggle/kaggle-survey-2018)",
    },
    "2022": {
        "license": "CC BY 2.0",
        "attribution": "Kaggle, 2022 Kaggle Machine Learning & Data Science Survey",
        "source": "Kaggle Machine Learning & Data Science Survey 2022 "
        "(kaggle.com/competitions/kaggle-survey-2022)",
    },
}
UNIVERSES: dict[str, dict[str, str]] = {
    "2018": {
        "industry": "Not asked of people currently not employed; students who answered "
        "'I am a student' are counted as not asked.",
    },
    "2022": {
        "role": "Not shown to respondents who said they are students (high school, "
        "university or graduate): they are all recorded as Student.",
        "industry": NOT_EMPLOYED,
        "company_size": NOT_EMPLOYED,
        "ml_experience": "Not shown to respondents who have never written code.",
        "frameworks_used": "Shown only to respondents who write code and use machine "
        "learning methods.",
    },
}
