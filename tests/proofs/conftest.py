"""The stack the proofs run against, all started here and stopped at the end:

- nginx with docker/nginx.conf (the compose file's buffering proxy; only the upstream and
  the port changed) in front of
- gunicorn with production settings (DEBUG off, 2 workers x 4 threads as in the compose file);
- PostgreSQL: a scratch database on the shared server, reached through a TCP proxy the test
  controls (stopping the proxy is "PostgreSQL down" without touching the shared server);
- Redis: a private redis-server on its own port (never the shared 6379), stopped and
  started by the tests;
- a Celery worker with beat.

Run with `make proofs` (`.ci/run` calls it after `make test`).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import psycopg
import pytest

from tests.processes import die_with_parent

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
SECRET = "proofs-only-secret-" + "k3Jx9Qw2Lp7Zr5Tv" * 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {port}")


class TcpProxy:
    """Forwards a local port to PostgreSQL; `down()` closes it and every connection through
    it (the app sees a database that went away), `up()` listens again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(256)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        with self._lock:
            for sock in list(self._sockets):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update({client, server})
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            with self._lock:
                self._sockets.discard(source)
                self._sockets.discard(sink)


class RedisServer:
    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


class Nginx:
    """The compose file's proxy: docker/nginx.conf itself, pointed at this stack's gunicorn
    and listening on a free port, its temporary files and logs in the stack's folder."""

    def __init__(self, directory: Path, upstream_port: int) -> None:
        self.port = free_port()
        self.directory = directory / "nginx"
        self.upstream_port = upstream_port
        self.process: subprocess.Popen | None = None

    def config(self) -> str:
        text = (ROOT / "docker" / "nginx.conf").read_text()
        temp = "".join(
            f"  {kind}_temp_path {self.directory / kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        for old, new in (
            ("server web:8000;", f"server 127.0.0.1:{self.upstream_port};"),
            ("listen 8080;", f"listen 127.0.0.1:{self.port};"),
            ("http {\n", f"http {{\n{temp}"),
        ):
            assert old in text, f"docker/nginx.conf no longer has {old!r}"
            text = text.replace(old, new, 1)
        return text

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "nginx.conf"
        conf.write_text(self.config())
        main = f"daemon off; pid {self.directory / 'nginx.pid'}; error_log stderr warn;"
        if os.geteuid() == 0:
            main += " user root;"  # its workers read the temporary folders made here
        self.process = subprocess.Popen(
            [
                shutil.which("nginx") or "/usr/sbin/nginx",
                "-p",
                str(self.directory),
                "-c",
                str(conf),
                "-g",
                main,
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=open(self.directory / "error.log", "a"),  # noqa: SIM115 (the process keeps it)
            preexec_fn=die_with_parent,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


class Stack:
    def __init__(self, tmp: Path) -> None:
        base = os.environ.get("TEST_DATABASE_URL") or os.environ["DATABASE_URL"]
        url = urllib.parse.urlsplit(base)
        self.dbname = (url.path.lstrip("/") or "tally") + "_proofs"
        self.admin_url = urllib.parse.urlunsplit(url._replace(path="/postgres"))
        self.pg = TcpProxy((url.hostname or "127.0.0.1", url.port or 5432))
        proxied = url._replace(
            netloc=f"{url.username or 'postgres'}@127.0.0.1:{self.pg.port}",
            path=f"/{self.dbname}",
        )
        self.direct_url = urllib.parse.urlunsplit(url._replace(path=f"/{self.dbname}"))
        self.redis = RedisServer(tmp)
        self.tmp = tmp
        self.web_port = free_port()
        self.nginx = Nginx(tmp, self.web_port)
        # Respondents come through the proxy, as in the compose file; `direct` skips it.
        self.base = f"http://127.0.0.1:{self.nginx.port}"
        self.direct = f"http://127.0.0.1:{self.web_port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TALLY_", "PYTEST"))},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": SECRET,
            "TALLY_DEBUG": "0",
            "DATABASE_URL": urllib.parse.urlunsplit(proxied),
            "REDIS_URL": f"redis://127.0.0.1:{self.redis.port}/0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "TALLY_TRUSTED_PROXY_HOPS": "1",  # the client address nginx saw
            # The crowd comes from one address: lift the per-IP budgets, not the code paths.
            "TALLY_SUBMIT_RATE_PER_HOUR": "1000000",
            "TALLY_DRAFT_RATE_PER_HOUR": "1000000",
            "TALLY_API_SUBMIT_RATE": "1000000/hour",
            "TALLY_REFRESH_SECONDS": "3",
            "TALLY_JOB_STALE_SECONDS": "6",
            "TALLY_DB_POOL_TIMEOUT": "3",
            "LOG_LEVEL": "WARNING",
        }
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def create_database(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{self.dbname}"')
        for command in (["migrate", "--noinput", "-v0"], ["load_census", "--demo"]):
            self.manage(*command)
        self.sql("UPDATE survey_survey SET min_seconds = 0 WHERE slug = 'census-2026'")

    def drop_database(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')

    def manage(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [PY, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result

    def sql(self, query: str, *params) -> list[tuple]:
        with psycopg.connect(self.direct_url, autocommit=True) as db:
            cursor = db.execute(query, params or None)
            return cursor.fetchall() if cursor.description else []

    def start_web(self, workers: int = 2, threads: int = 4) -> None:
        log = open(self.tmp / "web.log", "a")
        self.web = subprocess.Popen(
            [
                str(Path(PY).parent / "gunicorn"),
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--timeout",
                "30",
            ],  # fmt: skip
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        wait_for_port(self.web_port)

    def start_worker(
        self, name: str = "worker", env: dict[str, str] | None = None
    ) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "a")
        self.worker = subprocess.Popen(
            [
                str(Path(PY).parent / "celery"),
                "-A",
                "config",
                "worker",
                "--beat",
                "--loglevel",
                "INFO",
                "--concurrency",
                "1",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "--schedule",
                str(self.tmp / "celerybeat-schedule"),
                "-n",
                f"{name}@%h",
            ],  # fmt: skip
            cwd=ROOT,
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        return self.worker

    def kill_worker(self, sig: int = signal.SIGKILL) -> None:
        if self.worker is not None and self.worker.poll() is None:
            os.killpg(self.worker.pid, sig)
            self.worker.wait(timeout=30)
        self.worker = None

    def stop(self) -> None:
        for process in (self.web,):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
        self.kill_worker(signal.SIGTERM)

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text()[-4000:] if path.exists() else ""


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("proofs")
    stack = Stack(tmp)
    stack.pg.up()
    stack.redis.start()
    subprocess.run(
        [PY, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=stack.env,
        check=True,
        timeout=300,
    )
    stack.create_database()
    stack.start_web()
    stack.nginx.start()
    stack.start_worker()
    try:
        yield stack
    finally:
        stack.nginx.stop()
        stack.stop()
        stack.redis.stop()
        stack.pg.down()
        stack.drop_database()


def complete_census_count(stack: Stack) -> int:
    return stack.sql(
        "SELECT count(*) FROM survey_response r JOIN survey_survey s ON s.id = r.survey_id "
        "WHERE s.slug = 'census-2026' AND r.status = 'complete'"
    )[0][0]
