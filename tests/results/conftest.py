import pytest

from survey.demo import demo_load
from survey.models import Series


@pytest.fixture
def demo_series(db) -> Series:
    """The synthetic demo series: two Census waves of generated responses."""
    return demo_load(responses_per_wave=160, seed=7)
