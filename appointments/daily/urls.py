from django.urls import path

from appointments import views_daily

app_name = "daily"
urlpatterns = [
    path("", views_daily.list_page, name="list"),
    path("roster.xlsx", views_daily.roster, name="roster"),
    path("slips/", views_daily.village_slips_page, name="village_slips"),
    path("slips/<int:pk>/", views_daily.slip, name="slip"),
]
