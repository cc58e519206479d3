from django.urls import path

from appointments import views_daily

app_name = "daily"
urlpatterns = [
    path("", views_daily.list_page, name="list"),
    path("roster.xlsx", views_daily.roster, name="roster"),
]
