from . import authoring, curation, taxonomy  # noqa: F401 (each module registers its admin)
