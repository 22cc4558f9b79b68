"""The layering rules of DESIGN.md, checked on the source."""

import ast
import re
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


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imported_project_modules(path: Path) -> set[str]:
    """Every module a file imports, relative imports resolved, `from a import b` as a.b
    (b may be a name in a rather than a module: both are listed)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


APPS = ("survey", "results", "signals")
# The faces: what a request, a command, the admin or a worker enters through.
FACES = {"views", "api", "admin", "tasks", "forms", "serializers", "urls", "api_urls", "polls"}
FACE_PACKAGES = {"admin", "management", "templatetags"}


def is_face(module: str) -> bool:
    parts = module.split(".")
    if parts[0] not in APPS:
        return False
    if any(part in FACE_PACKAGES for part in parts[1:]):
        return True
    # survey.selectors.polls is a selector; survey.polls and results.polls are views.
    return len(parts) == 2 and parts[1] in FACES


def test_no_core_module_imports_a_view_form_admin_or_task():
    offenders = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            module = module_name(path)
            if "migrations" in path.parts or is_face(module):
                continue
            for name in imported_project_modules(path):
                if is_face(name):
                    offenders.append(f"{module} imports {name}")
    assert offenders == []


def test_results_imports_only_survey_models_and_selectors():
    # survey.importers.copy is the one bulk writer (COPY), which snapshots use to write cells;
    # it writes rows it is given and reads nothing.
    allowed = ("survey.models", "survey.selectors", "survey.importers.copy")
    offenders = []
    for path in (ROOT / "results").rglob("*.py"):
        for name in imported_project_modules(path):
            parts = name.split(".")
            if parts[0] != "survey" or len(parts) == 1:
                continue
            if not name.startswith(allowed):
                offenders.append(f"{module_name(path)} imports {name}")
    assert offenders == []


def test_the_boundary_checks_see_relative_and_from_imports(tmp_path):
    assert is_face("survey.tasks") and is_face("results.admin.snapshots")
    assert not is_face("survey.selectors.polls") and not is_face("survey.services")
    names = imported_project_modules(ROOT / "survey" / "selectors" / "responses.py")
    assert "survey.models" in names and "survey.kinds.behaviour" in names


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


def test_signals_and_survey_never_import_results_and_survey_never_imports_signals():
    offenders = [
        str(path.relative_to(ROOT))
        for app, banned in (("signals", {"results"}), ("survey", {"signals"}))
        for path in (ROOT / app).rglob("*.py")
        if any(name.split(".")[0] in banned for name in imported_modules(path))
    ]
    assert offenders == []


def test_bulk_rows_are_written_by_the_one_copy_writer():
    # survey.importers.copy.rows_copy: COPY on PostgreSQL, one executemany on SQLite.
    writer = ROOT / "survey" / "importers" / "copy.py"
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if path != writer
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "executemany(" in line or ("COPY " in line and "FROM STDIN" in line)
    ]
    assert offenders == []


CODE = (*APPS, "config")
SETTINGS = ROOT / "config" / "settings.py"


def test_the_environment_is_read_only_in_config_settings():
    # The entry points' DJANGO_SETTINGS_MODULE default is how Django finds the settings.
    read = re.compile(r"os\.environ(?!\.setdefault\(\"DJANGO_SETTINGS_MODULE\")|getenv\(")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in CODE
        for path in (ROOT / folder).rglob("*.py")
        if path != SETTINGS
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if read.search(line)
    ]
    assert offenders == []


def test_every_setting_the_code_reads_is_declared_in_config_settings():
    from django.conf import global_settings

    assignment = re.compile(r"^\s*([A-Z][A-Z0-9_]*)\s*(?::[^=\n]*)?=", re.M)
    declared = set(assignment.findall(SETTINGS.read_text(encoding="utf-8")))
    declared |= {name for name in dir(global_settings) if name.isupper()}
    used: dict[str, str] = {}
    for folder in (*CODE, "templates"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if "getattr(settings" in text:
                used.setdefault("getattr(settings, ...)", str(path.relative_to(ROOT)))
            for name in re.findall(r"\bsettings\.([A-Z][A-Z0-9_]*)", text):
                used.setdefault(name, str(path.relative_to(ROOT)))
    assert {name: where for name, where in used.items() if name not in declared} == {}
