from django.urls import path

from . import api

urlpatterns = [
    path("surveys/", api.survey_list, name="api-survey-list"),
    path("surveys/<slug:slug>/", api.survey_detail, name="api-survey-detail"),
    path("surveys/<slug:slug>/responses/", api.survey_submit, name="api-survey-submit"),
]
