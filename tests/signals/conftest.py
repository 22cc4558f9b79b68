"""The four signal files committed in data/signals/, imported on demand."""

from pathlib import Path

import pytest

from signals.services import signal_import

DATA = Path(__file__).resolve().parents[2] / "data" / "signals"
FILES = {
    "github-innovation-graph": DATA / "github_innovation_graph_ml_topics.csv",
    "pypi-downloads": DATA / "pypi_top_packages_snapshots.csv",
    "conference-papers": DATA / "conference_papers_pytorch_vs_tensorflow.csv",
    "transformer-papers": DATA / "transformer_papers_official_code.csv",
}


@pytest.fixture
def signals_loaded(db) -> None:
    for path in FILES.values():
        signal_import(path=path)
