from django.urls import path

from appointments import views

app_name = "appointments"
urlpatterns = [
    path("", views.site_home, name="site_home"),
]
