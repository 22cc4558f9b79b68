"""The app's URLs plus the submission bench's floor: a bare view that writes the same rows as
a whole Census submission (one response, its answers) in one transaction, by SQL alone."""

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bench.submit import FLOOR_CHANNEL, FLOOR_PATH
from config.urls import urlpatterns as app_urlpatterns

_statements: list[str] = []


def _prepare(cursor) -> list[str]:  # noqa: ANN001
    """Copy statements built from the template response the bench stored first (a real
    submission through the API): the same columns, the same answer rows."""
    cursor.execute("SELECT min(id) FROM survey_response")
    template = cursor.fetchone()[0]

    def columns(table: str, skip: set[str]) -> list[str]:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            [table],
        )
        return [f'"{c}"' for (c,) in cursor.fetchall() if c not in skip]

    response = columns("survey_response", {"id", "respondent_hash", "channel"})
    answer = columns("survey_answer", {"id", "response_id"})
    return [
        f"INSERT INTO survey_response ({', '.join(response)}, respondent_hash, channel) "
        f"SELECT {', '.join(response)}, md5(random()::text), '{FLOOR_CHANNEL}' "
        f"FROM survey_response WHERE id = {int(template)} RETURNING id",
        f"INSERT INTO survey_answer (response_id, {', '.join(answer)}) "
        f"SELECT %s, {', '.join(answer)} FROM survey_answer WHERE response_id = {int(template)}",
    ]


@csrf_exempt
@require_POST
def insert(request: HttpRequest) -> HttpResponse:
    with transaction.atomic(), connection.cursor() as cursor:
        if not _statements:
            _statements.extend(_prepare(cursor))
        cursor.execute(_statements[0])
        cursor.execute(_statements[1], [cursor.fetchone()[0]])
    return HttpResponse(status=201)


urlpatterns = [path(FLOOR_PATH, insert), *app_urlpatterns]
