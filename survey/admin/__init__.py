from . import authoring  # noqa: F401 (registers the authoring admin)
