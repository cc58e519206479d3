from django.urls import path

from appointments.posters import views

app_name = "posters"
urlpatterns = [
    path("", views.poster_list, name="list"),
    path("campaign/", views.poster_campaign, name="campaign"),
    path("villages/", views.poster_all, name="all"),
    path("village/<int:pk>/", views.poster_village, name="village"),
]
