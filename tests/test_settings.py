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


def test_check_deploy_is_clean_with_the_production_settings_from_the_environment():
    """Proves: HSTS, the SSL redirect and the proxy's SSL header are set from the
    environment, and `check --deploy --fail-level WARNING` passes with them."""
    env = {
        "SECRET_KEY": "a-long-random-production-secret-" + "x7Qp2Lm9Zr4Tv8Kw" * 3,
        "ALLOWED_HOSTS": "tally.example.org",
        "TALLY_SECURE_COOKIES": "1",
        "TALLY_HSTS_SECONDS": "31536000",
        "TALLY_SSL_REDIRECT": "1",
        "TALLY_PROXY_SSL_HEADER": "X-Forwarded-Proto:https",
    }
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    clean.pop("TALLY_DEBUG", None)
    clean.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    code = "from django.conf import settings as s; print(s.SECURE_PROXY_SSL_HEADER)"
    assert "('HTTP_X_FORWARDED_PROTO', 'https')" in run_django(env, code).stdout


def test_a_malformed_proxy_ssl_header_is_a_loud_error():
    result = run_django({"TALLY_DEBUG": "1", "TALLY_PROXY_SSL_HEADER": "https"}, "")
    assert "TALLY_PROXY_SSL_HEADER must be Header-Name:value" in result.stderr


def test_a_site_url_with_a_path_is_a_loud_error():
    result = run_django({"TALLY_DEBUG": "1", "SITE_URL": "tally.example/p/"}, "")
    assert "SITE_URL must be scheme://host[:port]" in result.stderr


def test_site_url_is_unset_by_default_and_loses_a_trailing_slash():
    code = "from django.conf import settings as s; print(repr(s.SITE_URL))"
    unset = run_django({"TALLY_DEBUG": "1"}, code)
    slash = run_django({"TALLY_DEBUG": "1", "SITE_URL": "https://tally.example/"}, code)
    assert unset.stdout.strip() == "''"
    assert slash.stdout.strip() == "'https://tally.example'"
