"""Public pages: the home page and the published reports."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from survey.models import Series
from survey.selectors import surveys_open


def home(request: HttpRequest) -> HttpResponse:
    published = Series.objects.filter(snapshots__published_at__isnull=False).distinct()
    return render(
        request,
        "survey/home.html",
        {"surveys": surveys_open(), "published": published.order_by("title")},
    )
