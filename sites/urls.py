"""The site team's workstation and the watchers' view of a site's day, at /appointments/site/ (where they were)."""

from django.urls import path

from sites import views
from sites.supply import views as supply

app_name = "sites"
urlpatterns = [
    path("", views.workstation, name="workstation"),
    path("scan/", views.scan, name="scan"),
    path("register/", views.register, name="register"),
    path("live/", views.live, name="live"),
    path("observation/", views.observation, name="observation"),
    path("waiting/", views.waiting, name="waiting"),
    path("arrival/<int:pk>/", views.arrival, name="arrival"),
    path("booked/<int:pk>/check-in/", views.check_in, name="check_in"),
    path("arrival/<int:pk>/screen/", views.screen, name="screen"),
    path("arrival/<int:pk>/shift/", views.shift, name="shift"),
    path("arrival/<int:pk>/vaccinate/", views.vaccinate, name="vaccinate"),
    path("dose/<int:pk>/release/", views.release, name="release"),
    path("dose/<int:pk>/adverse-event/", views.adverse, name="adverse_event"),
    path("adverse-events/", views.adverse_recent, name="adverse_events"),
    path("adverse-events/inbox/", views.adverse_inbox, name="adverse_inbox"),
    path("adverse-events/<int:pk>/", views.adverse_event_detail, name="adverse_event_detail"),
    path("vaccinators/", views.vaccinators, name="vaccinators"),
    path("doses/", views.doses, name="doses"),
    path("dose/<int:pk>/record/", views.dose_record, name="dose_record"),
    path("supply/", supply.supply, name="supply"),
    path("supply/delivery/", supply.delivery, name="supply_delivery"),
    path("supply/transfer/", supply.transfer, name="supply_transfer"),
    path("supply/vials/<int:pk>/discard/", supply.discard, name="supply_discard"),
    path("supply/vials/discard-all/", supply.discard_all, name="supply_discard_all"),
    path("<int:site_pk>/", views.watch, name="watch"),
    path("<int:site_pk>/vaccinators/", views.vaccinators, name="watch_vaccinators"),
    path("<int:site_pk>/doses/", views.doses, name="watch_doses"),
    path("<int:site_pk>/live/", views.live, name="watch_live"),
    path("<int:site_pk>/observation/", views.observation, name="watch_observation"),
    path("<int:site_pk>/waiting/", views.waiting, name="watch_waiting"),
]
