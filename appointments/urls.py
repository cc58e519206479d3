from django.urls import path

from appointments import views
from appointments.follow_up import views as follow_up

app_name = "appointments"
urlpatterns = [
    path("booking/", views.booking, name="booking"),
    path("follow-up/", follow_up.follow_up, name="follow_up"),
    path("follow-up/<int:pk>/call/", follow_up.call_log, name="call_log"),
    path("resident/<int:pk>/book/", views.book_resident, name="book_resident"),
    path("resident/<int:pk>/hold-dose-2/", views.hold_dose2, name="hold_dose2"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("<int:pk>/reschedule/", views.reschedule, name="reschedule"),
]
