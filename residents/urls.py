from django.urls import path

from residents import views, views_import

app_name = "residents"
urlpatterns = [
    path("", views.village_home, name="village_home"),
    path("import/", views_import.import_start, name="import"),
    path("import/template.xlsx", views_import.import_template, name="import_template"),
    path("import/<int:pk>/", views_import.import_preview, name="import_preview"),
    path("import/<int:pk>/confirm/", views_import.import_confirm, name="import_confirm"),
    path("import/<int:pk>/errors.xlsx", views_import.import_errors, name="import_errors"),
]
