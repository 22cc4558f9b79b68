from django.urls import path

from . import api

app_name = "signals"

urlpatterns = [
    path("", api.SourceList.as_view(), name="api-sources"),
    path("<slug:key>/", api.SourceDetail.as_view(), name="api-source"),
    path("<slug:key>/values/", api.ValueList.as_view(), name="api-values"),
]
