"""Scratch databases for the benches, made on DATABASE_URL's server and dropped after."""

from __future__ import annotations


def scratch_recreate(admin_url: str, name: str, *, drop_only: bool = False) -> None:
    """Drop the bench's own database (name is a constant of the bench) and make it anew."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if not drop_only:
            conn.execute(f"CREATE DATABASE {name}")
