"""The weekly report's and the upward report's pages, in the `reports` namespace (included by reports/urls.py)."""

from django.urls import path

from reports.supervision import views

urlpatterns = [
    path("weekly/", views.weekly_list, name="weekly_list"),
    path("weekly/make/", views.weekly_make, name="weekly_make"),
    path("weekly/thresholds/", views.thresholds, name="thresholds"),
    path("weekly/<str:week>/", views.weekly_detail, name="weekly_detail"),
    path("weekly/<str:week>/excel/", views.weekly_excel, name="weekly_excel"),
    path("weekly/<str:week>/findings/", views.finding_add, name="finding_add"),
    path("upward/", views.upward_report, name="upward_report"),
]
