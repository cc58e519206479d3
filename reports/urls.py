from django.urls import path

from reports import views, views_supervision

app_name = "reports"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("progress/refresh/", views.progress_refresh, name="progress_refresh"),
    path("exports/", views.export_list, name="export_list"),
    path("exports/residents/", views.export_residents, name="export_residents"),
    path("exports/<int:pk>/", views.export_detail, name="export_detail"),
    path("exports/<int:pk>/status/", views.export_status, name="export_status"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("exports/<int:pk>/again/", views.export_again, name="export_again"),
    path("weekly/", views_supervision.weekly_list, name="weekly_list"),
    path("weekly/make/", views_supervision.weekly_make, name="weekly_make"),
    path("weekly/thresholds/", views_supervision.thresholds, name="thresholds"),
    path("weekly/<str:week>/", views_supervision.weekly_detail, name="weekly_detail"),
    path("weekly/<str:week>/excel/", views_supervision.weekly_excel, name="weekly_excel"),
    path("weekly/<str:week>/findings/", views_supervision.finding_add, name="finding_add"),
    path("upward/", views_supervision.upward_report, name="upward_report"),
]
