from django.urls import path

from . import polls, views

app_name = "survey"

urlpatterns = [
    path("s/<slug:slug>/", views.take, name="take"),
    path("s/<slug:slug>/thanks/", views.thanks, name="thanks"),
    path("s/<slug:slug>/resume/<str:token>/", views.resume, name="resume"),
    path("s/<slug:slug>/preview/", views.preview, name="preview"),
    path("p/<slug:slug>/", polls.poll_page, name="poll"),
    path("p/<slug:slug>/embed/", polls.poll_embed, name="poll-embed"),
]
