import os

import pytest
from django.core.management import call_command

from config.celery import app
from results import pagecache
from signals.services import signal_import
from survey.census import CENSUS_SPEC
from survey.models import Survey
from survey.services import survey_create
from tests.factories import cache_clear
from tests.respondents import CENSUS_PAGES_POST

# This run's own broker queue (its workers get it through TALLY_CELERY_QUEUE): a worker
# another run left on the same Redis cannot take this run's messages, nor this run's theirs.
TEST_QUEUE = f"tally-tests-{os.getpid()}"
app.conf.task_default_queue = TEST_QUEUE


@pytest.fixture(scope="session", autouse=True)
def _static_files():
    # Pages are rendered with the production static storage (hashed names, WhiteNoise).
    call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture
def eager_tasks():
    """Run queued tasks in-process, as the embedded default does."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _close_the_database_breaker():
    # A test that simulates a database outage must not leave 503s to the next one.
    from survey.middleware import breaker

    breaker.open_until = 0.0
    yield
    breaker.open_until = 0.0


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path):
    # Exports kept per snapshot go to the test's own folder: none outlives its test.
    settings.TALLY_EXPORT_DIR = str(tmp_path / "exports")


@pytest.fixture(autouse=True)
def _clear_cache():
    # Rate-limit counters live in the cache (Redis in the suite), rendered pages and which
    # snapshot is published in the process too: start every test clean.
    cache_clear()
    pagecache.forget(pages=True)
    yield
    cache_clear()
    pagecache.forget(pages=True)


@pytest.fixture
def census(db) -> Survey:
    """The ML Framework Census, open, with no minimum time so tests can submit at once."""
    return survey_create(
        spec=CENSUS_SPEC, survey_overrides={"status": Survey.Status.OPEN, "min_seconds": 0}
    )


@pytest.fixture
def signals_loaded(db) -> None:
    """The four outside-signal files committed in data/signals/, imported."""
    from tests.signals.conftest import FILES

    for path in FILES.values():
        signal_import(path=path)


# A complete, valid set of Census answers, page by page, as a browser posts them.


@pytest.fixture
def census_post():
    return [dict(page) for page in CENSUS_PAGES_POST]


POLL_CHOICES = [("pytorch", "PyTorch"), ("tensorflow", "TensorFlow"), ("jax", "JAX")]


@pytest.fixture
def poll(db) -> Survey:
    """An open single-choice quick poll with an "other" option, k = 10."""
    from survey.poll_services import poll_create

    return poll_create(
        slug="new-project",
        text="Which framework would you pick for a new project today?",
        choices=POLL_CHOICES,
        has_other=True,
        status=Survey.Status.OPEN,
    )


def cast_votes(poll: Survey, counts: dict[str, int], *, prefix: str = "v") -> None:
    """Votes from distinct respondents: counts maps a choice key to how many pick it."""
    from survey.poll_services import poll_vote

    for key, n in counts.items():
        for i in range(n):
            poll_vote(
                poll=poll,
                respondent_hash=f"{prefix}-{key}-{i}",
                keys=[key],
                other="Caffe" if key == "other" else "",
            )
