from django.urls import path

from residents import views

app_name = "residents"
urlpatterns = [
    path("", views.village_home, name="village_home"),
]
