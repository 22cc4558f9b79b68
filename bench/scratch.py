"""Scratch databases for the benches, made on DATABASE_URL's server and dropped after."""

from __future__ import annotations

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
