"""The ML Framework Census questionnaire, as data. Keys are stable: the trend joins on them.

Keys that mean the same as a Kaggle ML & DS Survey question (`frameworks_used`, `role`,
`company_size`, `industry`, `country`, `ml_experience`) use the same key, so imported waves
and the Census form one series.
"""

from datetime import date
from typing import Any

FRAMEWORKS: list[tuple[str, str]] = [
    ("pytorch", "PyTorch"),
    ("tensorflow", "TensorFlow"),
    ("keras", "Keras"),
    ("jax", "JAX"),
    ("flax", "Flax"),
    ("scikit-learn", "scikit-learn"),
    ("xgboost", "XGBoost"),
    ("lightgbm", "LightGBM"),
    ("catboost", "CatBoost"),
    ("huggingface-transformers", "Hugging Face Transformers"),
    ("pytorch-lightning", "PyTorch Lightning"),
    ("fastai", "fast.ai"),
    ("mxnet", "MXNet"),
    ("onnx-runtime", "ONNX Runtime"),
    ("mlx", "MLX"),
    ("paddlepaddle", "PaddlePaddle"),
]

STATUSES: list[tuple[str, str]] = [
    ("new-projects", "Use for new projects"),
    ("existing-only", "Use only in existing projects"),
    ("stopped", "Used before and stopped"),
    ("evaluating", "Evaluating"),
    ("never", "Never used"),
]

ROLES: list[tuple[str, str]] = [
    ("data-scientist", "Data Scientist"),
    ("ml-engineer", "Machine Learning / MLOps Engineer"),
    ("research-scientist", "Research Scientist"),
    ("software-engineer", "Software Engineer"),
    ("data-analyst", "Data Analyst"),
    ("data-engineer", "Data Engineer"),
    ("statistician", "Statistician"),
    ("manager", "Manager"),
    ("teacher", "Teacher / professor"),
    ("student", "Student"),
    ("not-employed", "Currently not employed"),
    ("other-role", "Other"),
]
EMPLOYED_ROLES = [key for key, _ in ROLES if key not in {"student", "not-employed"}]

COMPANY_SIZES: list[tuple[str, str]] = [
    ("0-49", "0-49 employees"),
    ("50-249", "50-249 employees"),
    ("250-999", "250-999 employees"),
    ("1000-9999", "1,000-9,999 employees"),
    ("10000-plus", "10,000 or more employees"),
]

INDUSTRIES: list[tuple[str, str]] = [
    ("tech", "Computers / Technology"),
    ("academia", "Academics / Education"),
    ("finance", "Accounting / Finance / Insurance"),
    ("health", "Medical / Pharmaceutical"),
    ("retail", "Retail / Sales / Marketing"),
    ("manufacturing", "Manufacturing / Fabrication"),
    ("government", "Government / Public Service / Non-profit"),
    ("energy", "Energy / Mining / Utilities"),
    ("online-services", "Online Service / Internet-based Services"),
    ("telecom", "Broadcasting / Communications"),
    ("transport", "Shipping / Transportation"),
    ("other-industry", "Other"),
]

REGIONS: list[tuple[str, str]] = [
    ("north-america", "North America"),
    ("latin-america", "Latin America and the Caribbean"),
    ("europe", "Europe"),
    ("africa", "Africa"),
    ("middle-east", "Middle East"),
    ("south-asia", "South Asia"),
    ("east-asia", "East Asia"),
    ("southeast-asia", "Southeast Asia"),
    ("oceania", "Oceania"),
]

EXPERIENCE: list[tuple[str, str]] = [
    ("none", "I do not use machine learning methods"),
    ("under-1", "Under 1 year"),
    ("1-2", "1-2 years"),
    ("2-5", "2-5 years"),
    ("5-10", "5-10 years"),
    ("10-plus", "10 or more years"),
]

PROJECT_TYPES: list[tuple[str, str]] = [
    ("research", "Research"),
    ("production-training", "Training models for production"),
    ("production-inference", "Serving models in production (inference)"),
    ("prototyping", "Prototyping and proofs of concept"),
    ("teaching-learning", "Teaching or learning"),
    ("competitions", "Competitions and hobby projects"),
]

DOMAINS: list[tuple[str, str]] = [
    ("llm-nlp", "LLMs and natural language"),
    ("vision", "Computer vision"),
    ("tabular", "Tabular data"),
    ("speech-audio", "Speech and audio"),
    ("rl", "Reinforcement learning"),
    ("recommenders", "Recommender systems"),
    ("time-series", "Time series and forecasting"),
    ("generative-media", "Image, video or audio generation"),
]

SATISFACTION: list[tuple[str, str]] = [
    ("1", "1 - Very dissatisfied"),
    ("2", "2"),
    ("3", "3 - Neutral"),
    ("4", "4"),
    ("5", "5 - Very satisfied"),
]

FRAMEWORKS_USED_TEXT = (
    "Which of the following machine learning frameworks do you use on a regular basis?"
)


def _q(key: str, kind: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "kind": kind, "text": text, **extra}


CENSUS_PAGES: list[dict[str, Any]] = [
    {
        "title": "About you",
        "intro": "A few facts to break the results down by. Only aggregates are ever published.",
        "questions": [
            _q(
                "role",
                "single",
                "Which title is closest to your current role?",
                required=True,
                is_dimension=True,
                choices=ROLES,
            ),
            _q(
                "company_size",
                "single",
                "How many employees does your organization have?",
                is_dimension=True,
                choices=COMPANY_SIZES,
                show_if=("role", EMPLOYED_ROLES),
            ),
            _q(
                "industry",
                "single",
                "In which industry is your current employer?",
                is_dimension=True,
                choices=INDUSTRIES,
                show_if=("role", EMPLOYED_ROLES),
            ),
            _q(
                "region",
                "single",
                "Where do you live?",
                required=True,
                is_dimension=True,
                choices=REGIONS,
            ),
            _q(
                "ml_experience",
                "single",
                "For how many years have you used machine learning methods?",
                is_dimension=True,
                choices=EXPERIENCE,
            ),
            _q(
                "company_name",
                "text",
                "Your organization's name (optional)",
                help_text="Used only to stop one employer from dominating the results; "
                "never published.",
                is_sensitive=True,
                max_length=200,
                show_if=("role", EMPLOYED_ROLES),
            ),
        ],
    },
    {
        "title": "Your projects",
        "questions": [
            _q(
                "project_types",
                "multi",
                "What kinds of ML projects do you work on?",
                required=True,
                is_dimension=True,
                choices=PROJECT_TYPES,
            ),
            _q(
                "domains",
                "multi",
                "Which problem domains do you work in?",
                choices=DOMAINS,
                has_other=True,
            ),
        ],
    },
    {
        "title": "Frameworks",
        "questions": [
            _q(
                "frameworks_used",
                "multi",
                FRAMEWORKS_USED_TEXT,
                required=True,
                has_other=True,
                choices=[*FRAMEWORKS, ("none", "None")],
                exclusive=["none"],
            ),
            _q(
                "framework_status",
                "matrix",
                "For each framework, which best describes how you use it?",
                help_text="Leave a row blank if you don't know the framework.",
                rows=FRAMEWORKS,
                columns=STATUSES,
            ),
        ],
    },
    {
        "title": "Choices and changes",
        "questions": [
            _q(
                "primary_framework",
                "single",
                "Which framework do you reach for first when you start a new project?",
                required=True,
                has_other=True,
                choices=FRAMEWORKS,
            ),
            _q(
                "migrated",
                "single",
                "In the last 12 months, did you move a project from one framework to another?",
                required=True,
                choices=[("yes", "Yes"), ("no", "No")],
            ),
            _q(
                "migration_from",
                "single",
                "Which framework did you move away from?",
                required=True,
                choices=FRAMEWORKS,
                show_if=("migrated", ["yes"]),
            ),
            _q(
                "migration_to",
                "single",
                "Which framework did you move to?",
                required=True,
                choices=FRAMEWORKS,
                show_if=("migrated", ["yes"]),
                differs_from="migration_from",
            ),
        ],
    },
    {
        "title": "Last words",
        "questions": [
            _q(
                "satisfaction",
                "scale",
                "How satisfied are you with the framework you reach for first?",
                choices=SATISFACTION,
            ),
            _q(
                "comment",
                "text",
                "Anything else you want to tell us? (optional)",
                help_text="Comments are read by the team and never published.",
                max_length=2000,
            ),
        ],
    },
]

# How the series' report reads: its headline question, the choices it focuses on, the derived
# measures and the charts. results/spec.py loads this; results/ knows nothing Census-specific.
# Titles may use {wave} (the wave a chart shows), {items} (how many choices it shows) and
# {dimension} (a breakdown's dimension); each definition is the one sentence under its chart.
REPORT_SPEC: dict[str, Any] = {
    "headline_question": "frameworks_used",
    "focus_choices": ["pytorch", "tensorflow", "jax", "keras"],
    "none_choice": "none",
    "item_label": "Framework",
    "trend_title": "Framework use over time",
    "focus": {
        "title": "Is TensorFlow dead?",
        "intro": "Three ways to read it: do people still choose it for new projects, do those "
        "who used it keep using it, and where do people who switch go.",
        "choice": "tensorflow",
    },
    "retention": {
        "question": "framework_status",
        "still_columns": ["new-projects", "existing-only"],
        "stopped_columns": ["stopped"],
    },
    "migration": {"from_question": "migration_from", "to_question": "migration_to"},
    "charts": [
        {
            "name": "headline",
            "kind": "trend",
            "measure": "share",
            "section": "trend",
            "items": 8,
            "title": "Which ML frameworks do practitioners use?",
            "subtitle": "Share of respondents using each framework, by wave; the {items} most "
            "used in {wave}. Bars show 95% intervals.",
            "fact": "Used regularly by {share} of {wave} respondents (95% interval "
            "{interval}, n = {n}).",
            "definition": "Share = respondents who ticked the framework / respondents who "
            "answered the question in that wave.",
        },
        {
            "name": "changes",
            "kind": "change",
            "measure": "change",
            "section": "trend",
            "title": "What changed between waves?",
            "subtitle": "Change in the share using each framework between consecutive waves, "
            "in percentage points, with 95% Newcombe intervals.",
            "definition": "Change = share in the later wave - share in the earlier wave, each "
            "of those who answered; where the interval includes zero there is no detectable "
            "change.",
        },
        {
            "name": "new-projects",
            "kind": "dots",
            "measure": "share",
            "section": "focus",
            "question": "framework_status",
            "option": "new-projects",
            "title": "Which frameworks do people pick for new projects?",
            "subtitle": "Of those who rated each framework, the share who use it for new projects.",
            "fact": "Chosen for new projects by {share} of those who rated it in {wave} "
            "({interval}).",
            "definition": "For new projects = respondents who use the framework for new "
            "projects / respondents who rated that framework in the wave (any answer).",
        },
        {
            "name": "retention",
            "kind": "dots",
            "measure": "retention",
            "section": "focus",
            "title": "Who keeps using what they used?",
            "subtitle": "Of those who ever used each framework, the share still using it.",
            "fact": "Still used by {share} of those who ever used it in {wave} ({interval}).",
            "definition": "Retention = (use for new projects + use only in existing projects) "
            "/ (those + used before and stopped), among respondents who rated the framework; "
            "no time window was asked, and answers that tick None together with a framework "
            "are left out.",
        },
        {
            "name": "migration",
            "kind": "heatmap",
            "measure": "migration",
            "section": "focus",
            "title": "Where did switchers go? ({wave})",
            "subtitle": "Among respondents who moved a project from one framework to another "
            "in the last 12 months, the share of each move (from, down; to, across).",
            "definition": "Move share = respondents who moved from one framework to the other "
            "/ all respondents who moved between two different frameworks in the wave; moves "
            "from a framework to itself, and answers that tick None together with a "
            "framework, are left out.",
        },
        {
            "name": "breakdown",
            "kind": "dots",
            "measure": "share",
            "section": "breakdowns",
            "items": 4,
            "title": "Framework use by {dimension}, {wave}",
            "subtitle": "Share using each framework, by answer to “{question_text}”",
            "definition": "Share = respondents in the group who ticked the framework / "
            "respondents in the group who answered the question.",
        },
    ],
}

CENSUS_SPEC: dict[str, Any] = {
    "series": {
        "slug": "ml-frameworks",
        "title": "ML Framework Census",
        "description": "Which machine learning frameworks practitioners use, for what, and "
        "where: the Census and the Kaggle ML & DS Survey waves in one series.",
        # New answers reach the public report without anyone touching the admin; the
        # disclosure audit still has to pass before anything is published.
        "auto_publish": True,
        "report_spec": REPORT_SPEC,
    },
    "survey": {
        "slug": "census-2026",
        "title": "ML Framework Census 2026",
        "wave_label": "2026",
        "fielded_from": date(2026, 11, 1),
        "intro": "Five short pages, about five minutes. Which ML frameworks do you use, for "
        "what, and where? Results are published only as aggregates, with their margins of "
        "error, and no group smaller than ten people is ever shown.",
        "thank_you": "Your answers are saved. Results are published as aggregates "
        "once enough people have answered.",
        "source": "Tally ML Framework Census",
        "license": "CC BY 4.0",
        "attribution": "Tally, ML Framework Census 2026",
    },
    "pages": CENSUS_PAGES,
}
