from django.urls import include, path

from reports import views

app_name = "reports"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("exports/", views.export_list, name="export_list"),
    path("exports/residents/", views.export_residents, name="export_residents"),
    path("exports/<int:pk>/", views.export_detail, name="export_detail"),
    path("exports/<int:pk>/status/", views.export_status, name="export_status"),
    path("exports/<int:pk>/progress/", views.export_progress, name="export_progress"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("exports/<int:pk>/again/", views.export_again, name="export_again"),
    path("", include("reports.supervision.urls")),
]
