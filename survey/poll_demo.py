"""A synthetic demo poll for `make run`: two rounds of the Census' new-project question.

Marked synthetic everywhere it shows. The votes are seeded, so every load gives the same.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.utils import timezone

from . import census
from .models import Series, Survey
from .poll_services import poll_create, poll_vote

DEMO_POLL_SERIES = "framework-pick-demo"
DEMO_POLL = "framework-pick"
PICKS = ["pytorch", "tensorflow", "keras", "jax", "scikit-learn", "huggingface-transformers"]
# Chance of each pick by round: a story to show, not data. Each round has more than
# 10·k = 100 votes, so both speak in the series' report (results.spec.min_answers_for).
ROUNDS = {
    "earlier": ([0.44, 0.18, 0.08, 0.10, 0.12, 0.08], 130),
    "current": ([0.50, 0.12, 0.06, 0.14, 0.10, 0.08], 110),
}


def poll_demo_load(*, seed: int = 2026) -> Survey:
    """The open demo poll (with a closed earlier round), unless it exists already."""
    existing = Survey.objects.filter(slug=DEMO_POLL).first()
    if existing is not None:
        return existing
    rng = random.Random(seed)  # noqa: S311 (synthetic data, seeded on purpose)
    labels = dict(census.FRAMEWORKS)
    choices = [(key, labels[key]) for key in PICKS]
    now = timezone.now()
    common: dict[str, Any] = {
        "text": "Which framework would you pick for a new project today?",
        "title": "Which framework would you pick for a new project today? (synthetic demo)",
        "key": "primary_framework",
        "choices": choices,
        "has_other": True,
        "series_slug": DEMO_POLL_SERIES,
        "quick_poll_of": Series.objects.filter(slug=census.CENSUS_SPEC["series"]["slug"]).first(),
        "is_synthetic": True,
    }
    earlier_opened = now - timedelta(days=35)
    rounds = [
        poll_create(
            slug=f"{DEMO_POLL}-{timezone.localdate(earlier_opened).isoformat()}",
            status=Survey.Status.OPEN,
            opens_at=earlier_opened,
            **common,
        ),
        poll_create(slug=DEMO_POLL, status=Survey.Status.OPEN, opens_at=now, **common),
    ]
    for poll, (name, (weights, count)) in zip(rounds, ROUNDS.items(), strict=True):
        for index in range(count):
            pick = rng.choices(PICKS, weights=weights)[0]
            poll_vote(
                poll=poll, respondent_hash=f"demo-{name}-{index}", keys=[pick], channel="demo"
            )
    Survey.objects.filter(pk=rounds[0].pk).update(status=Survey.Status.CLOSED, closes_at=now)
    return rounds[1]
