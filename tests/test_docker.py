import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_compose_file_is_valid_and_has_the_production_services():
    env = {**os.environ, "SECRET_KEY": "x", "POSTGRES_PASSWORD": "y"}
    result = subprocess.run(
        ["docker-compose", "-f", "docker/compose.yaml", "config", "--services"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {"db", "redis", "proxy", "web", "worker", "beat"}


def test_compose_refuses_to_start_without_a_secret_key():
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose not installed")
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"} | {"POSTGRES_PASSWORD": "y"}
    result = subprocess.run(
        ["docker-compose", "-f", "docker/compose.yaml", "config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_buffering_proxy_with_timeouts_stands_in_front_of_gunicorn():
    """Proves (statically): a client trickling its body meets nginx's buffering and body
    timeout, not one of gunicorn's threads; gunicorn itself has a request timeout."""
    compose = (ROOT / "docker" / "compose.yaml").read_text()
    nginx = (ROOT / "docker" / "nginx.conf").read_text()
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text()
    assert "nginx.conf:/etc/nginx/nginx.conf" in compose
    assert "proxy_request_buffering on;" in nginx
    assert "client_body_timeout 10s;" in nginx
    assert "client_header_timeout 10s;" in nginx
    assert "--timeout" in entrypoint
