"""Is the database answering? Asked without the connection pool, so /healthz answers at once
(a 503 within about a second) instead of waiting for a pooled connection that never comes."""

from __future__ import annotations

from django.db import connection

PROBE_TIMEOUT_SECONDS = 1


def database_answers() -> bool:
    if connection.vendor == "postgresql":
        import psycopg

        params = connection.get_connection_params()
        params.pop("pool", None)
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params.pop("prepare_threshold", None)
        params["connect_timeout"] = PROBE_TIMEOUT_SECONDS
        try:
            with psycopg.connect(**params) as probe:
                probe.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 (any failure to reach the database means unhealthy)
        return False
    return True
