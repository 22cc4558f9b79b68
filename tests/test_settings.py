import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_django(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    clean.pop("SECRET_KEY", None)
    clean.pop("TALLY_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_secret_key_is_required_when_debug_is_off():
    result = run_django({}, "")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when TALLY_DEBUG is off" in result.stderr


def test_bad_boolean_is_a_loud_error():
    result = run_django({"TALLY_DEBUG": "maybe"}, "")
    assert "TALLY_DEBUG must be a boolean" in result.stderr


def test_embedded_default_uses_sqlite_and_runs_tasks_in_process():
    code = (
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.DEBUG)"
    )
    result = run_django({"TALLY_DEBUG": "1"}, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "True", "True"]


def test_postgres_url_uses_the_connection_pool_and_a_real_broker():
    code = (
        "from django.conf import settings as s; "
        "print('pool' in s.DATABASES['default']['OPTIONS'], s.CELERY_TASK_ALWAYS_EAGER)"
    )
    result = run_django(
        {
            "SECRET_KEY": "x",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/tally",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        },
        code,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False"]
