"""Settings for the submission bench's gunicorn: the app's, plus the floor's URL."""

from config.settings import *  # noqa: F403 (the app's settings, unchanged but one)

ROOT_URLCONF = "bench.submit_urls"
