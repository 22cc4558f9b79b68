"""The app's URLs plus the submission bench's floor: a bare view that inserts one row."""

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bench.submit import FLOOR_PATH, FLOOR_TABLE
from config.urls import urlpatterns as app_urlpatterns


@csrf_exempt
@require_POST
def insert(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {FLOOR_TABLE} (body_bytes) VALUES (%s)", [len(request.body)])
    return HttpResponse(status=201)


urlpatterns = [path(FLOOR_PATH, insert), *app_urlpatterns]
