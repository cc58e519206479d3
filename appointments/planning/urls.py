from django.urls import path

from appointments.planning import views

app_name = "plan"
urlpatterns = [
    path("", views.plan_week, name="week"),
    path("propose/", views.plan_propose_view, name="propose"),
    path("<int:pk>/save/", views.plan_save, name="save"),
    path("<int:pk>/publish/", views.plan_publish_view, name="publish"),
    path("village/", views.village_plan, name="village"),
]
