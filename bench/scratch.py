"""Scratch databases for the benches, made on DATABASE_URL's server and dropped after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit


def scratch_name(url: str) -> str:
    """The default scratch database: DATABASE_URL's own name followed by `_bench`, so that
    checkouts working on databases of their own do not drop each other's bench."""
    return f"{urlsplit(url).path.lstrip('/') or 'tally'}_bench"


def scratch_urls(url: str, name: str) -> tuple[str, str]:
    """The server's maintenance database (to create and drop from) and the scratch one."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), urlunsplit(parts._replace(path=f"/{name}"))


def scratch_recreate(admin_url: str, name: str, *, drop_only: bool = False) -> None:
    """Drop the bench's own database (name is a constant of the bench) and make it anew."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if not drop_only:
            conn.execute(f"CREATE DATABASE {name}")


@contextmanager
def scratch_database(url: str, name: str, *, keep: bool = False) -> Iterator[str]:
    """A fresh scratch database on DATABASE_URL's server, for the bench's run; yields its URL.

    Afterwards Django's connections are closed and the database dropped, unless kept."""
    admin_url, bench_url = scratch_urls(url, name)
    scratch_recreate(admin_url, name)
    try:
        yield bench_url
    finally:
        from django.conf import settings
        from django.db import connections

        if settings.configured:  # a bench that runs the app in another process has none
            connections.close_all()
        if not keep:
            scratch_recreate(admin_url, name, drop_only=True)
