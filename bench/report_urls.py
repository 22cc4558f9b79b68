"""The app's URLs plus the report bench's floor: a view that returns a constant."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.http import require_safe

from config.urls import urlpatterns as app_urlpatterns

BODY = b"<!doctype html><title>constant</title><p>constant</p>"


@require_safe
def constant(request: HttpRequest) -> HttpResponse:
    return HttpResponse(BODY)


urlpatterns = [path("bench/constant/", constant), *app_urlpatterns]
