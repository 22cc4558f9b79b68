import pytest

from config.celery import app
from survey.demo import demo_load
from survey.models import Series


@pytest.fixture
def demo_series(db) -> Series:
    """The synthetic demo series: two Census waves of generated responses."""
    return demo_load(responses_per_wave=160, seed=7)


@pytest.fixture
def eager_tasks():
    """Run queued tasks in-process, as the embedded default does."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
