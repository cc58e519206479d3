from django.urls import path

from appointments import views_plan

app_name = "plan"
urlpatterns = [
    path("", views_plan.plan_week, name="week"),
    path("propose/", views_plan.plan_propose_view, name="propose"),
    path("<int:pk>/save/", views_plan.plan_save, name="save"),
    path("<int:pk>/publish/", views_plan.plan_publish_view, name="publish"),
    path("village/", views_plan.village_plan, name="village"),
]
