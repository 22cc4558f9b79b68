"""The four signal files committed in data/signals/ (the `signals_loaded` fixture, shared
with the report's tests, is in tests/conftest.py)."""

from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "signals"
FILES = {
    "github-innovation-graph": DATA / "github_innovation_graph_ml_topics.csv",
    "pypi-downloads": DATA / "pypi_top_packages_snapshots.csv",
    "conference-papers": DATA / "conference_papers_pytorch_vs_tensorflow.csv",
    "transformer-papers": DATA / "transformer_papers_official_code.csv",
}
