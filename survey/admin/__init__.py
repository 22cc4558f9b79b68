from . import authoring, channels, curation, polls, taxonomy  # noqa: F401 (each registers its admin)
