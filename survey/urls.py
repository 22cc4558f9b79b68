from django.urls import path

from . import views

app_name = "survey"

urlpatterns = [
    path("s/<slug:slug>/", views.take, name="take"),
    path("s/<slug:slug>/thanks/", views.thanks, name="thanks"),
    path("s/<slug:slug>/resume/<str:token>/", views.resume, name="resume"),
    path("s/<slug:slug>/preview/", views.preview, name="preview"),
]
