"""Settings for the report bench: the app's, plus a view that returns a constant."""

from config.settings import *  # noqa: F403 (the app's settings, unchanged but one)

ROOT_URLCONF = "bench.report_urls"
