from . import authoring, curation, polls, taxonomy  # noqa: F401 (each module registers its admin)
