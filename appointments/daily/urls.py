from django.urls import path

from appointments.daily import views

app_name = "daily"
urlpatterns = [
    path("", views.list_page, name="list"),
    path("roster.xlsx", views.roster, name="roster"),
    path("slips/", views.village_slips_page, name="village_slips"),
    path("slips/<int:pk>/", views.slip, name="slip"),
]
