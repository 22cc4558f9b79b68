"""The layering rules of DESIGN.md, checked on the source."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_survey_never_imports_results():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "survey").rglob("*.py")
        if any(name.split(".")[0] == "results" for name in imported_modules(path))
    ]
    assert offenders == []


def test_results_never_queries_response_models_directly():
    offenders = []
    for path in (ROOT / "results").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "survey.models":
                raw = {alias.name for alias in node.names} & {"Response", "Answer"}
                offenders += [f"{path.relative_to(ROOT)}: {name}" for name in sorted(raw)]
    assert offenders == []


def test_results_reads_responses_only_through_survey_selectors():
    # survey.importers.copy is the one bulk writer (COPY), which snapshots use to write cells;
    # it writes rows it is given and reads nothing.
    allowed = {"survey.models", "survey.selectors", "survey", "survey.importers.copy"}
    offenders = []
    for path in (ROOT / "results").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for name in imported_modules(path):
            if name.startswith("survey") and name not in allowed:
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_signals_and_survey_never_import_results_and_survey_never_imports_signals():
    offenders = [
        str(path.relative_to(ROOT))
        for app, banned in (("signals", {"results"}), ("survey", {"signals"}))
        for path in (ROOT / app).rglob("*.py")
        if any(name.split(".")[0] in banned for name in imported_modules(path))
    ]
    assert offenders == []
