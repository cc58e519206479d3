from django.urls import path

from residents import views, views_import

app_name = "residents"
urlpatterns = [
    path("", views.village_home, name="village_home"),
    path("new/", views.resident_new, name="new"),
    path("id-preview/", views.id_preview, name="id_preview"),
    path("full-views/", views.full_value_views, name="full_value_views"),
    path("<int:pk>/", views.resident_detail, name="detail"),
    path("<int:pk>/edit/", views.resident_edit, name="edit"),
    path("<int:pk>/refuse/", views.resident_refuse, name="refuse"),
    path("<int:pk>/delete/", views.resident_remove, name="delete"),
    path("import/", views_import.import_start, name="import"),
    path("import/template.xlsx", views_import.import_template, name="import_template"),
    path("import/<int:pk>/", views_import.import_preview, name="import_preview"),
    path("import/<int:pk>/confirm/", views_import.import_confirm, name="import_confirm"),
    path("import/<int:pk>/errors.xlsx", views_import.import_errors, name="import_errors"),
]
