"""The import's pages, under /residents/import/ and in the `residents` namespace (included by residents/urls.py)."""

from django.urls import path

from residents.importing import views

urlpatterns = [
    path("", views.import_start, name="import"),
    path("template.xlsx", views.import_template, name="import_template"),
    path("<int:pk>/", views.import_preview, name="import_preview"),
    path("<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("<int:pk>/confirm/", views.import_confirm, name="import_confirm"),
    path("<int:pk>/errors.xlsx", views.import_errors, name="import_errors"),
]
