from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    # Resolved per request: the hashed name exists only once collectstatic has run.
    return HttpResponsePermanentRedirect(static("tally/favicon.svg"))


# A 503 when the database is down, never a traceback (survey/middleware.py).
handler500 = "survey.middleware.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on pages that link none (JSON, the admin).
    path("favicon.ico", favicon),
    path("api/v1/signals/", include("signals.urls")),
    path("api/v1/", include("survey.api_urls")),
    path("", include("survey.urls")),
    path("", include("results.urls")),
]
